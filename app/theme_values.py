"""The theme's value types, with only the fields the app sets (issue 19's cold start).

``flet.controls.theme`` defines some forty theme classes (~100 dataclasses) and imports
the tabs, slider, menu bar, navigation rail and other modules their fields name. Making
the app's two themes from it took ~80 ms, about a seventh of the cold start to the
painted list, for the eight classes ``app.theme`` uses. These are those eight and the
page transitions' one that ``Theme`` always carries, made with Flet's own ``@value`` (the
same sparse tracking and diffing), under the same names, with the same fields, defaults
and order. So a page carries exactly the bytes Flet's classes would put on the wire:
tests/app/test_theme_values.py checks that field by field and byte for byte, and names
the field to add here when the app starts to set a new one.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from flet.controls.value_types import value

# The fields are annotated Any where Flet says Optional[ColorValue] and the like: nothing
# reads them back (a page only sends its theme), and Flet's type aliases would import the
# modules this one avoids.


@value
class PageTransitionsTheme:
    android: Any = None
    ios: Any = None
    linux: Any = None
    macos: Any = None
    windows: Any = None


def _role() -> Any:
    # ColorScheme's on_* roles are colours, not event handlers: Flet sends an on_* field
    # as a flag unless its metadata says otherwise.
    return field(default=None, metadata={"event": False})


@value
class ColorScheme:
    primary: Any = None
    on_primary: Any = _role()
    primary_container: Any = None
    on_primary_container: Any = _role()
    secondary: Any = None
    on_secondary: Any = _role()
    secondary_container: Any = None
    on_secondary_container: Any = _role()
    tertiary: Any = None
    on_tertiary: Any = _role()
    tertiary_container: Any = None
    on_tertiary_container: Any = _role()
    error: Any = None
    on_error: Any = _role()
    error_container: Any = None
    on_error_container: Any = _role()
    surface: Any = None
    on_surface: Any = _role()
    on_surface_variant: Any = _role()
    outline: Any = None
    outline_variant: Any = None
    shadow: Any = None
    scrim: Any = None
    inverse_surface: Any = None
    on_inverse_surface: Any = _role()
    inverse_primary: Any = None
    surface_tint: Any = None
    on_primary_fixed: Any = _role()
    on_secondary_fixed: Any = _role()
    on_tertiary_fixed: Any = _role()
    on_primary_fixed_variant: Any = _role()
    on_secondary_fixed_variant: Any = _role()
    on_tertiary_fixed_variant: Any = _role()
    primary_fixed: Any = None
    secondary_fixed: Any = None
    tertiary_fixed: Any = None
    primary_fixed_dim: Any = None
    secondary_fixed_dim: Any = None
    surface_bright: Any = None
    surface_container: Any = None
    surface_container_high: Any = None
    surface_container_highest: Any = None
    surface_container_low: Any = None
    surface_container_lowest: Any = None
    surface_dim: Any = None
    tertiary_fixed_dim: Any = None


@value
class TextTheme:
    body_large: Any = None
    body_medium: Any = None
    body_small: Any = None
    display_large: Any = None
    display_medium: Any = None
    display_small: Any = None
    headline_large: Any = None
    headline_medium: Any = None
    headline_small: Any = None
    label_large: Any = None
    label_medium: Any = None
    label_small: Any = None
    title_large: Any = None
    title_medium: Any = None
    title_small: Any = None


@value
class OutlinedButtonTheme:
    style: Any = None


@value
class TextButtonTheme:
    style: Any = None


@value
class FilledButtonTheme:
    style: Any = None


@value
class IconButtonTheme:
    style: Any = None


@value
class RadioTheme:
    fill_color: Any = None
    overlay_color: Any = None
    splash_radius: Any = None
    visual_density: Any = None
    mouse_cursor: Any = None


@value
class Theme:
    # Flet's order: a value is sent as its fields in the order they were set.
    color_scheme_seed: Any = None
    use_material3: Any = None
    color_scheme: Any = None
    outlined_button_theme: Any = None
    text_button_theme: Any = None
    filled_button_theme: Any = None
    icon_button_theme: Any = None
    page_transitions: PageTransitionsTheme = field(default_factory=PageTransitionsTheme)
    focus_color: Any = None
    primary_text_theme: Any = None
    radio_theme: Any = None
    text_theme: Any = None
