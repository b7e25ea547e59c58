"""The client's checks and the embedded backend's agree, end to end.

What ``prepare_attachment`` lets through, the backend stores and serves back
byte for byte; what it refuses, the backend refuses too. "Compress and
resend" turns a message the carrier marked undelivered into one it delivers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services import limits
from services.api import ApiClient, RetryPolicy
from services.api.errors import UnsupportedTypeError
from services.attachments import (
    AttachmentSource,
    PreparedAttachment,
    compress_for_resend_async,
    prepare_attachment,
    prepare_attachment_async,
)
from services.models import MessageStatus
from services.server import seed
from services.server.embedded import embedded_transport
from tests.services import attachment_files as files

pytestmark = pytest.mark.anyio
BASE = "http://embedded.invalid"


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[ApiClient]:
    # No rate limit and an instant carrier: the test waits on state, never on the clock.
    transport = embedded_transport(tmp_path / "sandbox.db", rate_limit=0, latency_ms=0)
    try:
        async with ApiClient(
            BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never()
        ) as client:
            yield client
    finally:
        await transport.aclose()


async def _group_id(client: ApiClient) -> str:
    # A demo group the admin may send in, nobody in it on Do Not Disturb.
    page = await client.search_conversations(limit=100)
    return next(c.id for c in page.conversations if c.name == "Weekend crew")


async def _upload(client: ApiClient, conversation_id: str, item: PreparedAttachment) -> str:
    return await client.upload(conversation_id, item.name, item.data, item.mime)


@pytest.mark.parametrize("extension", sorted(limits.ALLOWED_ATTACHMENT_TYPES))
async def test_what_the_client_accepts_the_backend_stores(admin: ApiClient, extension: str) -> None:
    group = await _group_id(admin)
    item = prepare_attachment(AttachmentSource(f"sample{extension}", files.samples()[extension]))
    assert isinstance(item, PreparedAttachment)

    url = await _upload(admin, group, item)

    assert await admin.download(url) == item.data


async def test_an_exe_renamed_jpg_is_refused_on_both_sides(admin: ApiClient) -> None:
    group = await _group_id(admin)
    refused = prepare_attachment(AttachmentSource("cat.jpg", files.windows_exe()))
    assert not isinstance(refused, PreparedAttachment)
    with pytest.raises(UnsupportedTypeError):
        await admin.upload(group, "cat.jpg", files.windows_exe(), "image/jpeg")


async def _final_status(client: ApiClient, conversation_id: str, message_id: str) -> MessageStatus:
    # Long-poll events until the carrier has decided for every recipient.
    cursor = (await client.events(wait=0)).cursor
    for _round in range(50):
        page = await client.get_messages(conversation_id, limit=5)
        message = next(m for m in page.messages if m.id == message_id)
        if message.status in (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED):
            return message.status
        batch = await client.events(after=cursor, wait=2)
        cursor = batch.cursor or cursor
    raise AssertionError("the carrier never decided")


async def test_compress_and_resend_gets_a_refused_photo_delivered(admin: ApiClient) -> None:
    # A stricter carrier than usual: the 500 KB photo is refused for size.
    await admin.sandbox_carrier(max_mms_bytes=300 * 1024)
    group = await _group_id(admin)
    photo = await prepare_attachment_async(AttachmentSource("IMG_7.jpg", files.photo(2400, 1800)))
    assert isinstance(photo, PreparedAttachment) and photo.size > 300 * 1024
    url = await _upload(admin, group, photo)
    first = await admin.send_message(group, "", attachments=[url])
    assert await _final_status(admin, group, first.message_id) is MessageStatus.UNDELIVERED

    again = AttachmentSource(url.rsplit("/", 1)[-1], await admin.download(url))
    check = await compress_for_resend_async([again])
    assert check.ok
    urls = [await _upload(admin, group, item) for item in check.prepared]
    second = await admin.send_message(group, "", attachments=urls)

    assert await _final_status(admin, group, second.message_id) is MessageStatus.DELIVERED
