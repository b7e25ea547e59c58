"""Image checks and compression with Pillow, for reliable MMS delivery.

What happens to an image (JPEG, PNG, GIF) before upload:

* It is decoded in full, so a corrupt or truncated file is refused with a
  reason instead of failing on the recipient's phone. A file whose header
  claims more pixels than ``max_pixels`` (a decompression bomb) is refused
  before any pixel is decoded; Pillow's own bomb warning counts as an error.
* Small images without metadata go out byte for byte as picked.
* Images over the size limit, or carrying metadata (EXIF with its GPS
  location, XMP, comments, text chunks), are re-encoded: the EXIF orientation
  is applied to the pixels first, then nothing but the colour profile is
  written back. Location privacy is worth a re-encode even under the limit.
* Opaque images over the limit become JPEG (what every phone shows and
  carriers resize best). Images with real transparency (stickers, logos) stay
  PNG: down-scaled, then quantised to 256 colours with alpha, because
  flattening onto a colour we guess would look wrong on a dark-mode phone.
* Size in one pass where possible: the long edge is capped at
  ``MAX_LONG_EDGE`` and the pixel count is estimated from the bytes per pixel
  of a small probe encode; a miss is corrected once from the measured bytes
  per pixel, then at most two quality steps follow.
* Animated GIFs (and APNGs) are never re-encoded: recompressing frames loses
  the animation's timing or quality. Under the limit they go as they are,
  over it they are refused with the reason.
* HEIC is not handled here: Pillow cannot decode it without a plugin, so the
  caller passes it through untouched.

Everything here is CPU-bound and blocking; ``services.attachments`` offers
async wrappers that run it in a worker thread.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from services.attachments.display import human_size
from services.limits import RELIABLE_MMS_BYTES

# Longer than any phone shows in a thread; carriers scale to ~1280 px anyway.
# 1920 also lets a 4000 px JPEG decode at half scale (Pillow's draft mode).
MAX_LONG_EDGE = 1920
# Pillow's own default; JPEGs this large still decode cheaply in draft mode.
MAX_JPEG_PIXELS = 89_478_485
# PNG and GIF decode at full size: 40 MP covers an 8K screenshot.
MAX_OTHER_PIXELS = 40_000_000
# The first quality tried, then the steps down when size still misses.
JPEG_QUALITY = 82
JPEG_QUALITY_STEPS = (68, 55)
# Quality for re-encoding an image that is already small (metadata only).
JPEG_KEEP_QUALITY = 90
# Aim a little below the limit: bytes per pixel rise as images get smaller.
SIZE_MARGIN = 0.9
PROBE_EDGE = 512
# Below this the picture is no longer worth sending.
MIN_EDGE = 160

DECODABLE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF"})
_METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "photoshop", "comment", "iptc")


class ImageProblem(Exception):
    """An image that can't be sent, with the reason in words."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # Too large (a bomb, an oversized animation) rather than unreadable.
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class ImageOutput:
    """An image ready to upload."""

    data: bytes
    mime: str
    extension: str
    width: int
    height: int
    # False: the input bytes, untouched.
    reencoded: bool
    # Full-size encodes it took (the probe not counted): 1 is "one pass".
    passes: int = 0


def optimise_image(
    data: bytes,
    name: str,
    *,
    max_bytes: int = RELIABLE_MMS_BYTES,
    force_reencode: bool = False,
) -> ImageOutput:
    """Check an image and, when needed, make it smaller and strip its metadata.

    Raises ``ImageProblem`` for a corrupt image, a decompression bomb, an
    animation over ``max_bytes``, or one that can't get under ``max_bytes``.
    ``force_reencode`` makes even a small image go through compression (the
    "compress and resend" path, where ``max_bytes`` is below its size).
    """
    image = open_image(data, name)
    try:
        carries_metadata = has_metadata(image)
    except Exception as error:  # reading PNG text chunks decodes the whole file
        raise _corrupt(name) from error
    if _is_animated(image):
        return _animated(image, data, name, max_bytes)
    if len(data) <= max_bytes and not force_reencode and not carries_metadata:
        _decode_fully(image, name)
        return _unchanged(image, data)
    if len(data) <= max_bytes and not force_reencode:
        return _strip_small(image, name, max_bytes)
    return _compress(image, name, max_bytes)


# --- opening and checking ---------------------------------------------------------------


