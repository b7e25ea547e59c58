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
from typing import Any

import flet as ft

from app import theme_values

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


def _text_theme(kinds: Any, fallback: list[str], color: str) -> Any:
    """Every text style in the scheme's text colour (the one its contrast is checked
    against; the renderer otherwise drew a dark theme's titles in black), with the
    font fallbacks."""
    style = ft.TextStyle(color=color, font_family_fallback=fallback or None)
    names = [f.name for f in dataclasses.fields(kinds.TextTheme) if not f.name.startswith("_")]
    return kinds.TextTheme(**{name: style for name in names})


def themes(fallback: list[str] | None = None, kinds: Any = theme_values) -> tuple[Any, Any]:
    """The light and dark themes, made of ``kinds``: app.theme_values (Flet's own theme
    classes, ``ft``, only where a test compares the two)."""
    return _theme(kinds, LIGHT, fallback or []), _theme(kinds, DARK, fallback or [])


def _theme(kinds: Any, palette: dict[str, str], fallback: list[str]) -> Any:
    return kinds.Theme(
        color_scheme_seed=SEED,
        color_scheme=kinds.ColorScheme(**palette),
        use_material3=True,
        text_theme=_text_theme(kinds, fallback, palette["on_surface"]),
        primary_text_theme=_text_theme(kinds, fallback, palette["on_primary"]),
        # Lists' rows and tappable areas (bubbles, pictures) show the keyboard focus in this
        # colour: the default 12% tint was hard to see, above all on a bubble.
        focus_color=focus_color(palette),
        **_focus_rings(kinds, palette),
    )


def _focus_rings(kinds: Any, palette: dict[str, str]) -> dict[str, object]:
    """Buttons show the keyboard focus as a ring in the text colour (3:1 or more on every
    surface), over Material's faint focus tint; the radios' focus halo is as strong."""

    def ring() -> ft.ButtonStyle:
        # One object per theme entry: Flet's diff keeps its state on the object, and a
        # style shared by two entries reached the client for one of them only.
        return ft.ButtonStyle(
            side={ft.ControlState.FOCUSED: ft.BorderSide(2, palette["on_surface"])}
        )

    focused = {ft.ControlState.FOCUSED: focus_color(palette)}
    return {
        "filled_button_theme": kinds.FilledButtonTheme(style=ring()),
        "outlined_button_theme": kinds.OutlinedButtonTheme(style=ring()),
        "text_button_theme": kinds.TextButtonTheme(style=ring()),
        "icon_button_theme": kinds.IconButtonTheme(style=ring()),
        "radio_theme": kinds.RadioTheme(overlay_color=focused),
    }


def focus_color(palette: dict[str, str]) -> str:
    """The focus highlight: the text colour at 30% over whatever is under it."""
    return "#4D" + palette["on_surface"][1:]


# The colour schemes, role by role: what Flutter derives from SEED (Material 3, tonal
# spot), written out so that the colours the screens use are the app's own, and every
# pair of them is checked for contrast (tests/app/test_contrast.py). Read from the
# renderer, role by role, for SEED; change them only together with PAIRS below.
LIGHT: dict[str, str] = {
    "primary": "#435E91",
    "on_primary": "#FFFFFF",
    "primary_container": "#D8E2FF",
    "on_primary_container": "#2A4678",
    "secondary": "#565E71",
    "on_secondary": "#FFFFFF",
    "secondary_container": "#DBE2F9",
    "on_secondary_container": "#3F4759",
    "tertiary": "#715574",
    "on_tertiary": "#FFFFFF",
    "tertiary_container": "#FBD7FC",
    "on_tertiary_container": "#583E5B",
    "error": "#BA1A1A",
    "on_error": "#FFFFFF",
    "error_container": "#FFDAD6",
    "on_error_container": "#93000A",
    "surface": "#F9F9FF",
    "on_surface": "#1A1B20",
    "on_surface_variant": "#44474F",
    "outline": "#74777F",
    "outline_variant": "#C4C6D0",
    "shadow": "#000000",
    "scrim": "#000000",
    "inverse_surface": "#2F3036",
    "on_inverse_surface": "#F0F0F7",
    "inverse_primary": "#ADC7FF",
    "surface_tint": "#435E91",
    "on_primary_fixed": "#001A41",
    "on_secondary_fixed": "#131B2C",
    "on_tertiary_fixed": "#29132D",
    "on_primary_fixed_variant": "#2A4678",
    "on_secondary_fixed_variant": "#3F4759",
    "on_tertiary_fixed_variant": "#583E5B",
    "primary_fixed": "#D8E2FF",
    "secondary_fixed": "#DBE2F9",
    "tertiary_fixed": "#FBD7FC",
    "primary_fixed_dim": "#ADC7FF",
    "secondary_fixed_dim": "#BFC6DC",
    "surface_bright": "#F9F9FF",
    "surface_container": "#EDEDF4",
    "surface_container_high": "#E8E7EE",
    "surface_container_highest": "#E2E2E9",
    "surface_container_low": "#F3F3FA",
    "surface_container_lowest": "#FFFFFF",
    "surface_dim": "#D9D9E0",
    "tertiary_fixed_dim": "#DEBCDF",
}
DARK: dict[str, str] = {
    "primary": "#ADC7FF",
    "on_primary": "#0F2F60",
    "primary_container": "#2A4678",
    "on_primary_container": "#D8E2FF",
    "secondary": "#BFC6DC",
    "on_secondary": "#283041",
    "secondary_container": "#3F4759",
    "on_secondary_container": "#DBE2F9",
    "tertiary": "#DEBCDF",
    "on_tertiary": "#402843",
    "tertiary_container": "#583E5B",
    "on_tertiary_container": "#FBD7FC",
    "error": "#FFB4AB",
    "on_error": "#690005",
    "error_container": "#93000A",
    "on_error_container": "#FFDAD6",
    "surface": "#111318",
    "on_surface": "#E2E2E9",
    "on_surface_variant": "#C4C6D0",
    "outline": "#8E9099",
    "outline_variant": "#44474F",
    "shadow": "#000000",
    "scrim": "#000000",
    "inverse_surface": "#E2E2E9",
    "on_inverse_surface": "#2F3036",
    "inverse_primary": "#435E91",
    "surface_tint": "#ADC7FF",
    "on_primary_fixed": "#001A41",
    "on_secondary_fixed": "#131B2C",
    "on_tertiary_fixed": "#29132D",
    "on_primary_fixed_variant": "#2A4678",
    "on_secondary_fixed_variant": "#3F4759",
    "on_tertiary_fixed_variant": "#583E5B",
    "primary_fixed": "#D8E2FF",
    "secondary_fixed": "#DBE2F9",
    "tertiary_fixed": "#FBD7FC",
    "primary_fixed_dim": "#ADC7FF",
    "secondary_fixed_dim": "#BFC6DC",
    "surface_bright": "#37393E",
    "surface_container": "#1E1F25",
    "surface_container_high": "#282A2F",
    "surface_container_highest": "#33353A",
    "surface_container_low": "#1A1B20",
    "surface_container_lowest": "#0C0E13",
    "surface_dim": "#111318",
    "tertiary_fixed_dim": "#DEBCDF",
}

