from __future__ import annotations

import pytest

from services import limits
from services.attachments import (
    AttachmentSource,
    compress_for_resend,
    compress_for_resend_async,
    prepare_attachment,
)
from services.attachments.checks import PreparedAttachment
from services.attachments.resend import RESEND_SHRINK
from services.rules import ViolationCode
from tests.services import attachment_files as files


def _sent_photo() -> bytes:
    """A photo as the first send uploaded it: compressed to about 500 KB."""
    item = prepare_attachment(AttachmentSource("photo.jpg", files.photo(2400, 1800)))
    assert isinstance(item, PreparedAttachment)
    return item.data


def test_an_undelivered_photo_comes_back_smaller_than_before() -> None:
    sent = _sent_photo()
    check = compress_for_resend([AttachmentSource("photo.jpg", sent)])
    assert check.ok
    (item,) = check.prepared
    assert item.compressed
    assert item.size <= len(sent) * RESEND_SHRINK
    assert item.original is sent


def test_the_whole_message_fits_the_budget_with_files_that_cannot_shrink() -> None:
    budget = 400 * 1024
    document = files.pdf(150 * 1024)
    check = compress_for_resend(
        [
            AttachmentSource("a.jpg", _sent_photo()),
            AttachmentSource("terms.pdf", document),
            AttachmentSource("b.jpg", _sent_photo()),
        ],
        max_total_bytes=budget,
    )
    assert check.ok
    assert [item.name for item in check.prepared] == ["a.jpg", "terms.pdf", "b.jpg"]
    assert check.prepared[1].data is document
    assert check.total_size <= budget


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", files.pdf(700 * 1024)),
        ("clip.mp4", files.iso_media(b"isom", 900 * 1024)),
        ("IMG_2.heic", files.iso_media(b"heic", 600 * 1024)),
        ("party.gif", files.animated_gif(200, 200, 4, noisy=True)),
    ],
)
def test_files_that_cannot_shrink_get_a_clear_reason(name: str, data: bytes) -> None:
    check = compress_for_resend([AttachmentSource(name, data)])
    assert check.prepared == ()
    (violation,) = check.violations
    assert violation.code is ViolationCode.ATTACHMENTS_TOO_LARGE
    assert violation.message.startswith(f"“{name}” (")
    assert "only still pictures can be compressed" in violation.message


def test_files_that_fill_the_budget_alone_are_named() -> None:
    check = compress_for_resend(
        [
            AttachmentSource("a.jpg", _sent_photo()),
            AttachmentSource("big.pdf", files.pdf(limits.RELIABLE_MMS_BYTES)),
        ]
    )
    assert [v.subject_id for v in check.violations] == ["big.pdf"]


@pytest.mark.anyio
async def test_the_async_version_gives_the_same_answer() -> None:
    check = await compress_for_resend_async([AttachmentSource("report.pdf", files.pdf(700 * 1024))])
    assert [v.subject_id for v in check.violations] == ["report.pdf"]