def open_image(data: bytes, name: str) -> Image.Image:
    """Open an image's header, refusing bombs and files Pillow can't read."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _bomb(name) from error
        # Any failure inside a third-party decoder on hostile input means the
        # file is unreadable: a refusal, never a crash.
        except Exception as error:
            raise _corrupt(name) from error
    if image.format not in DECODABLE_FORMATS:
        raise _corrupt(name)
    limit = MAX_JPEG_PIXELS if image.format in ("JPEG", "MPO") else MAX_OTHER_PIXELS
    if image.width * image.height > limit or min(image.size) < 1:
        raise _bomb(name)
    return image


def _decode_fully(image: Image.Image, name: str) -> None:
    """Decode every pixel (every frame), so truncation is found now."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                image.load()
            image.seek(0)
    except Exception as error:
        raise _corrupt(name) from error


def _corrupt(name: str) -> ImageProblem:
    return ImageProblem(
        f"“{name}” can't be sent: the picture is damaged or incomplete and can't be opened."
    )


def _bomb(name: str) -> ImageProblem:
    return ImageProblem(
        f"“{name}” can't be sent: its picture is far too large in pixels to open safely.",
        too_large=True,
    )


def has_metadata(image: Image.Image) -> bool:
    """EXIF (maybe with GPS), XMP, comments or PNG text: things to strip."""
    if any(key in image.info for key in _METADATA_KEYS):
        return True
    text = getattr(image, "text", None)
    return bool(text) or bool(image.getexif())


def _is_animated(image: Image.Image) -> bool:
    return bool(getattr(image, "is_animated", False)) and getattr(image, "n_frames", 1) > 1


def _animated(image: Image.Image, data: bytes, name: str, max_bytes: int) -> ImageOutput:
    if len(data) > max_bytes:
        raise ImageProblem(
            f"“{name}” is an animation of {human_size(len(data))}; animations over "
            f"{human_size(max_bytes)} often don't reach phones and can't be shrunk "
            "without losing frames. Pick a shorter or smaller one.",
            too_large=True,
        )
    _decode_fully(image, name)
    return _unchanged(image, data)


def _unchanged(image: Image.Image, data: bytes) -> ImageOutput:
    fmt = "JPEG" if image.format == "MPO" else str(image.format)
    mime, extension = _FORMATS[fmt]
    return ImageOutput(data, mime, extension, image.width, image.height, reencoded=False)


_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "GIF": ("image/gif", ".gif"),
}


# --- re-encoding ------------------------------------------------------------------------


def _prepare_pixels(image: Image.Image, name: str, long_edge: int) -> Image.Image:
    """Decode (in draft mode for JPEG), upright by EXIF, capped at ``long_edge``."""
    scale = min(1.0, long_edge / max(image.size))
    wanted = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.format in ("JPEG", "MPO"):
        # Decode straight at 1/2, 1/4 or 1/8 scale when that is still big enough.
        image.draft("RGB", wanted)
    _decode_fully(image, name)
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception as error:  # a malformed EXIF block is a damaged file
        raise _corrupt(name) from error
    if max(upright.size) > long_edge:
        upright = _resize(upright, long_edge / max(upright.size))
    return upright


def _resize(image: Image.Image, scale: float) -> Image.Image:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # reducing_gap: a fast box reduction first, then Lanczos on what is left.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def has_transparency(image: Image.Image) -> bool:
    """Whether any pixel is see-through (an unused alpha channel doesn't count)."""
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        # A single band: getextrema() is (lowest, highest).
        low = alpha.getextrema()[0]
        return isinstance(low, int | float) and low < 255
    return False


def _icc(image: Image.Image) -> bytes | None:
    # The colour profile is not personal data and keeps iPhone (Display P3)
    # colours right; it is only meaningful while the pixels stay RGB.
    profile = image.info.get("icc_profile")
    return profile if isinstance(profile, bytes) and image.mode in ("RGB", "RGBA") else None


def _encode_jpeg(image: Image.Image, quality: int, icc: bytes | None) -> bytes:
    # Greyscale stays greyscale: a third of the bytes for the same picture.
    pixels = image if image.mode in ("RGB", "L") else image.convert("RGB")
    pixels.info = {}  # nothing of the source's metadata rides along
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality, "optimize": True, "progressive": True}
    if icc:
        options["icc_profile"] = icc
    pixels.save(out, "JPEG", **options)
    return out.getvalue()


def _encode_png(image: Image.Image, icc: bytes | None, *, quantize: bool) -> bytes:
    if quantize:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        image = rgba.quantize(256, method=Image.Quantize.FASTOCTREE)
        icc = None  # a palette image with an RGB profile confuses some viewers
    image.info = {}
    out = io.BytesIO()
    options: dict[str, object] = {"optimize": True}
    if icc:
        options["icc_profile"] = icc
    image.save(out, "PNG", **options)
    return out.getvalue()


