"""Real files for the attachment tests and benchmark, generated on demand.

Every file is built here from scratch (Pillow, zipfile, bytes), so the tests
need no binary fixtures and each case says in code what makes it special.
Expensive ones are cached: they are immutable bytes.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

from PIL import ExifTags, Image

MIB = 1024 * 1024
RED = (220, 20, 20)
BLUE = (20, 20, 220)


def _jpeg(image: Image.Image, quality: int = 92, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **options)
    return out.getvalue()


def _png(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **options)
    return out.getvalue()


def noisy_rgb(width: int, height: int) -> Image.Image:
    """A gradient drowned in noise: the worst case for JPEG, like a grainy night shot."""
    base = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    mirrored = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return Image.merge(
        "RGB", (Image.blend(base, noise, 0.5), Image.blend(mirrored, noise, 0.3), noise)
    )


@functools.cache
def photo_12mp() -> bytes:
    """A 12-megapixel (4000x3000) JPEG of about 6.6 MB: over the 5 MB limit as picked."""
    return _jpeg(noisy_rgb(4000, 3000))


@functools.cache
def photo(width: int, height: int) -> bytes:
    return _jpeg(noisy_rgb(width, height))


def small_jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = BLUE) -> bytes:
    """A tiny JPEG with no metadata at all."""
    return _jpeg(Image.new("RGB", (width, height), color))


def rotated_gps_jpeg(width: int = 400, height: int = 300) -> bytes:
    """Stored landscape with EXIF orientation 6 (display rotated 90° clockwise) and GPS.

    The stored picture's left half is red and right half blue, so after the
    rotation is applied the top half must be red and the bottom half blue.
    """
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "ExamplePhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (37.0, 46.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (122.0, 25.0, 10.0)
    return _jpeg(image, exif=exif)


def transparent_png(width: int = 256, height: int = 256, *, noisy: bool = False) -> bytes:
    """An RGBA PNG whose left half is fully see-through (noisy: several MB)."""
    rgb = noisy_rgb(width, height) if noisy else Image.new("RGB", (width, height), RED)
    alpha = Image.new("L", (width, height), 255)
    alpha.paste(0, (0, 0, width // 2, height))
    rgb.putalpha(alpha)
    return _png(rgb)


def opaque_png(width: int, height: int) -> bytes:
    """An RGB PNG of a noisy picture: a photo saved as PNG (large)."""
    return _png(noisy_rgb(width, height))


def animated_gif(
    width: int = 64, height: int = 64, frames: int = 4, *, noisy: bool = False
) -> bytes:
    """An animated GIF; noisy frames barely compress, so it gets large quickly."""
    images = [
        noisy_rgb(width, height).rotate(index * 90)
        if noisy
        else Image.new("RGB", (width, height), (index * 60, 0, 0))
        for index in range(frames)
    ]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    """A valid JPEG header with the second half of its data missing (a cut download)."""
    whole = photo(800, 600)
    return whole[: len(whole) // 2]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few hundred bytes of PNG whose header claims ``width`` x ``height`` pixels.

    Decoding it for real would need gigabytes; the header alone must be enough
    to refuse it.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    # One row of zeros, compressed: the rest is "missing" but never read.
    idat = zlib.compress(b"\x00" * (1 + width * 3), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def pdf(size: int = 2048) -> bytes:
    """A PDF-shaped file of exactly ``size`` bytes."""
    head = b"%PDF-1.4\n1 0 obj\n<< /Length 0 >>\nstream\n"
    tail = b"\nendstream\nendobj\n%%EOF\n"
    return head + b"0" * max(size - len(head) - len(tail), 0) + tail


def windows_exe(size: int = 4096) -> bytes:
    """The start of a Windows program: "MZ", then a PE header offset."""
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    body = header + b"\x00" * 44 + struct.pack("<I", 0x80) + b"\x00" * (0x80 - 64) + b"PE\x00\x00"
    return body + b"\x00" * max(size - len(body), 0)


def office_zip(*members: str) -> bytes:
    """An OOXML-style ZIP with the given member names (tiny XML bodies)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            archive.writestr(member, "<xml/>")
    return out.getvalue()


