"""Material 3 look: one seed colour, light and dark, shared spacing."""

from __future__ import annotations

import flet as ft

SEED = "#1A73E8"  # a calm messaging blue; bubbles take the primary colour
WIDE = 900  # side-by-side list and thread at this width and wider
LIST_WIDTH = 360


def themes() -> tuple[ft.Theme, ft.Theme]:
    light = ft.Theme(color_scheme_seed=SEED, use_material3=True)
    dark = ft.Theme(color_scheme_seed=SEED, use_material3=True)
    return light, dark


def apply(page: ft.Page, mode: ft.ThemeMode = ft.ThemeMode.SYSTEM) -> None:
    page.theme, page.dark_theme = themes()
    page.theme_mode = mode
