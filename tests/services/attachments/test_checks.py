from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from services import limits
from services.attachments import (
    AttachmentSource,
    PreparedAttachment,
    batch_violations,
    check_attachments,
    check_attachments_async,
    prepare_attachment,
    prepare_attachment_async,
)
from services.attachments.display import IconCategory
from services.rules import Violation, ViolationCode
from tests.services import attachment_files as files


def _prepared(outcome: PreparedAttachment | Violation) -> PreparedAttachment:
    assert isinstance(outcome, PreparedAttachment), outcome
    return outcome


def _refused(outcome: PreparedAttachment | Violation) -> Violation:
    assert isinstance(outcome, Violation), outcome
    return outcome


def test_a_12_megapixel_photo_is_compressed_and_its_original_kept() -> None:
    original = files.photo_12mp()
    item = _prepared(prepare_attachment(AttachmentSource("IMG_0001.JPG", original)))

    assert item.name == "IMG_0001.jpg"
    assert item.mime == "image/jpeg"
    assert item.compressed
    assert item.size <= limits.RELIABLE_MMS_BYTES
    assert item.original is original and item.original_size == len(original)
    assert item.is_image and item.category is IconCategory.IMAGE
    assert item.width == 1920 and item.height == 1440
    # Too big to send as picked: "send as file instead" explains why not.
    as_file = _refused(item.as_file())
    assert as_file.code is ViolationCode.ATTACHMENTS_TOO_LARGE
    assert "6.3 MB" in as_file.message


def test_send_as_file_gives_back_the_picked_bytes() -> None:
    original = files.photo(2000, 1500)
    item = _prepared(prepare_attachment(AttachmentSource("pic.jpeg", original)))
    assert item.compressed and item.name == "pic.jpeg"

    as_file = _prepared(item.as_file())

    assert as_file.data is original
    assert not as_file.compressed
    assert as_file.note is not None and "may not reach every phone" in as_file.note


def test_a_large_opaque_png_is_renamed_to_jpg() -> None:
    item = _prepared(prepare_attachment(AttachmentSource("shot.png", files.opaque_png(1600, 1200))))
    assert (item.name, item.mime, item.original_name) == ("shot.jpg", "image/jpeg", "shot.png")


def test_the_image_threshold_is_a_setting() -> None:
    source = AttachmentSource("a.jpg", files.photo(1200, 900))
    item = _prepared(prepare_attachment(source, image_max_bytes=150 * 1024))
    assert item.size <= 150 * 1024


def test_a_6_mb_pdf_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(files.pdf(6 * 1024 * 1024))
    violation = _refused(prepare_attachment(AttachmentSource("contract.pdf", path=path)))
    assert violation.code is ViolationCode.ATTACHMENTS_TOO_LARGE
    assert violation.message == (
        "“contract.pdf” is 6 MB; a message can carry at most 5 MB of files."
    )
    assert violation.subject_id == "contract.pdf"


def test_an_exe_renamed_jpg_is_refused_by_its_content() -> None:
    source = AttachmentSource("cute-cat.jpg", files.windows_exe(), key="pick-3")
    violation = _refused(prepare_attachment(source))
    assert violation.code is ViolationCode.ATTACHMENT_TYPE
    assert "Windows program" in violation.message
    assert violation.subject_id == "pick-3"


def test_a_truncated_jpeg_is_refused_clearly() -> None:
    violation = _refused(prepare_attachment(AttachmentSource("cut.jpg", files.truncated_jpeg())))
    assert violation.code is ViolationCode.ATTACHMENT_TYPE
    assert "damaged or incomplete" in violation.message


def test_a_decompression_bomb_is_refused() -> None:
    violation = _refused(prepare_attachment(AttachmentSource("bomb.png", files.png_bomb())))
    assert violation.code is ViolationCode.ATTACHMENTS_TOO_LARGE
    assert "far too large in pixels" in violation.message


def test_a_large_animated_gif_is_refused_and_a_small_one_sent_as_is() -> None:
    big = _refused(
        prepare_attachment(AttachmentSource("a.gif", files.animated_gif(400, 400, 8, noisy=True)))
    )
    assert big.code is ViolationCode.ATTACHMENTS_TOO_LARGE
    small_gif = files.animated_gif()
    small = _prepared(prepare_attachment(AttachmentSource("b.gif", small_gif)))
    assert small.data is small_gif and not small.compressed


def test_a_path_traversal_name_is_sanitised() -> None:
    item = _prepared(
        prepare_attachment(AttachmentSource("../../etc/passwd.png", files.transparent_png(32, 32)))
    )
    assert item.name == "passwd.png"
    assert item.key == "../../etc/passwd.png"


