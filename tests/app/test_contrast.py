"""Every text and icon colour pair the themes draw meets WCAG 2.2 AA, in both themes.

The colours are the theme's own (app/theme.py writes the Material 3 scheme out role by
role), so the check is on what the screens paint: 4.5:1 for text, 3:1 for icons and
other meaningful graphics. The avatars' white initials are text on each avatar colour.
"""

from __future__ import annotations

import pytest

from app import theme
from app.state import fmt

AA_TEXT, AA_ICON = 4.5, 3.0


def luminance(hex_color: str) -> float:
    """WCAG 2.2 relative luminance of an opaque #RRGGBB colour."""
    value = hex_color.lstrip("#")
    assert len(value) == 6, f"{hex_color} is not an opaque #RRGGBB colour"
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula_matches_wcags_reference_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # famously just under
    assert contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["light", "dark"])
def test_every_pair_the_screens_draw_meets_aa(name):
    palette = theme.LIGHT if name == "light" else theme.DARK
    failures = []
    for fg, bg, kind, where in theme.PAIRS:
        ratio = contrast(theme.color(palette, fg), theme.color(palette, bg))
        need = AA_TEXT if kind == theme.TEXT else AA_ICON
        if ratio < need:
            failures.append(f"{fg} on {bg} ({where}): {ratio:.2f}:1, needs {need}:1")
    assert not failures, f"{name} theme:\n  " + "\n  ".join(failures)


def test_every_pair_names_colours_the_themes_have():
    for fg, bg, _, _ in theme.PAIRS:
        for name in (fg, bg):
            resolved = theme.color(theme.LIGHT, name)
            assert resolved.startswith("#"), f"{name} is no role of the palette"


@pytest.mark.parametrize("color", fmt.AVATAR_COLORS)
def test_avatar_initials_read_on_every_avatar_colour(color):
    assert contrast("#FFFFFF", color) >= AA_TEXT


def test_the_palettes_hold_every_role_of_the_scheme():
    import dataclasses

    import flet as ft

    roles = {f.name for f in dataclasses.fields(ft.ColorScheme)}
    assert set(theme.LIGHT) == roles and set(theme.DARK) == roles
