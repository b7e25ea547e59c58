"""Round avatars: initials on a stable colour, or a group icon."""

from __future__ import annotations

import flet as ft


def avatar(initials: str, color: str, *, size: int = 40, label: str | None = None) -> ft.Control:
    return ft.CircleAvatar(
        content=ft.Text(
            initials, color=ft.Colors.WHITE, weight=ft.FontWeight.W_600, size=size * 0.38
        ),
        bgcolor=color,
        radius=size / 2,
        tooltip=label,
    )


def group_avatar(color: str, *, size: int = 40, blocked: bool = False) -> ft.Control:
    icon = ft.Icons.BLOCK if blocked else ft.Icons.GROUPS
    # On the theme's error colour its own "on" colour (white was 1.7:1 on the dark one).
    return ft.CircleAvatar(
        content=ft.Icon(
            icon, color=ft.Colors.ON_ERROR if blocked else ft.Colors.WHITE, size=size * 0.55
        ),
        bgcolor=ft.Colors.ERROR if blocked else color,
        radius=size / 2,
    )


def avatar_stack(
    people: list[tuple[str, str, str]], *, size: int = 28, most: int = 4
) -> ft.Control:
    """Overlapping avatars of a group's participants (initials, colour, name)."""
    shown = people[:most]
    controls: list[ft.Control] = []
    for i, (ini, color, name) in enumerate(shown):
        controls.append(
            ft.Container(
                content=avatar(ini, color, size=size, label=name),
                left=i * (size * 0.8),
                border=ft.Border.all(2, ft.Colors.SURFACE),
                border_radius=size,
            )
        )
    width = size + (len(shown) - 1) * size * 0.8 if shown else 0
    return ft.Stack(controls, width=width + 4, height=size + 4)
