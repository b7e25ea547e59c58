"""Conversations: search, Create New Message, and the windowed list of threads."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import flet as ft

from app.components.a11y import quiet, quiet_tooltip
from app.components.avatar import avatar, group_avatar
from app.components.connection import ConnectionIndicator
from app.state.conversations import ConversationRow, ConversationsVM
from app.views.ui import handle, refresh, search_field

# A row of the list, a two-line Material list tile: 64 pixels in Chromium.
ROW_PX = 64


def rows_on_screen(height: float | None) -> int | None:
    """The list's rows a window this tall shows, and one more (its header counted as rows
    too: a few more than fit); None while its height is not known."""
    return math.ceil(height / ROW_PX) + 1 if height else None


class ConversationTile(ft.Semantics):
    """One conversation. ``show`` changes the texts in place, so an incoming text sends a
    few changed values (~200 bytes), not a new tile (~1 KB, twice per text)."""

    def __init__(self, row: ConversationRow, on_open: Callable[[str], Any]) -> None:
        self.row = row
        self._on_open = on_open
        self._lead: tuple[Any, ...] | None = None
        self._shape: tuple[Any, ...] = ()  # what the whole tile was last drawn for
        self.title_text = ft.Text(
            "", size=15, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS, expand=True
        )
        self.blocked_icon = ft.Icon(
            ft.Icons.DO_NOT_DISTURB_ON,
            size=16,
            color=ft.Colors.ERROR,
            tooltip=quiet_tooltip("Blocked: a participant turned on Do Not Disturb"),
        )
        # Read as shown, after the title's label: the row's one button says title, preview
        # and time in that order.
        self.preview = ft.Text(" ", max_lines=1, overflow=ft.TextOverflow.ELLIPSIS)
        self.time_text = ft.Text("", size=12)
        # Shown, not read: the title's label says "2 unread" (an empty semantics label
        # hides a text without a wrapper around it).
        self.unread_text = ft.Text(
            "", size=11, color=ft.Colors.ON_PRIMARY, weight=ft.FontWeight.W_700, semantics_label=""
        )
        self.unread_box = ft.Container(
            self.unread_text,
            bgcolor=ft.Colors.PRIMARY,
            border_radius=10,
            padding=ft.Padding.symmetric(horizontal=7, vertical=1),
        )
        # The icon and the unread count are in the rows only when shown: a hidden control
        # would still be sent with every tile of the list.
        self.title_row = ft.Row([self.title_text], spacing=4)
        self.trailing = ft.Column(
            [self.time_text],
            spacing=4,
            tight=True,
            horizontal_alignment=ft.CrossAxisAlignment.END,
            alignment=ft.MainAxisAlignment.CENTER,
        )
        # The row is one button whose name is the whole row said in order: the title's
        # label (name, unread, blocked), the preview, the time; avatar and badge are not read.
        self.leading = quiet(ft.Container())
        self.tile = ft.ListTile(
            leading=self.leading,
            title=self.title_row,
            subtitle=self.preview,
            trailing=self.trailing,
            on_click=self._click,
            content_padding=ft.Padding.symmetric(horizontal=12),
        )
        super().__init__(identifier=f"conversation-{row.id}", content=self.tile)
        self.show(row, selected=False)

    def is_isolated(self) -> bool:
        # Updating the list does not diff the 30 tiles inside (~5 ms per incoming text,
        # three times: the message, the conversation's update, the mark-read); a tile
        # that changes updates itself.
        return True

    async def _click(self, _: ft.Event) -> None:
        await self._on_open(self.row.id)

    def show(self, row: ConversationRow, selected: bool) -> list[ft.Control]:
        """Show ``row``; returns what to send: the whole tile when its shape changed (the
        avatar, the icon, unread or not, selected), else only the texts whose words did.
        A new text in a conversation changes its preview and time alone: sending those two
        walks two controls, not the tile's eleven (issue 19)."""
        was, self.row = self.row, row
        shape = (row.is_group, row.blocked, row.initials, row.color, bool(row.unread), selected)
        if shape != self._shape:
            self._shape = shape
            self._show_all(row, selected)
            return [self]
        texts: list[ft.Control] = []
        if (row.title, row.title_label) != (was.title, was.title_label):
            self.title_text.value = row.title
            self.title_text.semantics_label = row.title_label
            texts.append(self.title_text)
        if (row.preview, row.highlights) != (was.preview, was.highlights):
            self._show_preview(row)
            texts.append(self.preview)
        if row.time != was.time:
            self.time_text.value = row.time
            texts.append(self.time_text)
        if row.unread != was.unread:
            self.unread_text.value = str(row.unread)
            texts.append(self.unread_text)
        return texts

    def _show_all(self, row: ConversationRow, selected: bool) -> None:
        self.title_text.semantics_label = row.title_label
        lead = (row.is_group, row.blocked, row.initials, row.color)
        if lead != self._lead:  # rare: a new avatar only when it looks different
            self._lead = lead
            self.leading.content = (
                group_avatar(row.color, blocked=row.blocked)
                if row.is_group
                else avatar(row.initials, row.color)
            )
        unread = bool(row.unread)
        self.title_text.value = row.title
        self.title_text.weight = ft.FontWeight.W_700 if unread else ft.FontWeight.W_500
        self.title_row.controls = [self.title_text, self.blocked_icon][: 2 if row.blocked else 1]
        self._show_preview(row)
        self.preview.weight = ft.FontWeight.W_600 if unread else None
        self.preview.color = ft.Colors.ON_SURFACE if unread else ft.Colors.ON_SURFACE_VARIANT
        self.time_text.value = row.time
        self.time_text.color = ft.Colors.PRIMARY if unread else ft.Colors.ON_SURFACE_VARIANT
        self.unread_text.value = str(row.unread)
        self.trailing.controls = [self.time_text, self.unread_box][: 2 if unread else 1]
        self.tile.selected = selected

    def _show_preview(self, row: ConversationRow) -> None:
        # A search's matching words stand out in the preview (bold, in the accent colour).
        self.preview.spans = _marked(row.preview, row.highlights) if row.highlights else None
        self.preview.value = "" if row.highlights else (row.preview or " ")


