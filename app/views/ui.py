"""Small helpers every view uses: safe updates, snack bars, headers."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.components.a11y import heading, icon_button


def mounted(control: ft.BaseControl) -> bool:
    try:
        return control.page is not None
    except RuntimeError:
        return False


def refresh(*controls: ft.BaseControl) -> None:
    """Update controls that are on the page; others show their state when mounted."""
    for c in controls:
        if mounted(c):
            c.update()


def say(page: ft.Page, message: str, *, error: bool = True) -> None:
    """Every failure reaches the user as a sentence: a snack bar."""
    page.show_dialog(
        ft.SnackBar(
            ft.Semantics(
                identifier="snack",
                live_region=True,
                content=ft.Text(message, color=ft.Colors.ON_ERROR_CONTAINER if error else None),
            ),
            bgcolor=ft.Colors.ERROR_CONTAINER if error else None,
            behavior=ft.SnackBarBehavior.FLOATING,
            show_close_icon=True,
            duration=6000,
        )
    )


def header(
    title: str,
    *,
    back: ft.Control | None = None,
    actions: list[ft.Control] | None = None,
    subtitle: ft.Control | None = None,
) -> ft.Container:
    title_col: list[ft.Control] = [
        heading(
            ft.Text(
                title,
                size=20,
                weight=ft.FontWeight.W_600,
                max_lines=1,
                overflow=ft.TextOverflow.ELLIPSIS,
            )
        )
    ]
    if subtitle is not None:
        title_col.append(subtitle)
    row: list[ft.Control] = []
    if back is not None:
        row.append(back)
    row.append(ft.Column(title_col, spacing=0, expand=True, tight=True))
    row += actions or []
    return ft.Container(
        ft.Row(row, vertical_alignment=ft.CrossAxisAlignment.CENTER, spacing=4),
        padding=ft.Padding.only(left=8 if back else 16, right=8, top=10, bottom=6),
    )


def back_button(on_click, label: str = "Back") -> ft.Control:  # type: ignore[no-untyped-def]
    return ft.Semantics(
        identifier="back", content=icon_button(ft.Icons.ARROW_BACK, label, on_click)
    )


def handle(control: ft.Control, identifier: str) -> ft.Semantics:
    """A stable test/screen-reader handle (flt-semantics-identifier in the browser)."""
    return ft.Semantics(identifier=identifier, content=control)


def search_field(label: str, on_change: Any) -> ft.TextField:
    """The rounded, filled search box every list screen uses, so they look alike.

    Its words are a label, not a hint: a hint names the field only while it is empty,
    so a screen reader met a nameless box once something was typed."""
    return ft.TextField(
        label=label,
        prefix_icon=ft.Icons.SEARCH,
        on_change=on_change,
        dense=True,
        filled=True,
        border=ft.OutlineInputBorder(border_radius=24),
        content_padding=ft.Padding.symmetric(horizontal=12, vertical=8),
    )
