"""`flet build` configuration and artwork, checked offline.

flet build needs the Flutter SDK and the network, so it cannot run here; this
checks what it would read (pyproject [tool.flet], the entry file, assets/) and
renders every icon and splash the way it does, with flet_platform_assets.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest
from flet_platform_assets import (
    DEFAULT_SPECS,
    IconOptions,
    SplashOptions,
    load_source,
    parse_hex_color,
    render_icons,
    render_splash,
)
from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FLET: dict[str, Any] = PYPROJECT["tool"]["flet"]
APP_PATH = ROOT / FLET["app"]["path"]
ASSETS = APP_PATH / "assets"
ICON_PLATFORMS = ["ios", "android", "macos", "windows", "web", "linux"]


def test_identity_for_the_stores() -> None:
    assert FLET["product"] == "Group Chat for SMS"
    assert FLET["bundle_id"] == "com.groupchatsms.app"
    assert FLET["bundle_id"].startswith(FLET["org"] + ".")
    assert isinstance(FLET["build_number"], int) and FLET["build_number"] >= 1
    version = PYPROJECT["project"]["version"]
    assert all(part.isdigit() for part in version.split(".")) and version.count(".") == 2
    for key in ("company", "copyright", "artifact"):
        assert FLET[key].strip()


def test_entry_point_is_where_flet_build_looks() -> None:
    # flet build: <app.path>/<stem of app.module>.py must exist.
    module = Path(FLET["app"]["module"]).stem
    entry = APP_PATH / f"{module}.py"
    assert entry.is_file()
    assert "from app.main import run" in entry.read_text()
    assert importlib.util.find_spec("app.main") is not None
    excluded = set(FLET["app"]["exclude"])
    assert {"tests", "bench", "dev.py"} <= excluded
    assert not excluded & {"app", "services", "assets", "main.py", "flet.toml"}


def test_permissions_with_honest_usage_texts() -> None:
    assert set(FLET["permissions"]) == {"camera", "photo_library"}
    for table in (FLET["ios"]["info"], FLET["macos"]["info"]):
        camera = table["NSCameraUsageDescription"]
        photos = table["NSPhotoLibraryUsageDescription"]
        # Apple rejects vague texts: say what the access is for, in this app.
        assert "Group Chat for SMS" in camera and "photo" in camera and "only when" in camera
        assert "Group Chat for SMS" in photos and "attach" in photos and "only when" in photos
    android = FLET["android"]["permission"]
    assert android["android.permission.POST_NOTIFICATIONS"] is True


def test_the_build_ships_bytecode_so_no_start_compiles_sources() -> None:
    assert FLET["compile"] == {"app": True, "packages": True}


def test_runtime_settings_file_ships_with_the_app() -> None:
    assert (APP_PATH / "flet.toml").is_file()


@pytest.mark.parametrize("name", ["icon", "icon_ios", "icon_macos", "icon_android", "splash"])
def test_artwork_is_1024_square(name: str) -> None:
    with Image.open(ASSETS / f"{name}.png") as img:
        assert img.size == (1024, 1024)


def source_for(platform: str) -> tuple[Image.Image, bool]:
    """The same lookup flet build does: icon_<platform>.png, else icon.png (derived)."""
    specific = ASSETS / f"icon_{platform}.png"
    path, derived = (specific, False) if specific.exists() else (ASSETS / "icon.png", True)
    image, _ = load_source(path)
    return image, derived


@pytest.mark.parametrize("platform", ICON_PLATFORMS)
def test_icons_render_for_every_platform_without_warnings(platform: str) -> None:
    source, derived = source_for(platform)
    options = IconOptions(
        background=parse_hex_color(FLET["icon_background"]),
        application_id=FLET["bundle_id"],
        macos_style=FLET["macos"]["icon_style"],
    )
    result = render_icons(source, options, platform=platform, derived=derived)
    assert result.warnings == []
    assets = {a.relative_path: a.image for a in result.assets}
    if platform == "windows":
        sizes = next(iter(result.ico.values()))
        assert sorted(sizes) == [16, 32, 48, 256]
        assert_visible_mark(sizes[16])
        return
    expected = {t.relative_path for t in DEFAULT_SPECS[platform].targets}
    assert expected <= set(assets)
    for image in assets.values():
        if platform == "ios":  # the App Store rejects alpha
            assert image.mode == "RGB"
        assert_visible_mark(image)


def assert_visible_mark(image: Image.Image) -> None:
    """Even the smallest icon shows light bubbles against a coloured field."""
    rgba = image.convert("RGBA")
    if rgba.width < 32:
        rgba = rgba.resize((32, 32), Image.Resampling.NEAREST)
    lum = ImageStat.Stat(
        rgba.convert("L"), mask=rgba.getchannel("A").point(lambda a: 255 * (a > 128))
    )
    low, high = lum.extrema[0]
    assert high - low > 80, "icon has no contrast at this size"


@pytest.mark.parametrize("platform", ["android", "ios", "web"])
def test_splash_renders_on_the_brand_colours(platform: str) -> None:
    splash = FLET["splash"]
    light, _ = load_source(ASSETS / "splash.png")
    options = SplashOptions(color=splash["color"], dark_color=splash["dark_color"])
    result = render_splash(light, options=options, platform=platform)
    assert result.assets
    assert result.warnings == []


def test_android_adaptive_foreground_has_a_background_colour() -> None:
    assert parse_hex_color(FLET["android"]["adaptive_icon_background"])
    foreground, _ = load_source(ASSETS / "icon_android.png")
    # A foreground layer: transparent corners for the launcher's mask.
    assert foreground.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_icon_is_reproducible_from_its_script() -> None:
    spec = importlib.util.spec_from_file_location("make_icons", ASSETS / "make_icons.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    drawn = module.make_icon()
    with Image.open(ASSETS / "icon.png") as committed:
        diff = ImageChops.difference(drawn.convert("RGBA"), committed.convert("RGBA"))
    assert max(ImageStat.Stat(diff).mean) < 1.0
