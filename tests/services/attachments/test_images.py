from __future__ import annotations

import io

import pytest
from PIL import Image

from services.attachments.images import MAX_LONG_EDGE, ImageProblem, optimise_image
from services.limits import RELIABLE_MMS_BYTES
from tests.services import attachment_files as files


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _assert_no_metadata(data: bytes) -> None:
    image = _open(data)
    assert not image.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info)
    assert b"Exif\x00\x00" not in data
    assert b"ExamplePhone" not in data


def test_a_12_megapixel_photo_comes_out_under_the_reliable_size() -> None:
    source = files.photo_12mp()
    assert len(source) > 5 * 1024 * 1024  # over the message limit as picked

    output = optimise_image(source, "IMG_0001.jpg")

    assert output.reencoded
    assert output.mime == "image/jpeg"
    assert len(output.data) <= RELIABLE_MMS_BYTES
    image = _open(output.data)
    assert image.format == "JPEG"
    assert image.size == (output.width, output.height)
    assert max(image.size) <= MAX_LONG_EDGE
    assert image.width / image.height == pytest.approx(4000 / 3000, rel=0.01)


def test_the_size_limit_is_a_parameter() -> None:
    output = optimise_image(files.photo(2000, 1500), "a.jpg", max_bytes=100 * 1024)
    assert len(output.data) <= 100 * 1024


def test_orientation_is_applied_then_exif_and_gps_are_stripped() -> None:
    source = files.rotated_gps_jpeg(400, 300)
    assert len(source) < RELIABLE_MMS_BYTES  # re-encoded for its metadata alone

    output = optimise_image(source, "rotated.jpg")

    assert output.reencoded
    image = _open(output.data).convert("RGB")
    assert image.size == (300, 400)  # orientation 6: stored landscape, shown portrait
    red, blue = files.RED, files.BLUE
    top, bottom = image.getpixel((150, 50)), image.getpixel((150, 350))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top == pytest.approx(red, abs=12)
    assert bottom == pytest.approx(blue, abs=12)
    _assert_no_metadata(output.data)


def test_a_large_rotated_photo_is_rotated_compressed_and_stripped() -> None:
    output = optimise_image(files.rotated_gps_jpeg(4000, 3000), "big.jpg", max_bytes=200 * 1024)
    image = _open(output.data)
    assert image.height > image.width
    assert len(output.data) <= 200 * 1024
    _assert_no_metadata(output.data)


def test_a_small_clean_image_goes_byte_for_byte() -> None:
    source = files.small_jpeg()
    output = optimise_image(source, "tiny.jpg")
    assert not output.reencoded
    assert output.data is source


def test_a_large_transparent_png_stays_png_and_keeps_its_transparency() -> None:
    source = files.transparent_png(1200, 1200, noisy=True)
    assert len(source) > RELIABLE_MMS_BYTES

    output = optimise_image(source, "sticker.png")

    assert output.mime == "image/png"
    assert len(output.data) <= RELIABLE_MMS_BYTES
    image = _open(output.data).convert("RGBA")
    left, right = image.getpixel((5, 5)), image.getpixel((image.width - 5, 5))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[3] == 0 and right[3] == 255


def test_a_small_transparent_png_goes_as_it_is() -> None:
    source = files.transparent_png(64, 64)
    output = optimise_image(source, "icon.png")
    assert output.data is source


def test_a_large_opaque_png_becomes_a_jpeg() -> None:
    output = optimise_image(files.opaque_png(1600, 1200), "screenshot.png")
    assert output.mime == "image/jpeg"
    assert output.extension == ".jpg"
    assert len(output.data) <= RELIABLE_MMS_BYTES


def test_a_small_animated_gif_is_left_alone() -> None:
    source = files.animated_gif(64, 64, 4)
    output = optimise_image(source, "wave.gif")
    assert output.data is source
    assert output.mime == "image/gif"


def test_a_large_animated_gif_is_refused_with_the_reason() -> None:
    source = files.animated_gif(400, 400, 8, noisy=True)
    assert len(source) > RELIABLE_MMS_BYTES
    with pytest.raises(ImageProblem) as caught:
        optimise_image(source, "party.gif")
    assert caught.value.too_large
    assert "“party.gif” is an animation of" in caught.value.reason
    assert "500 KB" in caught.value.reason


def test_a_truncated_jpeg_is_refused_clearly() -> None:
    with pytest.raises(ImageProblem) as caught:
        optimise_image(files.truncated_jpeg(), "cut.jpg")
    assert not caught.value.too_large
    assert caught.value.reason == (
        "“cut.jpg” can't be sent: the picture is damaged or incomplete and can't be opened."
    )


def test_a_truncated_jpeg_over_the_limit_is_refused_too() -> None:
    whole = files.photo(2000, 1500)
    with pytest.raises(ImageProblem):
        optimise_image(whole[: len(whole) * 3 // 4], "cut.jpg")


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (30_000, 30_000),  # Pillow's hard error (over twice its limit)
        (10_000, 10_000),  # Pillow only warns here; the warning counts as an error
        (8_000, 6_000),  # a PNG over our own, lower limit for full decodes
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    bomb = files.png_bomb(width, height)
    assert len(bomb) < 100_000
    with pytest.raises(ImageProblem) as caught:
        optimise_image(bomb, "bomb.png")
    assert caught.value.too_large
    assert "far too large in pixels" in caught.value.reason


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and garbage
        b"\xff\xd8\xff\xe0" + b"\x00" * 10,  # a JPEG that stops in its header
        b"GIF89a",
        b"",
    ],
)
def test_garbage_with_an_image_signature_is_refused_not_crashing(data: bytes) -> None:
    with pytest.raises(ImageProblem):
        optimise_image(data, "junk.png")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("mode", "fmt", "out_mode"),
    [
        ("I;16", "PNG", "RGB"),  # 16-bit greyscale scan
        ("LA", "PNG", "RGB"),  # an alpha channel nobody uses
        ("RGBA", "PNG", "RGB"),
        ("CMYK", "JPEG", "RGB"),  # print-ready artwork
        ("L", "JPEG", "L"),  # greyscale stays greyscale
        ("RGB", "GIF", "RGB"),  # a large still GIF
    ],
)
def test_large_images_of_every_mode_compress_without_crashing(
    mode: str, fmt: str, out_mode: str
) -> None:
    source = _save(files.noisy_rgb(1500, 1500).convert(mode), fmt)
    assert len(source) > RELIABLE_MMS_BYTES
    output = optimise_image(source, f"scan.{fmt.lower()}")
    assert len(output.data) <= RELIABLE_MMS_BYTES
    assert _open(output.data).mode == out_mode
