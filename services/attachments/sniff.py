"""Content sniffing: is a file what its extension says it is?

The check is deliberately about the *family* of a file, not its codec: the
point is to refuse a program or archive renamed ``.jpg``, not to police which
MP4 brand a phone wrote. Nothing is extracted or decoded beyond a few headers;
office documents are opened as ZIP directories only.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable

import filetype

# Text checks read a bounded prefix: enough to tell text from binary.
TEXT_SNIFF_BYTES = 64 * 1024
# Share of control characters (other than whitespace) text may contain.
MAX_CONTROL_SHARE = 0.01

# Markup in a "text" file: a web page or SVG that a browser would run.
_MARKUP = re.compile(r"<\s*(script|html|svg|iframe|body|!doctype)", re.IGNORECASE)
TEXT_EXTENSIONS = frozenset({".txt", ".csv", ".vcf", ".ics"})

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})

# What a renamed file really is, in words, for the reason shown to the user.
_DESCRIPTIONS = {
    "exe": "a Windows program",
    "elf": "a program",
    "msi": "an installer",
    "zip": "a ZIP archive",
    "rar": "a RAR archive",
    "7z": "a 7-Zip archive",
    "gz": "a compressed archive",
    "tar": "an archive",
    "pdf": "a PDF",
    "jpg": "a JPEG image",
    "png": "a PNG image",
    "gif": "a GIF image",
    "webp": "a WebP image",
    "heic": "a HEIC image",
}


def _jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def _gif(data: bytes) -> bool:
    return data[:6] in (b"GIF87a", b"GIF89a")


def _iso_media(data: bytes) -> bool:
    # MP4, M4A, 3GP and MOV are all ISO base media files: an "ftyp" box first.
    return data[4:8] == b"ftyp"


def _heif(data: bytes) -> bool:
    if not _iso_media(data):
        return False
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 256)]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}
    return bool(brands & _HEIF_BRANDS)


def _mpeg_video(data: bytes) -> bool:
    return data[:3] == b"\x00\x00\x01" and len(data) > 3 and data[3] in (0xBA, 0xB3)


def _mp3(data: bytes) -> bool:
    # An ID3 tag, or an MPEG audio frame sync (11 set bits).
    return data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0)


def _aac(data: bytes) -> bool:
    adts = len(data) > 1 and data[0] == 0xFF and data[1] in (0xF1, 0xF9)
    return adts or data.startswith((b"ADIF", b"ID3"))


def _wav(data: bytes) -> bool:
    return data[:4] in (b"RIFF", b"RIFX", b"RF64") and data[8:12] == b"WAVE"


def _ogg(data: bytes) -> bool:
    return data.startswith(b"OggS")


def _amr(data: bytes) -> bool:
    return data.startswith(b"#!AMR")


def _pdf(data: bytes) -> bool:
    # The spec lets "%PDF-" sit anywhere in the first kilobyte.
    return b"%PDF-" in data[:1024]


def _ole2_stream(*names: str) -> Callable[[bytes], bool]:
    """An OLE2 compound file holding a stream called one of ``names``.

    .doc, .xls and .ppt share the container with installers (.msi) and
    Outlook messages; the main stream's name tells them apart. Directory
    entries are 128 bytes, aligned to 128 after the 512-byte header, each
    starting with its name in UTF-16.
    """
    patterns = [name.encode("utf-16-le") + b"\x00\x00" for name in names]

    def check(data: bytes) -> bool:
        if not data.startswith(_OLE2):
            return False
        for pattern in patterns:
            at = data.find(pattern, 512)
            while at >= 0:
                if at % 128 == 0:
                    return True
                at = data.find(pattern, at + 1)
        return False

    return check


def _zip_members(data: bytes) -> list[str] | None:
    """Member names from the ZIP's central directory, without extracting."""
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def _ooxml(folder: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        members = _zip_members(data)
        if members is None or "[Content_Types].xml" not in members:
            return False
        return any(member.startswith(folder) for member in members)

    return check


def _odt(data: bytes) -> bool:
    # ODF stores its type uncompressed as the first member, "mimetype".
    if _zip_members(data) is None:
        return False
    return data[30:38] == b"mimetype" and b"application/vnd.oasis.opendocument.text" in data[:100]


def decode_text_prefix(data: bytes) -> str | None:
    """The leading text of ``data``, or None when it is not text.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such;
    anything else without NUL bytes as Windows-1252, which is what Excel and
    Outlook still write for CSV and vCard files.
    """
    prefix = data[:TEXT_SNIFF_BYTES]
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if prefix.startswith(bom):
            return _decode(prefix[len(bom) :], encoding)
    if b"\x00" in prefix:
        return None
    return _decode(prefix, "utf-8-sig") or _decode(prefix, "cp1252")


def _decode(prefix: bytes, encoding: str) -> str | None:
    # An incremental decoder tolerates a character cut off by the prefix.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text: str = decoder.decode(prefix, final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f")
    if text and controls / len(text) > MAX_CONTROL_SHARE:
        return None
    return text


def _plain_text(data: bytes) -> str | None:
    text = decode_text_prefix(data)
    # The backend refuses markup in text too: a browser would render it.
    return None if text is None or _MARKUP.search(text) else text


def _text(data: bytes) -> bool:
    return _plain_text(data) is not None


def _text_starting(marker: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        text = _plain_text(data)
        return text is not None and text.lstrip().upper().startswith(marker)

    return check


def text_as_utf8(data: bytes) -> bytes:
    """A text file's bytes as UTF-8 without BOM (what phones and the backend read).

    UTF-8 comes back as the same object; UTF-16 and Windows-1252 (Excel's
    CSVs, Outlook's vCards) are transcoded; anything undecodable is returned
    unchanged for the content check to judge.
    """
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _transcode(data[len(bom) :], encoding) or data
    if data.startswith(codecs.BOM_UTF8):
        return _transcode(data, "utf-8-sig") or data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _transcode(data, "cp1252") or data
    return data


def _transcode(data: bytes, encoding: str) -> bytes | None:
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError:
        return None


# Extension → (a check on the content, what the file should be, in words).
_CHECKS: dict[str, tuple[Callable[[bytes], bool], str]] = {
    ".jpg": (_jpeg, "a JPEG image"),
    ".jpeg": (_jpeg, "a JPEG image"),
    ".png": (_png, "a PNG image"),
    ".gif": (_gif, "a GIF image"),
    ".heic": (_heif, "a HEIC image"),
    ".mp4": (_iso_media, "an MP4 video"),
    ".mpeg": (_mpeg_video, "an MPEG video"),
    ".mpg": (_mpeg_video, "an MPEG video"),
    ".3gp": (_iso_media, "a 3GP video"),
    ".mp3": (_mp3, "an MP3 audio file"),
    ".wav": (_wav, "a WAV audio file"),
    ".ogg": (_ogg, "an Ogg audio file"),
    ".aac": (_aac, "an AAC audio file"),
    ".m4a": (_iso_media, "an M4A audio file"),
    ".amr": (_amr, "an AMR audio file"),
    ".pdf": (_pdf, "a PDF"),
    ".doc": (_ole2_stream("WordDocument"), "a Word document"),
    ".xls": (_ole2_stream("Workbook", "Book"), "an Excel workbook"),
    ".ppt": (_ole2_stream("PowerPoint Document"), "a PowerPoint presentation"),
    ".docx": (_ooxml("word/"), "a Word document"),
    ".xlsx": (_ooxml("xl/"), "an Excel workbook"),
    ".pptx": (_ooxml("ppt/"), "a PowerPoint presentation"),
    ".odt": (_odt, "an OpenDocument text"),
    ".txt": (_text, "a text file"),
    ".csv": (_text, "a text (CSV) file"),
    ".vcf": (_text_starting("BEGIN:VCARD"), "a contact card (vCard)"),
    ".ics": (_text_starting("BEGIN:VCALENDAR"), "a calendar file"),
}


def expected_kind(extension: str) -> str | None:
    """What a file with ``extension`` should be, in words (None: not allowed)."""
    entry = _CHECKS.get(extension.lower())
    return entry[1] if entry else None


def describe_content(data: bytes) -> str:
    """What ``data`` looks like, in words, for a refusal message."""
    if not data:
        return "an empty file"
    kind = filetype.guess(data[:8192])
    if kind is None:
        text = decode_text_prefix(data)
        if text is not None and _MARKUP.search(text):
            return "a web page or script"
        return "something else" if text is None else "plain text"
    extension = str(kind.extension)
    return _DESCRIPTIONS.get(extension, f"a .{extension} file")


def content_matches(extension: str, data: bytes) -> bool:
    """Whether ``data`` is what ``extension`` promises (False for unknown extensions)."""
    entry = _CHECKS.get(extension.lower())
    return entry is not None and bool(data) and entry[0](data)


def mismatch_reason(name: str, extension: str, data: bytes) -> str | None:
    """Why ``data`` can't be sent as ``name``, in words; None when it matches."""
    if content_matches(extension, data):
        return None
    expected = expected_kind(extension) or f"a {extension} file"
    return (
        f"“{name}” is not really {expected}: its contents look like "
        f"{describe_content(data)}. It wasn't attached."
    )
