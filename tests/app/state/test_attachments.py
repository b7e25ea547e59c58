"""The composer's tray: files checked before upload, shown as they will be sent."""

from __future__ import annotations

import asyncio

import pytest

from app.state.attachments import AttachmentTray, PickedFile
from services.attachments import AttachmentCheck, AttachmentSource, check_attachments_async
from services.attachments.display import IconCategory
from services.models import GroupLimits
from tests.services import attachment_files as files

pytestmark = pytest.mark.anyio


def source(name: str, data: bytes) -> AttachmentSource:
    return AttachmentSource(name=name, data=data)


async def test_two_pictures_and_a_pdf_are_ready_with_thumbnails_and_sizes() -> None:
    tray = AttachmentTray()
    seen: list[list[PickedFile]] = []
    tray.listen(lambda what, payload: seen.append(list(payload)))
    await tray.add(
        [
            source("beach.jpg", files.photo(3000, 2000)),
            source("logo.png", files.transparent_png()),
            source("plan.pdf", files.pdf(40_000)),
        ]
    )
    # First the row shows every file as "checking", then as it will be sent.
    assert [f.checking for f in seen[0]] == [True, True, True]
    beach, logo, plan = tray.files
    assert not tray.checking and tray.blocker is None and tray.problem is None
    assert beach.is_image and beach.thumbnail is not None and beach.note is not None
    assert beach.note.startswith("Compressed from ")
    assert beach.size <= 500 * 1024
    assert logo.is_image and logo.thumbnail is not None
    assert plan.icon is IconCategory.PDF and plan.thumbnail is None
    assert plan.size_text == "39 KB" and plan.note is None
    assert "plan.pdf, 39 KB" in plan.label


async def test_a_refused_file_is_said_in_words_and_not_kept() -> None:
    tray = AttachmentTray()
    await tray.add([source("setup.jpg", files.windows_exe()), source("a.pdf", files.pdf())])
    assert [f.name for f in tray.files] == ["a.pdf"]
    assert tray.problem is not None and "setup.jpg" in tray.problem
    assert tray.blocker is None  # the file that is left can go
    tray.remove(tray.files[0].key)
    assert tray.files == [] and tray.problem is None


async def test_more_than_5_mb_in_all_blocks_send_until_a_file_is_removed() -> None:
    tray = AttachmentTray()
    await tray.add([source("one.pdf", files.pdf(3_000_000))])
    await tray.add([source("two.pdf", files.pdf(3_000_000))])
    assert len(tray.files) == 2
    assert tray.blocker is not None and "5 MB" in tray.blocker
    assert tray.problem == tray.blocker
    tray.remove(tray.files[0].key)
    assert tray.blocker is None


async def test_on_telnyx_the_tray_holds_a_message_to_under_1_mb() -> None:
    tray = AttachmentTray(carrier=GroupLimits(max_participants=8, max_media_bytes=999_999))
    await tray.add([source("one.pdf", files.pdf(600_000))])
    assert tray.blocker is None
    await tray.add([source("two.pdf", files.pdf(600_000))])
    assert tray.blocker is not None and "at most 977 KB" in tray.blocker


async def test_an_eleventh_file_is_refused_by_the_count() -> None:
    tray = AttachmentTray()
    await tray.add([source(f"f{i}.pdf", files.pdf()) for i in range(10)])
    assert tray.blocker is None
    await tray.add([source("one-more.pdf", files.pdf())])
    assert tray.blocker is not None and "10" in tray.blocker


async def test_send_waits_while_files_are_checked() -> None:
    gate = asyncio.Event()

    async def slow(sources: list[AttachmentSource]) -> AttachmentCheck:
        await gate.wait()
        return await check_attachments_async(sources)

    tray = AttachmentTray(check=slow)
    adding = asyncio.ensure_future(tray.add([source("a.pdf", files.pdf())]))
    await asyncio.sleep(0)
    assert tray.checking and tray.blocker is not None and "checked" in tray.blocker
    gate.set()
    await adding
    assert tray.blocker is None


async def test_take_empties_the_row_and_put_back_restores_it() -> None:
    tray = AttachmentTray()
    await tray.add([source("a.pdf", files.pdf()), source("b.png", files.transparent_png())])
    taken = tray.take()
    assert [p.name for p in taken] == ["a.pdf", "b.png"] and tray.files == []
    tray.put_back(taken)
    assert [f.name for f in tray.files] == ["a.pdf", "b.png"]


async def test_a_compressed_picture_can_go_as_picked_instead() -> None:
    tray = AttachmentTray()
    await tray.add([source("beach.jpg", files.photo(2000, 1500))])
    picked = tray.files[0]
    assert picked.note and picked.note.startswith("Compressed")
    tray.send_as_file(picked.key)
    assert tray.files[0].prepared is not None and not tray.files[0].prepared.compressed
    assert tray.files[0].size > picked.size


async def test_send_original_is_offered_on_a_compressed_picture_and_says_what_it_does() -> None:
    tray = AttachmentTray()
    await tray.add([source("beach.jpg", files.photo(2000, 1500)), source("a.pdf", files.pdf())])
    picture, pdf = tray.files
    assert picture.can_send_original and not pdf.can_send_original and pdf.original_hint == ""
    assert "full quality" in picture.original_hint and "location" in picture.original_hint
    tray.send_as_file(picture.key)
    assert not tray.files[0].can_send_original  # sent as picked now: nothing more to offer


async def test_send_original_is_refused_with_the_reason_when_the_original_is_over_5_mb() -> None:
    tray = AttachmentTray()
    await tray.add([source("IMG_0001.jpg", files.photo_12mp())])
    (picture,) = tray.files
    assert picture.can_send_original and "over the 5 MB limit" in picture.original_hint
    tray.send_as_file(picture.key)
    assert tray.files[0].prepared is not None and tray.files[0].prepared.compressed
    assert tray.problem is not None and "6.3 MB" in tray.problem