def _output(data: bytes, image: Image.Image, fmt: str, passes: int) -> ImageOutput:
    mime, extension = _FORMATS[fmt]
    return ImageOutput(data, mime, extension, image.width, image.height, True, passes)


def _strip_small(image: Image.Image, name: str, max_bytes: int) -> ImageOutput:
    """An image under the limit with metadata: same format, metadata gone."""
    source_format = image.format
    icc = _icc(image)
    pixels = _prepare_pixels(image, name, max(image.size))
    if source_format in ("JPEG", "MPO"):
        data = _encode_jpeg(pixels, JPEG_KEEP_QUALITY, icc)
        fmt = "JPEG"
    else:
        data = _encode_png(pixels, icc, quantize=False)
        fmt = "PNG"
    if len(data) <= max_bytes:
        return _output(data, pixels, fmt, 1)
    return _compress_pixels(pixels, name, max_bytes, icc)


def _compress(image: Image.Image, name: str, max_bytes: int) -> ImageOutput:
    icc = _icc(image)
    return _compress_pixels(_prepare_pixels(image, name, MAX_LONG_EDGE), name, max_bytes, icc)


def _compress_pixels(
    pixels: Image.Image, name: str, max_bytes: int, icc: bytes | None
) -> ImageOutput:
    if has_transparency(pixels):
        return _compress_png(pixels, name, max_bytes, icc)
    return _compress_jpeg(pixels, name, max_bytes, icc)


def _fit_scale(encoded_bytes: int, max_bytes: int) -> float:
    """How much to scale each side so ``encoded_bytes`` lands under the limit."""
    return min(1.0, math.sqrt(max_bytes * SIZE_MARGIN / max(encoded_bytes, 1)))


def _compress_jpeg(
    pixels: Image.Image, name: str, max_bytes: int, icc: bytes | None
) -> ImageOutput:
    if pixels.mode not in ("RGB", "L"):
        pixels = pixels.convert("RGB")
    # Estimate the pixel count from the bytes per pixel of a small probe.
    probe = _resize(pixels, min(1.0, PROBE_EDGE / max(pixels.size)))
    probe_bpp = len(_encode_jpeg(probe, JPEG_QUALITY, icc)) / (probe.width * probe.height)
    estimated = probe_bpp * pixels.width * pixels.height
    sized = _resize(pixels, _fit_scale(round(estimated), max_bytes))
    data, passes = _encode_jpeg(sized, JPEG_QUALITY, icc), 1
    if len(data) > max_bytes:
        # The probe missed: correct once from what this size really costs.
        sized = _resize(sized, _fit_scale(len(data), max_bytes))
        data, passes = _encode_jpeg(sized, JPEG_QUALITY, icc), passes + 1
    for quality in JPEG_QUALITY_STEPS:
        if len(data) <= max_bytes:
            break
        data, passes = _encode_jpeg(sized, quality, icc), passes + 1
    while len(data) > max_bytes:
        sized = _shrink(sized, name, max_bytes)
        data, passes = _encode_jpeg(sized, JPEG_QUALITY_STEPS[-1], icc), passes + 1
    return _output(data, sized, "JPEG", passes)


def _compress_png(pixels: Image.Image, name: str, max_bytes: int, icc: bytes | None) -> ImageOutput:
    data, passes = _encode_png(pixels, icc, quantize=False), 1
    if len(data) <= max_bytes:
        return _output(data, pixels, "PNG", passes)
    sized = pixels
    data, passes = _encode_png(sized, icc, quantize=True), passes + 1
    for _attempt in range(2):
        if len(data) <= max_bytes:
            break
        sized = _resize(sized, _fit_scale(len(data), max_bytes))
        data, passes = _encode_png(sized, icc, quantize=True), passes + 1
    while len(data) > max_bytes:
        sized = _shrink(sized, name, max_bytes)
        data, passes = _encode_png(sized, icc, quantize=True), passes + 1
    return _output(data, sized, "PNG", passes)


def _shrink(image: Image.Image, name: str, max_bytes: int) -> Image.Image:
    """The last resort: smaller by a quarter each time, down to ``MIN_EDGE``."""
    if min(image.size) * 0.75 < MIN_EDGE:
        raise ImageProblem(
            f"“{name}” can't be made smaller than {human_size(max_bytes)} and still be "
            "worth seeing. Send it as a smaller picture.",
            too_large=True,
        )
    return _resize(image, 0.75)
