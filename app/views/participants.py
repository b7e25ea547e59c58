"""The Participants panel behind Chat Participants: search, routing numbers, tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.components.a11y import icon_button
from app.components.participant_row import participant_row
from app.state.participants import ParticipantsVM
from app.views.ui import back_button, handle, header, refresh, search_field


class ParticipantsView:
    def __init__(
        self,
        vm: ParticipantsVM,
        *,
        on_close: Callable[[], None],
        on_new_group: Callable[[], Any],
        narrow: bool,
        muted: bool | None = None,
        on_mute: Callable[[bool], Any] | None = None,
    ) -> None:
        self.vm = vm
        # Mute (None: the backend has no push, so no switch): no push, no sound.
        self.mute = ft.Switch(
            label="Mute notifications",
            value=bool(muted),
            on_change=lambda e: on_mute(bool(e.control.value)) if on_mute else None,
            tooltip="No push and no sound for this conversation; its unread still counts",
        )
        mute_row = ft.Container(
            handle(self.mute, "mute-thread"),
            padding=ft.Padding.symmetric(horizontal=16),
            visible=muted is not None,
        )
        self.search = search_field("Search participants", self._on_search)
        self.list = ft.Column([], spacing=0, scroll=ft.ScrollMode.AUTO, expand=True)
        self.none = ft.Text("", color=ft.Colors.ON_SURFACE_VARIANT, visible=False)
        close = back_button(lambda _: on_close(), "Back to the conversation") if narrow else None
        actions = (
            []
            if narrow
            else [
                handle(
                    icon_button(
                        ft.Icons.CLOSE,
                        "Close participants",
                        lambda _: on_close(),
                        tooltip="Close participants (Esc)",
                    ),
                    "close-participants",
                )
            ]
        )
        self.root = handle(
            ft.Container(
                ft.Column(
                    [
                        header("Chat Participants", back=close, actions=actions),
                        mute_row,
                        ft.Container(
                            handle(self.search, "search-participants"),
                            padding=ft.Padding.symmetric(horizontal=12),
                        ),
                        ft.Container(
                            ft.Text(vm.from_line, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
                            padding=ft.Padding.symmetric(horizontal=16),
                            visible=bool(vm.from_line),
                        ),
                        ft.Container(self.none, padding=ft.Padding.symmetric(horizontal=16)),
                        self.list,
                        ft.Divider(height=1),
                        ft.Container(
                            ft.Column(
                                [
                                    ft.Row(
                                        [
                                            ft.Icon(
                                                ft.Icons.INFO_OUTLINE,
                                                size=18,
                                                color=ft.Colors.ON_SURFACE_VARIANT,
                                            ),
                                            ft.Text(
                                                vm.note,
                                                size=13,
                                                expand=True,
                                                color=ft.Colors.ON_SURFACE_VARIANT,
                                            ),
                                        ]
                                    ),
                                    handle(
                                        ft.OutlinedButton(
                                            "New group with these participants",
                                            icon=ft.Icons.GROUP_ADD,
                                            on_click=lambda _: on_new_group(),
                                        ),
                                        "new-group-with-these",
                                    ),
                                ],
                                spacing=8,
                                tight=True,
                            ),
                            padding=ft.Padding.only(left=16, right=16, top=8, bottom=16),
                        ),
                    ],
                    spacing=8,
                    expand=True,
                    horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
                ),
                expand=True,
            ),
            "participants-panel",
        )
        self.render()

    def render(self) -> None:
        rows = self.vm.rows()
        self.list.controls = [participant_row(r) for r in rows]
        self.none.visible = not rows
        self.none.value = f"No participant matches “{self.vm.query}”." if not rows else ""
        refresh(self.list, self.none)

    def _on_search(self, _: ft.Event) -> None:
        self.vm.set_query(self.search.value or "")
        self.render()

    def show_muted(self, muted: bool) -> None:
        """The server's answer (a failed change puts the switch back)."""
        if self.mute.value != muted:
            self.mute.value = muted
            refresh(self.mute)
