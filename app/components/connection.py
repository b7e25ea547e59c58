"""A small dot and word for the live connection: Live, Reconnecting…, Offline."""

from __future__ import annotations

import flet as ft

from app.theme import CONNECTION_COLORS

_LOOK = {
    state: (CONNECTION_COLORS[state], word)
    for state, word in (
        ("connected", "Live"),
        ("reconnecting", "Reconnecting…"),
        ("offline", "Offline"),
    )
}


class ConnectionIndicator(ft.Container):
    def __init__(self) -> None:
        self.dot = ft.Container(
            width=8, height=8, border_radius=4, bgcolor=CONNECTION_COLORS["connected"]
        )
        self.word = ft.Text("Live", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        super().__init__(
            content=ft.Semantics(
                identifier="connection",
                live_region=True,
                content=ft.Row([self.dot, self.word], spacing=6, tight=True),
            ),
            padding=ft.Padding.symmetric(horizontal=8),
            tooltip=ft.Tooltip(
                message="Connection to the messaging server", exclude_from_semantics=True
            ),
        )

    def set_state(self, state: str) -> None:
        color, word = _LOOK.get(str(state), _LOOK["reconnecting"])
        self.dot.bgcolor, self.word.value = color, word


_BAR_WORDS = {
    "offline": "Offline · what you send goes out once connected",
    "reconnecting": "Reconnecting…",
}


class ConnectionBar(ft.Container):
    """A slim line over a phone's thread (where the list's indicator is off screen);
    shown only while not connected."""

    def __init__(self) -> None:
        self.word = ft.Text(
            "",
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
            max_lines=1,
            overflow=ft.TextOverflow.ELLIPSIS,
            expand=True,
        )
        super().__init__(
            content=ft.Semantics(
                identifier="connection-bar",
                live_region=True,
                content=ft.Row(
                    [
                        ft.Icon(ft.Icons.CLOUD_OFF, size=14, color=ft.Colors.ON_SURFACE_VARIANT),
                        self.word,
                    ],
                    spacing=8,
                ),
            ),
            padding=ft.Padding.symmetric(horizontal=12, vertical=4),
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            visible=False,
        )

    def set_state(self, state: str) -> None:
        words = _BAR_WORDS.get(str(state))
        self.visible = words is not None
        self.word.value = words or ""