# The live connection's dot, beside its word: the same in both themes, each at 3:1
# against both surfaces (a graphic that carries meaning; ft.Colors.AMBER was 1.6:1).
CONNECTION_COLORS = {"connected": "#2E8B45", "reconnecting": "#A86B00", "offline": "error"}

# Every foreground/background pair of roles the screens draw (roles of LIGHT/DARK, or a
# literal colour): text needs 4.5:1, large text and icons 3:1 (WCAG 2.2 AA).
TEXT, ICON = "text", "icon"
PAIRS: tuple[tuple[str, str, str, str], ...] = (
    ("on_surface", "surface", TEXT, "body text, titles, list rows"),
    ("on_surface_variant", "surface", TEXT, "previews, times, hints, notes"),
    ("primary", "surface", TEXT, "section titles, text buttons, unread times"),
    ("error", "surface", TEXT, "counter out of range, reasons, a failed message's state"),
    ("on_primary", "primary", TEXT, "outbound bubbles, unread badges, filled buttons"),
    ("on_surface", "surface_container_highest", TEXT, "inbound bubbles"),
    ("on_surface_variant", "surface_container_highest", TEXT, "Deleted tag"),
    ("on_surface_variant", "surface_container_high", TEXT, "date separators"),
    ("on_surface", "surface_container_high", TEXT, "files picked to send"),
    ("on_surface_variant", "surface_container", TEXT, "composer when sending is blocked"),
    ("on_surface", "surface_container_low", TEXT, "a file in an inbound bubble"),
    ("on_surface_variant", "surface_container_low", TEXT, "its size"),
    ("on_surface", "surface_container_lowest", TEXT, "a file in an outbound bubble"),
    ("on_surface_variant", "surface_container_lowest", TEXT, "its size"),
    ("on_error_container", "error_container", TEXT, "blocked banner, error snack bars"),
    ("on_secondary_container", "secondary_container", TEXT, "sign-in notices, chips, nav"),
    ("on_tertiary_container", "tertiary_container", TEXT, "Updated tag"),
    ("on_inverse_surface", "inverse_surface", TEXT, "snack bars"),
    ("inverse_primary", "inverse_surface", TEXT, "a snack bar's action (Open)"),
    ("on_error", "error", ICON, "a blocked group's avatar"),
    ("primary", "surface_container_low", ICON, "a file's icon in a bubble"),
    ("primary", "surface_container_high", ICON, "a picked file's icon"),
    ("outline", "surface", ICON, "an unchosen contact's circle, empty-state icons"),
    ("error", "error_container", ICON, "the blocked banner's icon"),
    ("on_secondary_container", "secondary_container", ICON, "the selected nav icon"),
    ("on_surface_variant", "surface", ICON, "nav icons, lock, info"),
    ("connected", "surface", ICON, "connection dot: Live"),
    ("reconnecting", "surface", ICON, "connection dot: Reconnecting"),
    ("error", "surface", ICON, "connection dot: Offline; a failed message's icon"),
)


def color(palette: dict[str, str], name: str) -> str:
    """A pair's colour: a role of the palette, a connection state, or a literal #RRGGBB."""
    if name in CONNECTION_COLORS:
        name = CONNECTION_COLORS[name]
    return palette.get(name, name)


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
