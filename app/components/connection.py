"""A small dot and word for the live connection: Live, Reconnecting…, Offline."""

from __future__ import annotations

import flet as ft

_LOOK = {
    "connected": (ft.Colors.GREEN, "Live"),
    "reconnecting": (ft.Colors.AMBER, "Reconnecting…"),
    "offline": (ft.Colors.ERROR, "Offline"),
}


class ConnectionIndicator(ft.Container):
    def __init__(self) -> None:
        self.dot = ft.Container(width=8, height=8, border_radius=4, bgcolor=ft.Colors.GREEN)
        self.word = ft.Text("Live", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        super().__init__(
            content=ft.Semantics(
                identifier="connection",
                live_region=True,
                content=ft.Row([self.dot, self.word], spacing=6, tight=True),
            ),
            padding=ft.Padding.symmetric(horizontal=8),
            tooltip="Connection to the messaging server",
        )

    def set_state(self, state: str) -> None:
        color, word = _LOOK.get(str(state), _LOOK["reconnecting"])
        self.dot.bgcolor, self.word.value = color, word
