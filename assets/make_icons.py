"""Draw the app icon and splash artwork (reproducible: `python assets/make_icons.py`).

Two overlapping speech bubbles and a small third one — a group conversation — in
white on a blue-to-teal gradient. Everything is drawn at 4x and downsampled, so
edges stay crisp at 16 px.

Files (what `flet build` picks up from assets/):
    icon.png          1024, rounded tile on transparency: Windows, Linux, web
    icon_ios.png      1024, full-bleed opaque square: iOS masks its own corners and
                      the App Store rejects transparency
    icon_macos.png    the same; [tool.flet.macos] icon_style = "grid" insets it in
                      Apple's squircle with the standard shadow
    icon_android.png  1024, the bubbles alone inside Android's adaptive-icon safe
                      zone; the launcher draws [tool.flet.android] adaptive_icon_background
                      behind it (this is the adaptive "foreground" layer)
    splash.png        1024, the bubbles alone; [tool.flet.splash] paints the brand colour
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = 1024
SS = 4  # supersampling factor

# Brand colours (keep in sync with [tool.flet] icon_background / splash in pyproject.toml).
BLUE = (21, 94, 217)  # #155ED9
TEAL = (16, 185, 166)  # #10B9A6
NAVY = (8, 30, 66)  # shadow tint
WHITE = (255, 255, 255)


def gradient(size: int) -> Image.Image:
    """Diagonal blue (top-left) to teal (bottom-right), with a soft light from the top."""
    small = 256
    img = Image.new("RGB", (small, small))
    px = img.load()
    assert px is not None
    for y in range(small):
        for x in range(small):
            t = (x * 0.45 + y * 0.55) / (small - 1)
            t = t * t * (3 - 2 * t)  # smoothstep: richer middle
            light = 1 + 0.10 * (1 - y / (small - 1)) ** 2
            px[x, y] = tuple(
                min(255, round((BLUE[i] * (1 - t) + TEAL[i] * t) * light)) for i in range(3)
            )
    return img.resize((size, size), Image.Resampling.BICUBIC)


def bubble_mask(
    size: int, box: tuple[float, float, float, float], tail: str, scale: float
) -> Image.Image:
    """A rounded speech bubble with a tail at the bottom-left or bottom-right."""
    x0, y0, x1, y1 = (v * scale for v in box)
    h = y1 - y0
    r = h * 0.36
    mask = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(mask)
    d.rounded_rectangle((x0, y0, x1, y1), radius=r, fill=255)
    # The tail grows out of the bubble's straight side (tangent, so no kink) and
    # sweeps back to the bottom edge along a second curve.
    sign = -1 if tail == "left" else 1
    edge = x0 if tail == "left" else x1
    start = (edge, y1 - r)
    tip = (edge + sign * h * 0.07, y1 + h * 0.15)
    root = (edge - sign * r * 1.25, y1)
    pts = _curve(start, (edge, y1 - r * 0.2), tip)
    pts += _curve(tip, (edge - sign * r * 0.35, y1 + h * 0.03), root)[1:]
    pts.append((edge - sign * r, y1 - r))
    d.polygon(pts, fill=255)
    return mask


def _curve(
    p0: tuple[float, float], c: tuple[float, float], p1: tuple[float, float], n: int = 24
) -> list[tuple[float, float]]:
    """Points along a quadratic Bezier curve."""
    out = []
    for i in range(n + 1):
        t = i / n
        out.append(
            (
                (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * c[0] + t * t * p1[0],
                (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * c[1] + t * t * p1[1],
            )
        )
    return out


def bubbles(size: int, art_scale: float = 1.0, offset: tuple[float, float] = (0, 0)) -> Image.Image:
    """The white bubbles with shadows, on transparency, drawn in a SIZE-unit design space."""
    k = size / SIZE * art_scale
    ox, oy = (o * size / SIZE for o in offset)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 + ox / k, y0 + oy / k, x1 + ox / k, y1 + oy / k)

    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    small = bubble_mask(size, box(652, 178, 856, 316), "right", k)
    back = bubble_mask(size, box(178, 268, 628, 588), "left", k)
    front = bubble_mask(size, box(392, 430, 850, 760), "right", k)

    def shadow(mask: Image.Image, strength: float, blur: float, dy: float) -> None:
        s = mask.filter(ImageFilter.GaussianBlur(blur * k))
        s = ImageChops.offset(s, 0, round(dy * k))
        a = s.point(lambda v: round(v * strength))
        layer.alpha_composite(
            Image.merge("RGBA", (*(Image.new("L", (size, size), c) for c in NAVY), a))
        )

    def paint(mask: Image.Image, alpha: float) -> None:
        a = mask.point(lambda v: round(v * alpha))
        layer.alpha_composite(
            Image.merge("RGBA", (*(Image.new("L", (size, size), 255) for _ in range(3)), a))
        )

    shadow(small, 0.18, 10, 6)
    paint(small, 0.62)
    shadow(back, 0.20, 14, 10)
    paint(back, 0.78)
    shadow(front, 0.30, 22, 16)
    paint(front, 1.0)

    # Three dots in the front bubble: "a conversation is happening".
    d = ImageDraw.Draw(layer)
    cy = (595 + oy / k) * k
    for i, cx in enumerate((521, 621, 721)):
        cx = (cx + ox / k) * k
        r = 34 * k
        t = i / 2
        color = tuple(
            round(BLUE[c] * (1 - t) + TEAL[c] * t * 0.85 + BLUE[c] * t * 0.15) for c in range(3)
        )
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*color, 255))
    return layer


def tile(size: int, radius: float | None) -> Image.Image:
    """Gradient background; rounded corners when radius is given, else full-bleed."""
    bg = gradient(size).convert("RGBA")
    if radius is None:
        return bg
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=radius, fill=255)
    bg.putalpha(mask)
    return bg


def finish(img: Image.Image) -> Image.Image:
    return img.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def make_icon(margin: float = 0.0) -> Image.Image:
    """Rounded tile (transparent corners) for platforms that show the icon as drawn."""
    big = SIZE * SS
    inner = round(big * (1 - 2 * margin))
    art = tile(inner, radius=inner * 0.225)
    art.alpha_composite(bubbles(inner))
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    canvas.alpha_composite(art, ((big - inner) // 2, (big - inner) // 2))
    return finish(canvas)


def make_ios() -> Image.Image:
    big = SIZE * SS
    art = tile(big, radius=None)
    art.alpha_composite(bubbles(big))
    return finish(art).convert("RGB")


def make_bubbles_only(art_scale: float) -> Image.Image:
    """The bubbles centred and scaled, on transparency (adaptive foreground, splash)."""
    big = SIZE * SS
    # Centre of the artwork's bounding box in design units is about (514, 478).
    shift = (SIZE / 2 - 514 * art_scale, SIZE / 2 - 478 * art_scale)
    return finish(bubbles(big, art_scale, shift))


def main() -> None:
    make_icon().save(HERE / "icon.png", optimize=True)
    make_ios().save(HERE / "icon_ios.png", optimize=True)
    # macOS: the same full-bleed art; flet build cuts Apple's squircle and adds its shadow.
    make_ios().save(HERE / "icon_macos.png", optimize=True)
    # Android guarantees the centre 72/108 of the foreground; keep well inside it.
    make_bubbles_only(0.62).save(HERE / "icon_android.png", optimize=True)
    make_bubbles_only(0.80).save(HERE / "splash.png", optimize=True)


if __name__ == "__main__":
    main()
