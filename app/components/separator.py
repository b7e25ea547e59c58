"""The "Today" / "Yesterday" / "Mon, Nov 24" pill between days of a thread."""

from __future__ import annotations

import flet as ft


def date_separator(label: str) -> ft.Control:
    # A heading a reader can jump to, said once (its label, not the text under it too).
    return ft.Semantics(
        header=True,
        label=label,
        exclude_semantics=True,
        content=ft.Container(
            content=ft.Container(
                content=ft.Text(
                    label, size=12, weight=ft.FontWeight.W_500, color=ft.Colors.ON_SURFACE_VARIANT
                ),
                padding=ft.Padding.symmetric(horizontal=12, vertical=4),
                border_radius=12,
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
            ),
            alignment=ft.Alignment.CENTER,
            # With the list's 6 px between rows: 11 px from a bubble (message_list.GAP).
            padding=ft.Padding.symmetric(vertical=5),
        ),
    )
