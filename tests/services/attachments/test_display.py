from __future__ import annotations

import pytest

from services import limits
from services.attachments.display import IconCategory, human_size, icon_category


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (1264, "1.2 KB"),
        (limits.RELIABLE_MMS_BYTES, "500 KB"),
        (1_258_291, "1.2 MB"),
        (limits.MAX_ATTACHMENT_TOTAL_BYTES, "5 MB"),
        (6 * limits.MIB + 1, "6 MB"),
        (10_433_332, "10 MB"),
        (3 * 1024**3, "3 GB"),
    ],
)
def test_sizes_read_as_people_say_them(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("mime", "name", "category"),
    [
        ("image/jpeg", None, IconCategory.IMAGE),
        ("image/heic", None, IconCategory.IMAGE),
        ("video/mp4", None, IconCategory.VIDEO),
        ("audio/amr", None, IconCategory.AUDIO),
        ("application/pdf", None, IconCategory.PDF),
        ("application/msword", None, IconCategory.DOC),
        (limits.ALLOWED_ATTACHMENT_TYPES[".docx"], None, IconCategory.DOC),
        ("application/vnd.oasis.opendocument.text", None, IconCategory.DOC),
        (limits.ALLOWED_ATTACHMENT_TYPES[".xlsx"], None, IconCategory.SHEET),
        ("text/csv; charset=utf-8", None, IconCategory.SHEET),
        (limits.ALLOWED_ATTACHMENT_TYPES[".pptx"], None, IconCategory.SLIDES),
        ("text/plain", None, IconCategory.TEXT),
        ("text/vcard", None, IconCategory.CONTACT),
        ("text/x-vcard", None, IconCategory.CONTACT),
        ("text/calendar", None, IconCategory.CALENDAR),
        ("application/octet-stream", "meeting.ics", IconCategory.CALENDAR),
        ("", "clip.MP4", IconCategory.VIDEO),
        (None, None, IconCategory.OTHER),
        ("application/zip", "archive.zip", IconCategory.OTHER),
    ],
)
def test_chips_get_an_icon_by_type(
    mime: str | None, name: str | None, category: IconCategory
) -> None:
    assert icon_category(mime, name) is category


def test_every_allowed_type_has_a_specific_icon() -> None:
    for extension, mime in limits.ALLOWED_ATTACHMENT_TYPES.items():
        assert icon_category(mime) is not IconCategory.OTHER, extension
