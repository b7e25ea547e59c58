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
