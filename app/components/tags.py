"""Small coloured tags: Updated, Deleted, DND, Blocked."""

from __future__ import annotations

import flet as ft

_TAG_COLORS = {
    "Updated": (ft.Colors.TERTIARY_CONTAINER, ft.Colors.ON_TERTIARY_CONTAINER),
    "Deleted": (ft.Colors.SURFACE_CONTAINER_HIGHEST, ft.Colors.ON_SURFACE_VARIANT),
    "DND": (ft.Colors.ERROR_CONTAINER, ft.Colors.ON_ERROR_CONTAINER),
    "Blocked": (ft.Colors.ERROR_CONTAINER, ft.Colors.ON_ERROR_CONTAINER),
}

_TAG_HELP = {
    "Updated": "The contact's name or number changed after the group was created",
    "Deleted": "The contact was deleted; messages still go to the number shown",
    "DND": "Do Not Disturb is on",
    "Blocked": "Blocked by Do Not Disturb",
}


def tag(text: str) -> ft.Control:
    bg, fg = _TAG_COLORS.get(
        text, (ft.Colors.SECONDARY_CONTAINER, ft.Colors.ON_SECONDARY_CONTAINER)
    )
    return ft.Container(
        content=ft.Text(text, size=11, weight=ft.FontWeight.W_600, color=fg),
        bgcolor=bg,
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=10,
        tooltip=_TAG_HELP.get(text),
    )