def test_a_type_outside_the_list_is_refused_by_name() -> None:
    violation = _refused(prepare_attachment(AttachmentSource("tools.zip", files.office_zip("a"))))
    assert violation.code is ViolationCode.ATTACHMENT_TYPE
    assert "tools.zip" in violation.message


def test_heic_passes_through_untouched_with_a_note_when_large() -> None:
    data = files.iso_media(b"heic", 800 * 1024)
    item = _prepared(prepare_attachment(AttachmentSource("IMG_1.HEIC", data)))
    assert (item.name, item.mime, item.compressed) == ("IMG_1.heic", "image/heic", False)
    assert item.data is data
    assert item.note == (
        "At 800 KB this may not reach every phone: carriers reliably deliver up to 500 KB."
    )


@pytest.mark.parametrize(
    ("name", "data", "category"),
    [
        ("card.vcf", files.vcard(), IconCategory.CONTACT),
        ("visit.ics", files.icalendar(), IconCategory.CALENDAR),
        ("notes.docx", files.docx(), IconCategory.DOC),
        ("clip.mp4", files.iso_media(b"isom"), IconCategory.VIDEO),
    ],
)
def test_documents_go_as_picked(name: str, data: bytes, category: IconCategory) -> None:
    item = _prepared(prepare_attachment(AttachmentSource(name, data)))
    assert item.data is data and item.note is None and item.category is category


def test_an_unreadable_path_is_refused(tmp_path: Path) -> None:
    violation = _refused(
        prepare_attachment(AttachmentSource("gone.pdf", path=tmp_path / "gone.pdf"))
    )
    assert "couldn't be read" in violation.message


def test_eleven_files_are_refused_before_any_is_read() -> None:
    sources = [AttachmentSource(f"{index}.pdf", files.pdf()) for index in range(11)]
    check = check_attachments(sources)
    assert not check.ok
    assert check.prepared == ()
    assert [v.code for v in check.violations] == [ViolationCode.TOO_MANY_ATTACHMENTS]
    assert "at most 10 files; remove 1" in check.violations[0].message


def test_ten_files_are_fine() -> None:
    check = check_attachments([AttachmentSource(f"{i}.pdf", files.pdf()) for i in range(10)])
    assert check.ok and len(check.prepared) == 10


def test_files_over_5_mb_in_total_are_refused_together() -> None:
    sources = [AttachmentSource(f"{i}.pdf", files.pdf(2 * 1024 * 1024)) for i in range(3)]
    check = check_attachments(sources)
    assert len(check.prepared) == 3
    assert [v.code for v in check.violations] == [ViolationCode.ATTACHMENTS_TOO_LARGE]
    assert check.total_size == 6 * 1024 * 1024
    assert batch_violations(check.prepared[:2]) == []


def test_a_mixed_message_keeps_the_good_files_and_names_the_bad() -> None:
    check = check_attachments(
        [
            AttachmentSource("photo.jpg", files.photo_12mp()),
            AttachmentSource("virus.jpg", files.windows_exe()),
            AttachmentSource("sticker.png", files.transparent_png()),
        ]
    )
    assert [item.name for item in check.prepared] == ["photo.jpg", "sticker.png"]
    assert [v.subject_id for v in check.violations] == ["virus.jpg"]


@pytest.mark.anyio
async def test_async_versions_run_in_a_worker_thread_so_the_loop_keeps_running() -> None:
    threads: list[int] = []
    ticks = 0
    loop_thread = threading.get_ident()

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    class Recording(AttachmentSource):
        def read(self) -> bytes:
            threads.append(threading.get_ident())
            return super().read()

    beating = asyncio.create_task(heartbeat())
    try:
        check = await check_attachments_async([Recording("p.jpg", files.photo(2000, 1500))])
        single = await prepare_attachment_async(Recording("q.pdf", files.pdf()))
    finally:
        beating.cancel()
    assert check.ok and isinstance(single, PreparedAttachment)
    assert threads and loop_thread not in threads
    assert ticks > 10  # the loop ran other work while Pillow compressed


def test_an_excel_csv_is_sent_as_utf8_and_its_original_kept() -> None:
    picked = "name,city\nJosé,Montréal\n".encode("cp1252")
    item = _prepared(prepare_attachment(AttachmentSource("list.csv", picked)))
    assert item.data == "name,city\nJosé,Montréal\n".encode()
    assert item.original is picked and not item.compressed
