"""Uploads: limits enforced while the body streams in, content sniffing, safe names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest

from services import limits
from services.api import ApiClient
from services.api.errors import NotFoundError, TooLargeError, UnsupportedTypeError, ValidationError
from services.api.upload import encode_upload
from services.server import seed_media
from services.server.embedded import EmbeddedTransport
from services.server.uploads import safe_name

pytestmark = pytest.mark.anyio


@pytest.fixture
async def crew_id(admin: ApiClient) -> str:
    page = await admin.search_conversations(limit=100)
    return next(c.id for c in page.conversations if c.name == "Weekend crew")


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\boot.ini.txt", "boot.ini.txt"),
        ("photo\u202egnp.jpg", "photognp.jpg"),
        (".hidden.PNG", "hidden.png"),
        ('a<b>:c"|?*.pdf', "a_b__c____.pdf"),
        ("", "attachment"),
    ],
)
def test_safe_name(given: str, safe: str) -> None:
    assert safe_name(given) == safe


async def test_uploaded_file_is_served_with_its_type(
    admin: ApiClient, crew_id: str, transport: EmbeddedTransport
) -> None:
    data = seed_media.sunset_jpeg()
    url = await admin.upload(crew_id, "sunset.jpg", data, "image/jpeg")
    assert url.endswith("/sunset.jpg")
    async with httpx.AsyncClient(transport=transport) as anonymous:
        served = await anonymous.get(url)  # no token: the unguessable id is enough
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"


async def test_unknown_attachment_id_is_404(raw: httpx.AsyncClient) -> None:
    answer = await raw.get("/attachments/not-a-real-id/x.png")
    assert answer.status_code == 404 and answer.json()["statusCode"] == 404


async def test_a_name_that_is_a_path_is_refused_and_nothing_is_stored(
    admin: ApiClient, crew_id: str, transport: EmbeddedTransport
) -> None:
    folder = transport.server.files_dir
    before = set(folder.glob("*")) if folder.exists() else set()
    for name in ("../../../escape.txt", "notes/escape.txt"):
        with pytest.raises(ValidationError, match="is a path"):
            await admin.upload(crew_id, name, b"plain words", "text/plain")
    after = set(folder.glob("*")) if folder.exists() else set()
    assert after == before
    assert not (folder.parent.parent / "escape.txt").exists()


@pytest.mark.parametrize("name", ["Léa.jpg", "фото.jpg", "写真.jpg", "📷.jpg", "a <b> & c.jpg"])
async def test_any_utf8_name_is_kept_exactly_and_sent_back_by_rfc_6266(
    admin: ApiClient, crew_id: str, transport: EmbeddedTransport, name: str
) -> None:
    url = await admin.upload(crew_id, name, seed_media.sunset_jpeg(), "image/jpeg")
    async with httpx.AsyncClient(transport=transport) as anonymous:
        served = await anonymous.get(url)
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("inline; filename*=utf-8''")
    assert unquote(disposition.split("''", 1)[1]) == name


async def test_a_name_with_control_characters_is_refused(
    raw: httpx.AsyncClient, crew_id: str
) -> None:
    head = (
        b'--b\r\nContent-Disposition: form-data; name="fileAttachment"; filename="a\x01b.jpg"'
        b"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    body = head + seed_media.sunset_jpeg() + b"\r\n--b--\r\n"
    answer = await raw.post(
        "/conversations/messages/upload",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert answer.status_code == 422
    assert "control characters" in answer.json()["message"][0]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 600),  # a program wearing a photo's name
        ("report.pdf", seed_media.floor_plan_png()),  # a PNG is not a PDF
        ("notes.txt", b"<html><script>alert(1)</script></html>"),
        ("notes.txt", b"\x00\x01\x02binary"),
    ],
)
async def test_types_outside_the_list_are_415(
    admin: ApiClient, crew_id: str, name: str, data: bytes
) -> None:
    with pytest.raises(UnsupportedTypeError):
        await admin.upload(crew_id, name, data, "application/octet-stream")


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("plan.png", seed_media.floor_plan_png(), "image/png"),
        ("flyer.pdf", seed_media.flyer_pdf(), "application/pdf"),
        ("contacts.csv", b"name,phone\nAnn,+14155550111\n", "text/csv"),
        ("card.vcf", b"BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD\n", "text/vcard"),
        ("caf\u00e9.txt", "d\u00e9j\u00e0 vu".encode(), "text/plain"),
    ],
)
async def test_allowed_types_are_stored(
    admin: ApiClient, crew_id: str, name: str, data: bytes, mime: str
) -> None:
    url = await admin.upload(crew_id, name, data, mime)
    assert await admin.download(url) == data


async def test_over_5_mb_is_413(admin: ApiClient, crew_id: str) -> None:
    big = b"a" * (limits.MAX_ATTACHMENT_TOTAL_BYTES + 1)
    with pytest.raises(TooLargeError):
        await admin.upload(crew_id, "big.txt", big, "text/plain")


async def test_exactly_5_mb_is_accepted(admin: ApiClient, crew_id: str) -> None:
    url = await admin.upload(
        crew_id, "edge.txt", b"a" * limits.MAX_ATTACHMENT_TOTAL_BYTES, "text/plain"
    )
    assert url.endswith("/edge.txt")


async def test_the_limit_stops_reading_mid_stream(raw: httpx.AsyncClient, crew_id: str) -> None:
    """No Content-Length, a 20 MB body: refused long before the client has sent it all."""
    body, content_type = encode_upload(crew_id, "huge.txt", b"a" * (20 * limits.MIB), "text/plain")
    chunk = 64 * 1024
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(body), chunk):
            pulled += 1
            yield body[start : start + chunk]

    answer = await raw.post(
        "/conversations/messages/upload",
        content=chunks(),
        headers={"Content-Type": content_type},
    )
    assert answer.status_code == 413
    assert pulled * chunk < 6 * limits.MIB


async def test_wrong_type_is_refused_at_the_headers(raw: httpx.AsyncClient, crew_id: str) -> None:
    body, content_type = encode_upload(crew_id, "x.exe", b"MZ" * (3 * limits.MIB), "x/y")
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(body), 65536):
            pulled += 1
            yield body[start : start + 65536]

    answer = await raw.post(
        "/conversations/messages/upload", content=chunks(), headers={"Content-Type": content_type}
    )
    assert answer.status_code == 415 and pulled <= 2


async def test_two_files_in_one_request_is_422(raw: httpx.AsyncClient, crew_id: str) -> None:
    answer = await raw.post(
        "/conversations/messages/upload",
        data={"conversationId": crew_id, "isGroupSms": "true"},
        files=[
            ("fileAttachment", ("a.txt", b"one", "text/plain")),
            ("fileAttachment", ("b.txt", b"two", "text/plain")),
        ],
    )
    assert answer.status_code == 422


async def test_not_multipart_is_415(raw: httpx.AsyncClient) -> None:
    answer = await raw.post("/conversations/messages/upload", json={"file": "x"})
    assert answer.status_code == 415


async def test_upload_into_a_hidden_conversation_is_404(
    admin: ApiClient, staff: ApiClient, transport: EmbeddedTransport
) -> None:
    page = await admin.search_conversations(limit=100)
    house = next(c.id for c in page.conversations if (c.name or "").startswith("Open house"))
    before = set(transport.server.files_dir.glob("*.bin"))
    with pytest.raises(NotFoundError):
        await staff.upload(house, "a.txt", b"hi", "text/plain")
    assert set(transport.server.files_dir.glob("*.bin")) == before  # the refused file is gone


async def test_message_over_5_mb_in_total_is_413(admin: ApiClient, crew_id: str) -> None:
    part = b"a" * (3 * limits.MIB)
    urls = [await admin.upload(crew_id, f"part{n}.txt", part, "text/plain") for n in range(2)]
    with pytest.raises(TooLargeError):
        await admin.send_message(crew_id, "two big files", attachments=urls)