def _marked(text: str, highlights: tuple[tuple[int, int], ...]) -> list[ft.TextSpan]:
    strong = ft.TextStyle(weight=ft.FontWeight.W_700, color=ft.Colors.PRIMARY)
    spans: list[ft.TextSpan] = []
    at = 0
    for start, end in highlights:
        if start > at:
            spans.append(ft.TextSpan(text[at:start]))
        spans.append(ft.TextSpan(text[start:end], style=strong))
        at = end
    if at < len(text):
        spans.append(ft.TextSpan(text[at:]))
    return spans


class ConversationsView:
    def __init__(
        self,
        vm: ConversationsVM,
        *,
        on_open: Callable[[str], Any],
        on_new: Callable[[], Any],
        indicator: ConnectionIndicator,
    ) -> None:
        self.vm, self.on_open, self.on_new = vm, on_open, on_new
        self.tiles: dict[str, ConversationTile] = {}
        self.search = search_field("Search conversations", self._on_search)
        self.new_button = ft.FilledButton(
            "Create New Message",
            icon=ft.Icons.EDIT_SQUARE,
            on_click=self._new,
            tooltip=quiet_tooltip("Create New Message (Ctrl+N)"),
        )
        self.more = ft.TextButton("Show more conversations", on_click=self._on_more, visible=False)
        self.empty = ft.Container(
            ft.Text(
                "No conversations yet. Create New Message to start one.",
                color=ft.Colors.ON_SURFACE_VARIANT,
                text_align=ft.TextAlign.CENTER,
            ),
            padding=24,
            visible=False,
            alignment=ft.Alignment.CENTER,
        )
        self.list = ft.ListView(
            expand=True, spacing=0, on_scroll=self._on_scroll, scroll_interval=200
        )
        self.title = ft.Text("Conversations", size=22, weight=ft.FontWeight.W_700, expand=True)
        self.root = ft.Container(
            ft.Column(
                [
                    ft.Container(
                        ft.Row(
                            [self.title, indicator], vertical_alignment=ft.CrossAxisAlignment.CENTER
                        ),
                        padding=ft.Padding.only(left=16, right=8, top=12),
                    ),
                    ft.Container(
                        handle(self.search, "search-conversations"),
                        padding=ft.Padding.symmetric(horizontal=12),
                    ),
                    ft.Container(
                        handle(self.new_button, "create-new-message"),
                        padding=ft.Padding.symmetric(horizontal=12),
                    ),
                    self.empty,
                    self.list,
                ],
                spacing=10,
                expand=True,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            expand=True,
        )
        # Whether the list is on the screen: on a phone a thread, New or Settings takes its
        # place, and its changes then wait in its controls for the next time it is shown
        # (the page sends it whole then), rather than going to a client that dropped it.
        self.shown = True
        vm.listen(self._on_vm)

    # --- rendering: reuse tiles so the diff sends only changed rows -----------------------

    def render(self) -> None:
        controls: list[ft.Control] = []
        keep: dict[str, ConversationTile] = {}
        changed: list[ft.Control] = []
        for row in self.vm.rows:
            tile = self.tiles.get(row.id)
            selected = row.id == self.vm.selected_id
            if tile is None:
                tile = ConversationTile(row, self.on_open)
                tile.show(row, selected)
            else:
                changed += tile.show(row, selected)
            keep[row.id] = tile
            controls.append(tile)
        self.tiles = keep
        controls.append(self.more)
        if self.shown:
            refresh(*changed)  # tiles are isolated: each changed one sends itself
        moved = len(controls) != len(self.list.controls) or any(
            a is not b for a, b in zip(controls, self.list.controls, strict=False)
        )
        if moved or self.more.visible != self.vm.has_more:
            self.more.visible = self.vm.has_more
            self.list.controls = controls
            if self.shown:
                refresh(self.list)
        visible = not self.vm.rows
        if self.vm.query and not self.vm.rows:
            text = f"No conversations match “{self.vm.query}”."
        else:
            text = "No conversations yet. Create New Message to start one."
        if (visible, text) != (self.empty.visible, self.empty.content.value):
            self.empty.visible, self.empty.content.value = visible, text
            if self.shown:
                refresh(self.empty)

    def show_row(self, at: int) -> None:
        """One row changed in place (the rows around it did not move): its tile alone."""
        row = self.vm.rows[at]
        tile = self.tiles.get(row.id)
        if tile is None or self.list.controls[at] is not tile:
            self.render()
            return
        changed = tile.show(row, row.id == self.vm.selected_id)
        if self.shown:
            refresh(*changed)

    def _on_vm(self, what: str, payload: Any) -> None:
        if what in ("rows", "selected"):
            self.render()
        elif what == "row":
            self.show_row(payload)

    async def _new(self, _: ft.Event) -> None:
        await self.on_new()

    def _on_search(self, e: ft.Event) -> None:
        self.vm.set_query(self.search.value or "")

    def _on_more(self, _: ft.Event) -> None:
        self.vm.show_more()

    def _on_scroll(self, e: ft.OnScrollEvent) -> None:
        if e.max_scroll_extent and e.pixels >= e.max_scroll_extent - 200:
            self.vm.show_more()
