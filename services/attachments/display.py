"""What the UI shows for a file: its size in words and the icon for its chip."""

from __future__ import annotations

from enum import StrEnum

from services.attachments.names import split_extension
from services.limits import ALLOWED_ATTACHMENT_TYPES

# Sizes count in 1024s, with the labels people know, so that the limits read
# the way the contract states them: 5 * 1024 * 1024 bytes shows as "5 MB" and
# the reliable MMS size (500 * 1024) as "500 KB".
_UNITS = ("KB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """``1234567`` → ``"1.2 MB"``; one decimal below 10, none above."""
    if size < 1024:
        return "1 byte" if size == 1 else f"{max(size, 0)} bytes"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    # Round first, so 9.96 MB shows as "10 MB" rather than "10.0 MB".
    text = f"{value:.1f}" if round(value, 1) < 10 else f"{value:.0f}"
    return f"{text.removesuffix('.0')} {unit}"


class IconCategory(StrEnum):
    """Which icon a file chip shows."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    PDF = "pdf"
    DOC = "doc"
    SHEET = "sheet"
    SLIDES = "slides"
    TEXT = "text"
    CONTACT = "contact"
    CALENDAR = "calendar"
    OTHER = "other"


_BY_MIME: dict[str, IconCategory] = {
    "application/pdf": IconCategory.PDF,
    "application/msword": IconCategory.DOC,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": IconCategory.DOC,
    "application/vnd.oasis.opendocument.text": IconCategory.DOC,
    "application/rtf": IconCategory.DOC,
    "application/vnd.ms-excel": IconCategory.SHEET,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": IconCategory.SHEET,
    "application/vnd.oasis.opendocument.spreadsheet": IconCategory.SHEET,
    "text/csv": IconCategory.SHEET,
    "application/vnd.ms-powerpoint": IconCategory.SLIDES,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        IconCategory.SLIDES
    ),
    "application/vnd.oasis.opendocument.presentation": IconCategory.SLIDES,
    "text/vcard": IconCategory.CONTACT,
    "text/x-vcard": IconCategory.CONTACT,
    "text/directory": IconCategory.CONTACT,
    "text/calendar": IconCategory.CALENDAR,
    "application/ics": IconCategory.CALENDAR,
}

_BY_TOP_LEVEL = {
    "image": IconCategory.IMAGE,
    "video": IconCategory.VIDEO,
    "audio": IconCategory.AUDIO,
    "text": IconCategory.TEXT,
}


def icon_category(mime: str | None, name: str | None = None) -> IconCategory:
    """The chip icon for a file, by MIME type; by name when the type is vague.

    Inbound media often arrives as ``application/octet-stream``, so the file
    name's extension is the fallback.
    """
    essence = (mime or "").split(";")[0].strip().lower()
    if essence in _BY_MIME:
        return _BY_MIME[essence]
    top = essence.split("/")[0]
    if top in _BY_TOP_LEVEL:
        return _BY_TOP_LEVEL[top]
    if name:
        guessed = ALLOWED_ATTACHMENT_TYPES.get(split_extension(name)[1])
        if guessed and guessed != essence:
            return icon_category(guessed)
    return IconCategory.OTHER