def docx() -> bytes:
    return office_zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")


def xlsx() -> bytes:
    return office_zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml")


def pptx() -> bytes:
    return office_zip("[Content_Types].xml", "_rels/.rels", "ppt/presentation.xml")


def odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        # ODF: "mimetype" first and stored, so its text sits at a fixed offset.
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<xml/>", zipfile.ZIP_DEFLATED)
    return out.getvalue()


# What each legacy Office format's main stream starts with, and its name.
_OLE2_STREAMS = {
    "doc": (b"\xec\xa5\xc1\x00", "WordDocument"),  # the Word file information block
    "xls": (b"\x09\x08\x10\x00\x00\x06\x05\x00", "Workbook"),  # a BIFF8 BOF record
    "ppt": (b"\x0f\x00\xe8\x03", "PowerPoint Document"),  # a DocumentContainer record
}


def ole2(kind: str = "doc", stream: str | None = None) -> bytes:
    """A minimal OLE2 compound file: header, the main stream's first sector, a directory.

    ``stream`` overrides the directory entry's name (an .msi has other streams).
    """
    magic, name = _OLE2_STREAMS[kind]
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (512 - 8)
    first_sector = magic + b"\x00" * (512 - len(magic))
    entry_name = (stream or name).encode("utf-16-le") + b"\x00\x00"
    root = "Root Entry".encode("utf-16-le") + b"\x00\x00"
    directory = root.ljust(128, b"\x00") + entry_name.ljust(128, b"\x00")
    return header + first_sector + directory.ljust(512, b"\x00")


def iso_media(brand: bytes, size: int = 1024) -> bytes:
    """An ISO base media file (MP4, M4A, 3GP, HEIC) with major brand ``brand``."""
    ftyp = struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"isom"
    return ftyp + b"\x00" * max(size - len(ftyp), 0)


def vcard() -> bytes:
    return b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lopez\r\nTEL:+14155550123\r\nEND:VCARD\r\n"


def icalendar() -> bytes:
    return (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
        b"BEGIN:VEVENT\r\nSUMMARY:Visit\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


# One valid sample per allowed extension, for the content-sniffing tests.
SAMPLES: dict[str, bytes] = {}


def samples() -> dict[str, bytes]:
    if not SAMPLES:
        SAMPLES.update(
            {
                ".jpg": small_jpeg(),
                ".jpeg": small_jpeg(),
                ".png": transparent_png(16, 16),
                ".gif": animated_gif(8, 8, 2),
                ".heic": iso_media(b"heic"),
                ".mp4": iso_media(b"mp42"),
                ".mpeg": b"\x00\x00\x01\xba" + b"\x00" * 60,
                ".mpg": b"\x00\x00\x01\xb3" + b"\x00" * 60,
                ".3gp": iso_media(b"3gp4"),
                ".mp3": b"ID3\x04\x00" + b"\x00" * 60,
                ".wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40,
                ".ogg": b"OggS\x00\x02" + b"\x00" * 60,
                ".aac": b"\xff\xf1\x50\x80" + b"\x00" * 60,
                ".m4a": iso_media(b"M4A "),
                ".amr": b"#!AMR\n" + b"\x00" * 60,
                ".pdf": pdf(),
                ".doc": ole2("doc"),
                ".xls": ole2("xls"),
                ".ppt": ole2("ppt"),
                ".docx": docx(),
                ".xlsx": xlsx(),
                ".pptx": pptx(),
                ".odt": odt(),
                ".txt": "Hello — see you at 5.\n".encode(),
                ".csv": "name,phone\nJosé,+14155550123\n".encode("cp1252"),
                ".vcf": vcard(),
                ".ics": icalendar(),
            }
        )
    return SAMPLES
