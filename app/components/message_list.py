"""The thread's rows in a reversed ListView, held in isolated chunks so a message is O(1).

Flet's ``control.update()`` diffs the control's whole subtree: with every bubble a
child of the ListView, one new message cost time in proportion to the rows shown
(~50 ms at 400 rows, ~80 ms at 2,000), however few bytes it sent. Here the
ListView holds ``_Chunk`` columns of at most ``CHUNK`` rows, each an isolated
control: a diff from above (the list, the frame) does not walk into them, and a
chunk's own update diffs only its rows. A new message goes into the newest chunk
and updates that chunk alone; every ``CHUNK``-th one starts a chunk (one list
update over a few dozen isolated children). bench/bench_flet_lists.py measured
0.8 ms per message at 50, 400 and 2,000 rows this way.

Index 0 of the ListView is the bottom (newest); inside a chunk rows go top to
bottom, oldest first. The view-model bounds the window (app/state/thread.py):
``trim`` releases the oldest rows, and their controls with them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flet as ft

from app.state.thread import MessageItem, Row
from app.views.ui import refresh

CHUNK = 25
# Between rows, and around the list: set here once rather than as a margin on every bubble,
# which each new message would send (issue 19). Bubbles sit 6 px apart and 11 px from the
# list's ends; a day separator and the Load earlier / Show newer buttons pad themselves by
# 5 px more, so each stays 11 px from a bubble.
GAP = 6
EDGE = ft.Padding.symmetric(horizontal=12, vertical=11)


class _Chunk(ft.Column):
    """Up to CHUNK consecutive rows, oldest first; ``rows`` mirrors ``controls``."""

    def is_isolated(self) -> bool:
        return True


def _chunk(controls: list[ft.Control], rows: list[Row]) -> _Chunk:
    chunk = _Chunk(controls, spacing=GAP)
    chunk.rows = rows
    return chunk


class MessageList:
    def __init__(
        self,
        make: Callable[[Row], ft.Control],
        older: ft.Control,
        *,
        on_scroll: Callable[[ft.OnScrollEvent], None],
        newer: ft.Control | None = None,
        on_release: Callable[[Row], None] = lambda _: None,
    ) -> None:
        self.make, self.older = make, older
        # Shown at the bottom while newer messages are in the store, not in the window.
        self.newer = newer if newer is not None else ft.Container(visible=False)
        self.on_release = on_release  # a row's control left the list (forget it)
        self.chunks: list[_Chunk] = []  # newest first, as in the list
        self.view = ft.ListView(
            reverse=True,
            expand=True,
            spacing=GAP,
            on_scroll=on_scroll,
            scroll_interval=200,
            padding=EDGE,
        )

    # --- what is shown ------------------------------------------------------------------

    def rows(self) -> list[Row]:
        """The rows shown, oldest first."""
        return [row for chunk in reversed(self.chunks) for row in chunk.rows]

    def shows_older(self) -> bool:
        return self.older in self.view.controls

    def _build(self, rows: Sequence[Row]) -> list[_Chunk]:
        """Chunks for consecutive rows (oldest first), newest chunk first."""
        chunks = []
        end = len(rows)
        while end > 0:
            start = max(0, end - CHUNK)
            part = list(rows[start:end])
            chunks.append(_chunk([self.make(r) for r in part], part))
            end = start
        return chunks

    def shows_newer(self) -> bool:
        return self.newer in self.view.controls

    def _relist(self, older: bool, newer: bool | None = None) -> None:
        newer = self.shows_newer() if newer is None else newer
        self.view.controls = [
            *([self.newer] if newer else []),
            *self.chunks,
            *([self.older] if older else []),
        ]

    # --- changes -------------------------------------------------------------------------

    def show(self, rows: Sequence[Row], *, older: bool) -> None:
        """Draw the window from scratch (caller updates)."""
        self.chunks = self._build(rows)
        self._relist(older, newer=False)

    def set_newer(self, newer: bool) -> None:
        if newer != self.shows_newer():
            self._relist(self.shows_older(), newer)
            refresh(self.view)

    def trim(self, count: int, top: Row | None) -> None:
        """Release the ``count`` oldest rows; ``top`` (a day separator) goes above the rest.

        Whole chunks leave with one list update; a chunk cut in part updates itself."""
        relist = False
        touched: _Chunk | None = None
        while count and self.chunks:
            oldest = self.chunks[-1]
            cut = min(count, len(oldest.rows))
            for row in oldest.rows[:cut]:
                self.on_release(row)
            count -= cut
            if cut == len(oldest.rows):
                self.chunks.pop()
                relist = True
            else:
                del oldest.rows[:cut], oldest.controls[:cut]
                touched = oldest
        if top is not None:
            if not self.chunks:
                self.chunks.append(_chunk([], []))
                relist = True
            else:
                touched = self.chunks[-1]
            self.chunks[-1].rows.insert(0, top)
            self.chunks[-1].controls.insert(0, self.make(top))
        if touched is not None:
            refresh(touched)
        if relist:
            self._relist(True)
            refresh(self.view)

    def append(self, rows: Sequence[Row]) -> None:
        """New rows at the bottom: the newest chunk updates, or one new chunk is added."""
        touched: list[_Chunk] = []
        added: list[_Chunk] = []
        for row in rows:
            head = self.chunks[0] if self.chunks else None
            if head is None or len(head.rows) >= CHUNK:
                head = _chunk([], [])
                self.chunks.insert(0, head)
                self.view.controls.insert(1 if self.shows_newer() else 0, head)
                added.append(head)
            elif head not in touched and head not in added:
                touched.append(head)
            head.controls.append(self.make(row))
            head.rows.append(row)
        refresh(*touched)
        if added:
            refresh(self.view)  # new chunks go whole; the others are not walked

    def prepend(self, rows: Sequence[Row], *, older: bool) -> None:
        """An older page above the window: new chunks at the end of the list."""
        self.chunks += self._build(rows)
        self._relist(older)
        refresh(self.view)

    def set_older(self, older: bool) -> None:
        if older != self.shows_older():
            self._relist(older)
            refresh(self.view)

    def drop_top_separator(self) -> None:
        """The oldest row is a day separator the next older page repeats: remove it."""
        if not self.chunks:
            return
        top = self.chunks[-1]
        if top.rows and not isinstance(top.rows[0], MessageItem):
            top.rows.pop(0)
            top.controls.pop(0)
            self._changed(top)

    def remove(self, key: str) -> None:
        for chunk in self.chunks:
            for i, row in enumerate(chunk.rows):
                if isinstance(row, MessageItem) and row.key == key:
                    chunk.rows.pop(i)
                    chunk.controls.pop(i)
                    self._changed(chunk)
                    return

    def updated(self, item: MessageItem) -> None:
        """Keep ``rows`` true when a bubble shows a newer version of its message."""
        for chunk in self.chunks:
            for i, row in enumerate(chunk.rows):
                if isinstance(row, MessageItem) and row.key == item.key:
                    chunk.rows[i] = item
                    return

    def replace(self, item: MessageItem, control: ft.Control) -> None:
        """Show ``item`` with a new control (its chunk is updated, the others are not)."""
        for chunk in self.chunks:
            for i, row in enumerate(chunk.rows):
                if isinstance(row, MessageItem) and row.key == item.key:
                    chunk.rows[i] = item
                    chunk.controls[i] = control
                    refresh(chunk)
                    return

    def _changed(self, chunk: _Chunk) -> None:
        if chunk.rows:
            refresh(chunk)
            return
        self.chunks.remove(chunk)
        self.view.controls.remove(chunk)
        refresh(self.view)
