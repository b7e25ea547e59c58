"""Safe file names for uploads and downloads.

A name comes from another device (a file picker, an inbound MMS, a URL) and
ends up on this one's disk when the user downloads it, so it is treated as
hostile: only the last path component is kept, and the result is valid on
Windows, macOS, Linux, iOS and Android alike.
"""

from __future__ import annotations

import re
import unicodedata

FALLBACK_NAME = "attachment"
# Filesystems cap names at 255 bytes; stay well below to leave room for the
# " (2)" suffixes download folders add.
MAX_NAME_BYTES = 200
# A longer "extension" is just part of a long name, not a type we could keep.
MAX_EXTENSION_CHARS = 10

# Characters Windows refuses in names (the path separators are handled first).
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
# Device names Windows reserves whatever the extension ("con.txt" too).
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
    | {"com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³", "conin$", "conout$"}
)


def split_extension(name: str) -> tuple[str, str]:
    """Split ``name`` into (stem, extension with its dot, lower-cased).

    ``".png"`` is read as a nameless PNG rather than a hidden file called
    "png", because that is what a picker hands over when a name is lost.
    """
    dot = name.rfind(".")
    if dot < 0 or dot == len(name) - 1:
        return name, ""
    extension = name[dot:]
    if len(extension) > MAX_EXTENSION_CHARS + 1 or " " in extension:
        return name, ""
    return name[:dot], extension.lower()


def _visible(char: str) -> bool:
    # Cc: control characters; Cf: format characters such as U+202E (the
    # right-to-left override behind "photo‮gnp.exe" tricks) and zero-widths.
    return unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn"}


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore")


def safe_filename(name: str | None, *, fallback: str = FALLBACK_NAME) -> str:
    """A file name safe to upload under and to save to disk.

    ``"../../etc/passwd.png"`` becomes ``"passwd.png"``; control and bidi
    characters go, characters Windows forbids become ``_``, reserved device
    names get a leading ``_``, overlong names are cut keeping the extension,
    and nothing usable left gives ``fallback`` (keeping the extension).
    """
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(char for char in text if _visible(char))
    # Both separators, whatever the platform: a Windows path arrives on Linux too.
    text = re.split(r"[/\\]", text)[-1]
    text = _WINDOWS_FORBIDDEN.sub("_", text)
    text = " ".join(text.split())  # tabs and runs of spaces to one space
    # Windows drops trailing dots and spaces; leading dots hide files on Unix.
    text = text.strip(" .") if not _is_bare_extension(text) else text.strip(" ")
    stem, extension = split_extension(text)
    stem = stem.strip(" .")
    if not stem:
        stem = fallback
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = _truncate_utf8(stem, MAX_NAME_BYTES - len(extension.encode("utf-8"))).rstrip(" .")
    return f"{stem or fallback}{extension}"


def _is_bare_extension(text: str) -> bool:
    """``".png"``: a dot then a short extension and nothing else."""
    return text.startswith(".") and text.count(".") == 1 and bool(split_extension(text)[1])
