"""A smoke run of the client against the real embedded backend (the demo seed), in-process.

The full contract conformance suite lives with the sandbox
(tests/services/server/test_conformance.py); this checks the client's own
helpers — paging, idempotency, upload and download — against a real server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.api import ApiClient, AuthError, RetryPolicy, ValidationError
from services.server import seed
from services.server.embedded import EmbeddedTransport, embedded_transport

pytestmark = pytest.mark.anyio

BASE = "http://embedded.invalid"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def transport(tmp_path: Path) -> AsyncIterator[EmbeddedTransport]:
    t = embedded_transport(tmp_path / "sandbox.db", seed="demo", rate_limit=0, latency_ms=0)
    yield t
    await t.aclose()


@pytest.fixture
async def admin(transport: EmbeddedTransport) -> AsyncIterator[ApiClient]:
    # No location given: the client finds it from the signed-in user.
    async with ApiClient(
        BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never()
    ) as api:
        yield api


async def test_sign_in_finds_the_location(admin):
    me = await admin.me()
    assert me.is_admin
    assert await admin.location_id() == seed.LOCATION


async def test_a_wrong_token_is_an_auth_error(transport):
    async with ApiClient(BASE, "not-a-token", transport=transport) as api:
        with pytest.raises(AuthError):
            await api.me()


async def test_iter_contacts_walks_every_page_once(admin):
    first = await admin.search_contacts(page_limit=7)
    ids = [c.id async for c in admin.iter_contacts(page_limit=7)]
    assert len(ids) == first.total > 7
    assert len(set(ids)) == len(ids)


async def test_iter_conversations_walks_every_page_once(admin):
    everything = await admin.search_conversations(limit=100)
    ids = [c.id async for c in admin.iter_conversations(page_size=2)]
    assert ids == [c.id for c in everything.conversations]
    assert len(ids) > 2


async def test_idempotent_create_and_send_replay_the_first_answer(admin):
    members = [seed.contact_id("Noah", "Williams"), seed.contact_id("Olivia", "Brown")]
    group = await admin.create_group(
        "contacts", seed.ADMIN_NUMBER, members, name="Smoke", idempotency_key="smoke-1"
    )
    again = await admin.create_group(
        "contacts", seed.ADMIN_NUMBER, members, name="Smoke", idempotency_key="smoke-1"
    )
    assert again.id == group.id
    assert len(group.participants) == 2

    sent = await admin.send_message(group.id, "hello", client_message_id="smoke-msg")
    replay = await admin.send_message(group.id, "hello", client_message_id="smoke-msg")
    assert replay.message_id == sent.message_id
    page = await admin.get_messages(group.id)
    assert [m.id for m in page.messages] == [sent.message_id]


async def test_a_too_small_group_lists_the_rule(admin):
    with pytest.raises(ValidationError) as caught:
        await admin.create_group(
            "contacts", seed.ADMIN_NUMBER, [seed.contact_id("Noah", "Williams")]
        )
    assert caught.value.messages


async def test_upload_send_and_download_an_image(admin):
    members = [seed.contact_id("Ava", "Taylor"), seed.contact_id("Jack", "Lewis")]
    group = await admin.create_group("contacts", seed.ADMIN_NUMBER, members)
    progress: list[tuple[int, int]] = []
    url = await admin.upload(
        group.id, "dot.png", PNG, "image/png", lambda s, t: progress.append((s, t))
    )
    assert progress[-1][0] == progress[-1][1]
    await admin.send_message(group.id, "a dot", [url])
    assert await admin.download(url) == PNG


async def test_iter_messages_walks_a_thread_newest_first(admin):
    members = [seed.contact_id("Mia", "Thomas"), seed.contact_id("Henry", "Harris")]
    group = await admin.create_group("contacts", seed.ADMIN_NUMBER, members)
    sent = [(await admin.send_message(group.id, f"m{n}")).message_id for n in range(5)]
    walked = [m.id async for m in admin.iter_messages(group.id, page_size=2)]
    assert walked == list(reversed(sent))
