from __future__ import annotations

import codecs

import pytest

from services import limits
from services.attachments.sniff import (
    content_matches,
    expected_kind,
    mismatch_reason,
    text_as_utf8,
)
from tests.services import attachment_files as files


def test_every_allowed_extension_has_a_content_check() -> None:
    assert set(files.samples()) == set(limits.ALLOWED_ATTACHMENT_TYPES)
    for extension in limits.ALLOWED_ATTACHMENT_TYPES:
        assert expected_kind(extension), extension


@pytest.mark.parametrize("extension", sorted(limits.ALLOWED_ATTACHMENT_TYPES))
def test_a_genuine_file_passes(extension: str) -> None:
    assert content_matches(extension, files.samples()[extension])
    assert mismatch_reason(f"file{extension}", extension, files.samples()[extension]) is None


@pytest.mark.parametrize("extension", sorted(limits.ALLOWED_ATTACHMENT_TYPES))
def test_a_windows_program_fails_whatever_its_name(extension: str) -> None:
    assert not content_matches(extension, files.windows_exe())


def test_an_exe_renamed_jpg_is_refused_saying_what_it_is() -> None:
    reason = mismatch_reason("holiday.jpg", ".jpg", files.windows_exe())
    assert reason == (
        "“holiday.jpg” is not really a JPEG image: its contents look like a Windows "
        "program. It wasn't attached."
    )


@pytest.mark.parametrize(
    ("extension", "data"),
    [
        (".png", files.small_jpeg()),  # a JPEG named .png
        (".pdf", b""),  # empty
        (".docx", files.xlsx()),  # a workbook named .docx
        (".xlsx", files.office_zip("xl/workbook.xml")),  # no [Content_Types].xml
        (".docx", files.office_zip("[Content_Types].xml", "word")[:40]),  # a cut-off ZIP
        (".odt", files.docx()),
        (".doc", files.ole2("xls")),  # a workbook named .doc
        (".xls", files.ole2("xls", stream="MsiFile")),  # an installer is OLE2 too
        (".ppt", files.ole2("doc")),
        (".heic", files.iso_media(b"mp42")),  # a video named .heic
        (".txt", b"text\x00with\x00nuls"),
        (".csv", bytes(range(1, 32)) * 10),  # control characters, not text
        (".vcf", b"Name: Ana\r\nPhone: 555\r\n"),
        (".ics", files.vcard()),
        (".mp3", files.pdf()),
        (".txt", b"<html><body>hi</body></html>"),  # a web page named .txt
        (".csv", b"a,b\n< script >alert(1)</script>\n"),
        (".zip", files.office_zip("a.txt")),  # not an allowed extension at all
    ],
)
def test_files_that_are_not_what_they_say_are_refused(extension: str, data: bytes) -> None:
    assert not content_matches(extension, data)
    assert mismatch_reason(f"file{extension}", extension, data) is not None


@pytest.mark.parametrize(
    ("extension", "data"),
    [
        (".txt", codecs.BOM_UTF16_LE + "Grüße\r\n".encode("utf-16-le")),
        (".csv", codecs.BOM_UTF8 + b"a,b\n1,2\n"),
        (".vcf", codecs.BOM_UTF8 + b"\r\n  begin:vcard\r\nEND:VCARD\r\n"),
        (".ics", b"\n" + files.icalendar()),
        (".pdf", b"\r\n\r\n" + files.pdf()),  # junk before the header is allowed
        (".txt", ("x" * (64 * 1024 - 1) + "é" + "y" * 10).encode()),  # a character cut at 64 KB
    ],
)
def test_text_and_headers_are_read_leniently(extension: str, data: bytes) -> None:
    assert content_matches(extension, data)


def test_markup_is_described_as_such() -> None:
    reason = mismatch_reason("notes.txt", ".txt", b"<!DOCTYPE html><p>x</p>")
    assert reason is not None and "a web page or script" in reason


@pytest.mark.parametrize(
    ("data", "utf8"),
    [
        ("José,Zoë\n".encode("cp1252"), "José,Zoë\n".encode()),
        (codecs.BOM_UTF16_LE + "Grüße".encode("utf-16-le"), "Grüße".encode()),
        (codecs.BOM_UTF16_BE + "Grüße".encode("utf-16-be"), "Grüße".encode()),
        (codecs.BOM_UTF8 + b"plain", b"plain"),
    ],
)
def test_text_is_sent_as_utf8(data: bytes, utf8: bytes) -> None:
    assert text_as_utf8(data) == utf8


def test_utf8_text_is_not_copied() -> None:
    data = "ok ✓".encode()
    assert text_as_utf8(data) is data
