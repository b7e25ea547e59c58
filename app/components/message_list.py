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
bottom, oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flet as ft

from app.state.thread import MessageItem, Row
from app.views.ui import refresh

CHUNK = 25


class _Chunk(ft.Column):
    """Up to CHUNK consecutive rows, oldest first; ``rows`` mirrors ``controls``."""

    def is_isolated(self) -> bool:
        return True


def _chunk(controls: list[ft.Control], rows: list[Row]) -> _Chunk:
    chunk = _Chunk(controls, spacing=0)
    chunk.rows = rows
    return chunk


class MessageList:
    def __init__(
        self,
        make: Callable[[Row], ft.Control],
        older: ft.Control,
        *,
        on_scroll: Callable[[ft.OnScrollEvent], None],
    ) -> None:
        self.make, self.older = make, older
        self.chunks: list[_Chunk] = []  # newest first, as in the list
        self.view = ft.ListView(
            reverse=True,
            expand=True,
            spacing=0,
            on_scroll=on_scroll,
            scroll_interval=200,
            padding=ft.Padding.only(top=8, bottom=8),
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

    def _relist(self, older: bool) -> None:
        self.view.controls = [*self.chunks, self.older] if older else list(self.chunks)

    # --- changes -------------------------------------------------------------------------

    def show(self, rows: Sequence[Row], *, older: bool) -> None:
        """Draw the window from scratch (caller updates)."""
        self.chunks = self._build(rows)
        self._relist(older)

    def append(self, rows: Sequence[Row]) -> None:
        """New rows at the bottom: the newest chunk updates, or one new chunk is added."""
        touched: list[_Chunk] = []
        added: list[_Chunk] = []
        for row in rows:
            head = self.chunks[0] if self.chunks else None
            if head is None or len(head.rows) >= CHUNK:
                head = _chunk([], [])
                self.chunks.insert(0, head)
                self.view.controls.insert(0, head)
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

    def _changed(self, chunk: _Chunk) -> None:
        if chunk.rows:
            refresh(chunk)
            return
        self.chunks.remove(chunk)
        self.view.controls.remove(chunk)
        refresh(self.view)
