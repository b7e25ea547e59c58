"""The app's lean theme types put on the wire exactly what Flet's own would.

app/theme_values.py stands in for ``flet.controls.theme`` so a cold start does not build
Flet's forty theme classes (issue 19). These tests hold it to that: the same fields,
defaults and order as Flet's classes, and the same bytes for the themes the app makes.
That making them leaves Flet's module unimported is checked with the rest of the cold
start, in tests/app/test_cold_start.py."""

from __future__ import annotations

import dataclasses

import flet as ft
import pytest

from app import theme, theme_values
from tests.app.fake_session import encode

LEAN = [
    cls
    for cls in vars(theme_values).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
]


def _shape(field: dataclasses.Field[object]) -> tuple[object, ...]:
    factory = field.default_factory
    default = factory.__name__ if factory is not dataclasses.MISSING else field.default
    return field.name, default, field.metadata.get("event", True)


def test_every_lean_type_stands_for_one_of_flets():
    assert {cls.__name__ for cls in LEAN} >= {"Theme", "ColorScheme", "TextTheme"}
    for cls in LEAN:
        assert getattr(ft, cls.__name__).__module__ == "flet.controls.theme", cls.__name__


@pytest.mark.parametrize("cls", LEAN, ids=lambda cls: cls.__name__)
def test_its_fields_are_flets_with_the_same_defaults_in_flets_order(cls):
    real = {f.name: f for f in dataclasses.fields(getattr(ft, cls.__name__))}
    lean = dataclasses.fields(cls)
    missing = [f.name for f in lean if f.name not in real]
    assert not missing, f"ft.{cls.__name__} has no {missing}"
    assert [_shape(f) for f in lean] == [_shape(real[f.name]) for f in lean]
    order = list(real)
    assert [f.name for f in lean] == sorted((f.name for f in lean), key=order.index)


@pytest.mark.parametrize("fallback", [[], [theme.WEB_DEFAULT_FONT, theme.EMOJI_FONT]])
def test_the_apps_themes_encode_to_the_bytes_flets_classes_would(fallback):
    for lean, real in zip(theme.themes(fallback), theme.themes(fallback, kinds=ft), strict=True):
        assert type(real) is ft.Theme
        assert encode(lean) == encode(real)
        # Not an empty theme on both sides: the scheme and the focus rings are in it.
        assert b"#435E91" in encode(lean) or b"#ADC7FF" in encode(lean)
