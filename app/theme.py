"""Material 3 look: one seed colour, light and dark, shared spacing, and an emoji font.

Emoji: Flutter draws text itself and finds glyphs the app's font lacks by
downloading Noto fonts from Google Fonts. Offline (the web app with
``no_cdn``, or a phone without data) that fails and emoji show as empty boxes.
So the app ships Noto Color Emoji in assets/fonts/ (SIL OFL, see OFL.txt
beside it) and, in the web app, names it as a fallback of every text style of
the theme; controls without their own font inherit it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import flet as ft

SEED = "#1A73E8"  # a calm messaging blue; bubbles take the primary colour
WIDE = 900  # side-by-side list and thread at this width and wider
LIST_WIDTH = 360

EMOJI_FONT = "Noto Color Emoji"
WEB_DEFAULT_FONT = "Roboto"  # what Flutter's web engine draws text with by default
EMOJI_ASSET = "fonts/NotoColorEmoji.ttf"  # relative to assets/
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def fonts() -> dict[str, str]:
    """page.fonts: the shipped emoji font (empty if a build left it out)."""
    return {EMOJI_FONT: EMOJI_ASSET} if (ASSETS / EMOJI_ASSET).is_file() else {}


def _text_theme(fallback: list[str]) -> ft.TextTheme | None:
    if not fallback:
        return None
    style = ft.TextStyle(font_family_fallback=fallback)
    names = [f.name for f in dataclasses.fields(ft.TextTheme) if not f.name.startswith("_")]
    return ft.TextTheme(**{name: style for name in names})


def themes(fallback: list[str] | None = None) -> tuple[ft.Theme, ft.Theme]:
    text = _text_theme(fallback or [])
    light = ft.Theme(
        color_scheme_seed=SEED, use_material3=True, text_theme=text, primary_text_theme=text
    )
    dark = ft.Theme(
        color_scheme_seed=SEED, use_material3=True, text_theme=text, primary_text_theme=text
    )
    return light, dark


def web_fallback(page: ft.Page) -> list[str]:
    """Font fallbacks for the web renderer: Roboto first, then the shipped emoji font.

    Naming Roboto matters: with only the emoji font as fallback, CanvasKit takes
    spaces and digits from it (it has glyphs for keycaps), which spaces text out.
    Native clients keep their platform's own fonts, which include emoji.
    """
    if not page.web or not fonts():
        return []
    return [WEB_DEFAULT_FONT, EMOJI_FONT]


def apply(page: ft.Page, mode: ft.ThemeMode = ft.ThemeMode.SYSTEM) -> None:
    fallback = web_fallback(page)
    if fallback:
        page.fonts = fonts()
    page.theme, page.dark_theme = themes(fallback)
    page.theme_mode = mode
