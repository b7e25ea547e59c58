"""The messaging server on each real carrier, end to end, against spec-validated fake accounts.

For Twilio and Telnyx alike: the app's client creates a group of three, sends a text
and a picture (every request to the carrier checked against its official OpenAPI
document by the fake), a signed reply lands in the thread under the sender's name,
receipts move each recipient, forged, stale and repeated webhooks change nothing,
STOP blocks the group and START lifts it, and an opt-out refusal on a send blocks it
too. Nothing here touches a network: the fakes answer through httpx transports, and
the webhooks are signed with the carriers' own algorithms.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.models import GroupKind, MessageStatus
from services.server import seed
from services.server.app import create_app
from services.server.carrier_queue import group_spec
from services.server.carriers.base import Accepted, CarrierGroup, GroupSpec, WebhookRequest
from services.server.core import MessagingServer
from services.server.embedded import EmbeddedTransport
from tests.services.server.carriers.harness import HARNESSES, PNG, Harness, HarnessKind
from tests.services.server.carriers.support import PUBLIC_URL, Clock

pytestmark = pytest.mark.anyio

BASE = "http://server.test"
cid = seed.contact_id
# Chloe, Marcus and Hannah: the staff number's contacts; the number is the fakes' BUSINESS.
GROUP = [cid("Chloe", "Martin"), cid("Marcus", "Johnson"), cid("Hannah", "Nguyen")]


@dataclass
class World:
    harness: Harness
    server: MessagingServer
    api: ApiClient
    raw: httpx.AsyncClient

    async def post_webhook(self, hook: WebhookRequest, body: bytes | None = None) -> httpx.Response:
        path = hook.url.removeprefix(PUBLIC_URL)
        content = hook.body if body is None else body
        return await self.raw.post(path, content=content, headers=dict(hook.headers))

    def group(self, conversation_id: str) -> tuple[GroupSpec, CarrierGroup]:
        db = self.server.db
        row = db.one("SELECT carrier_ref FROM conversations WHERE id = ?", (conversation_id,))
        refs = {
            r["phone"]: r["carrier_ref"]
            for r in db.all(
                "SELECT phone, carrier_ref FROM participants WHERE conversation_id = ?",
                (conversation_id,),
            )
            if r["carrier_ref"]
        }
        assert row is not None
        return group_spec(self.server, conversation_id), CarrierGroup(row["carrier_ref"], refs)

    def carrier_ids(self, message_id: str) -> list[str]:
        rows = self.server.db.all(
            "SELECT carrier_message_id FROM carrier_messages WHERE message_id = ?", (message_id,)
        )
        return [r[0] for r in rows]

    def inbox_size(self) -> int:
        return int(self.server.db.scalar("SELECT COUNT(*) FROM carrier_inbox"))


async def until(condition: Callable[[], Any], what: str, rounds: int = 400) -> Any:
    """Wait for the queue or the inbox to get somewhere (a state, never a time, is checked)."""
    for _ in range(rounds):
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture(params=HARNESSES, ids=lambda kind: kind.name)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    kind: HarnessKind = request.param
    harness = kind.make(Clock(datetime.now(UTC)))
    app = create_app(
        tmp_path / "server.db",
        seed="demo",
        rate_limit=0,
        carrier=harness.carrier,
        public_url=PUBLIC_URL,
    )
    server: MessagingServer = app.state.server
    transport = EmbeddedTransport(server, app=app)
    api = ApiClient(BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never())
    raw = httpx.AsyncClient(transport=transport, base_url=BASE)
    try:
        yield World(harness, server, api, raw)
    finally:
        await api.aclose()
        await raw.aclose()
        await server.aclose(final=True)
        await harness.http.aclose()
        harness.assert_clean()


async def make_group(world: World) -> str:
    group = await world.api.create_group(
        GroupKind.CONTACTS, seed.STAFF_NUMBER, contact_ids=GROUP, name="Porch repair"
    )
    await until(
        lambda: world.server.db.scalar(
            "SELECT carrier_ready FROM conversations WHERE id = ?", (group.id,)
        ),
        "the group is set up at the carrier",
    )
    return group.id


async def send(world: World, conversation_id: str, text: str, *, picture: bool = False) -> str:
    urls = []
    if picture:
        uploaded = await world.api.upload(conversation_id, "porch.png", PNG, "image/png")
        urls = [uploaded]
    sent = await world.api.send_message(conversation_id, text, attachments=urls)
    await until(lambda: world.carrier_ids(sent.message_id), "the carrier took the message")
    return sent.message_id


async def test_a_group_of_three_texts_and_a_picture_reach_the_carrier(world: World) -> None:
    conversation = await make_group(world)
    spec, group = world.group(conversation)
    assert spec.members == ("+14155550111", "+14155550112", "+16045550113")
    assert spec.business_number == seed.STAFF_NUMBER
    text = await send(world, conversation, "The porch crew arrives at 9")
    photo = await send(world, conversation, "Here is the porch", picture=True)
    assert world.carrier_ids(text) and world.carrier_ids(photo)
    if world.harness.name == "twilio":
        assert group.ref and set(group.member_refs) == set(spec.members)
        sent = world.harness.fake.conversations[group.ref].messages
        assert [m["body"] for m in sent][:2] == ["The porch crew arrives at 9", "Here is the porch"]
        assert sent[1]["media"], "the picture went as a Twilio media SID"
    else:
        sent = [s.data for s in world.harness.fake.sent]
        assert [m["text"] for m in sent] == ["The porch crew arrives at 9", "Here is the porch"]
        assert sent[1]["media"][0]["url"].startswith(PUBLIC_URL + "/attachments/")
        assert sorted(t["phone_number"] for t in sent[0]["to"]) == sorted(spec.members)


async def test_a_signed_reply_lands_in_the_thread_under_the_senders_name(world: World) -> None:
    conversation = await make_group(world)
    spec, group = world.group(conversation)
    hook = world.harness.reply(spec, group, "+14155550112", "Running 10 minutes late", media=True)
    answer = await world.post_webhook(hook)
    assert answer.status_code == 200, answer.text

    def arrived() -> Any:
        return world.server.db.one(
            "SELECT * FROM messages WHERE conversation_id = ? AND direction = 'inbound'",
            (conversation,),
        )

    row = await until(arrived, "the reply is in the thread")
    messages = (await world.api.get_messages(conversation, limit=5)).messages
    reply = next(m for m in messages if m.id == row["id"])
    assert reply.body == "Running 10 minutes late"
    assert reply.from_ == "+14155550112"
    people = {p.id: p.name for p in (await world.api.get_conversation(conversation)).participants}
    assert people[reply.participant_id or ""] == "Marcus Johnson"
    assert len(reply.attachments) == 1, "the picture was fetched from the carrier and kept here"
    assert await world.api.download(reply.attachments[0]) == PNG


async def test_receipts_move_each_recipient(world: World) -> None:
    conversation = await make_group(world)
    message_id = await send(world, conversation, "Receipts please")
    spec, group = world.group(conversation)
    accepted = Accepted(tuple(world.carrier_ids(message_id)))
    for hook in world.harness.receipts(spec, group, accepted):
        assert (await world.post_webhook(hook)).status_code == 200

    def all_delivered() -> bool:
        rows = world.server.db.all(
            "SELECT status FROM recipients WHERE message_id = ?", (message_id,)
        )
        return bool(rows) and all(r[0] == "delivered" for r in rows)

    await until(all_delivered, "every recipient delivered")
    message = (await world.api.get_messages(conversation, limit=1)).messages[0]
    assert message.status is MessageStatus.DELIVERED
    assert {r.phone for r in message.recipients} == set(spec.members)


async def test_forged_and_stale_webhooks_are_refused_and_store_nothing(world: World) -> None:
    conversation = await make_group(world)
    spec, group = world.group(conversation)
    before = world.inbox_size()
    hook = world.harness.reply(spec, group, "+14155550112", "A real reply")
    forged = hook.body.replace(b"real", b"fake")
    assert (await world.post_webhook(hook, body=forged)).status_code == 403
    unsigned = await world.raw.post(hook.url.removeprefix(PUBLIC_URL), content=hook.body)
    assert unsigned.status_code == 403
    stale = world.harness.stale_reply(spec, group, "+14155550112")
    answer = await world.post_webhook(stale)
    assert answer.status_code == 403
    assert "signature" in answer.json()["message"]
    assert world.inbox_size() == before


async def test_the_same_webhook_twice_is_applied_once(world: World) -> None:
    conversation = await make_group(world)
    spec, group = world.group(conversation)
    hook = world.harness.reply(spec, group, "+14155550112", "Only once")
    first = await world.post_webhook(hook)
    second = await world.post_webhook(hook)
    assert first.json()["new"] == 1 and second.json()["new"] == 0

    def count() -> int:
        return int(
            world.server.db.scalar(
                "SELECT COUNT(*) FROM messages WHERE body = 'Only once' AND conversation_id = ?",
                (conversation,),
            )
        )

    await until(count, "the reply is in the thread")
    await until(
        lambda: not world.server.db.scalar("SELECT COUNT(*) FROM carrier_inbox WHERE state='new'"),
        "the inbox is empty",
    )
    assert count() == 1


async def test_stop_blocks_the_group_and_start_unblocks_it(world: World) -> None:
    conversation = await make_group(world)
    spec, group = world.group(conversation)
    await world.post_webhook(world.harness.reply(spec, group, "+16045550113", "Stop"))

    async def blocked() -> bool:
        return (await world.api.get_conversation(conversation)).blocked

    await until_async(blocked, "STOP blocks the group")
    detail = await world.api.get_conversation(conversation)
    assert [p.name for p in detail.participants if p.id in detail.blocked_by] == ["Hannah Nguyen"]
    await world.post_webhook(world.harness.reply(spec, group, "+16045550113", "START"))

    async def unblocked() -> bool:
        return not (await world.api.get_conversation(conversation)).blocked

    await until_async(unblocked, "START lifts it")


async def test_an_opt_out_refusal_on_a_send_blocks_the_group_and_is_not_retried(
    world: World,
) -> None:
    conversation = await make_group(world)
    world.harness.opt_out("+14155550111")
    sent = await world.api.send_message(conversation, "Are you still coming?")

    def failed() -> Any:
        return world.server.db.one(
            "SELECT * FROM carrier_jobs WHERE message_id = ? AND state = 'failed'",
            (sent.message_id,),
        )

    await until(failed, "the send failed for good")
    message = (await world.api.get_messages(conversation, limit=1)).messages[0]
    assert message.status is MessageStatus.FAILED
    assert all(r.error for r in message.recipients)
    if world.harness.names_opted_out_on_send:
        detail = await world.api.get_conversation(conversation)
        assert detail.blocked
        assert [p.phone for p in detail.participants if p.id in detail.blocked_by] == [
            "+14155550111"
        ]
    job = failed()
    assert job["attempts"] == 0, "an opt-out is never retried"


async def until_async(condition: Callable[[], Any], what: str, rounds: int = 400) -> None:
    for _ in range(rounds):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_a_real_carrier_has_no_simulated_world(world: World) -> None:
    headers = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
    for path in ("/sandbox/inbound", "/sandbox/carrier"):
        answer = await world.raw.post(path, json={}, headers=headers)
        assert answer.status_code == 404
    other = "telnyx" if world.harness.name == "twilio" else "twilio"
    assert (await world.raw.post(f"/webhooks/{other}", content=b"{}")).status_code == 404


async def test_numbers_carry_the_carriers_group_limits(world: World) -> None:
    numbers = await world.api.phone_numbers()
    limits = {n.phone_number: n for n in numbers}[seed.STAFF_NUMBER]
    raw = await world.raw.get(
        f"/phone-system/numbers/location/{seed.LOCATION}",
        headers={"Authorization": f"Bearer {seed.ADMIN_TOKEN}"},
    )
    wire = next(n for n in raw.json()["numbers"] if n["phoneNumber"] == limits.phone_number)
    expected = 9 if world.harness.name == "twilio" else 8
    assert wire["groupLimits"]["maxParticipants"] == expected
    assert wire["groupLimits"]["why"]


async def test_the_carriers_group_size_is_enforced_by_the_server(world: World) -> None:
    people = [
        cid(*name)
        for name in (
            ("Chloe", "Martin"),
            ("Marcus", "Johnson"),
            ("Hannah", "Nguyen"),
            ("Diego", "Alvarez"),
            ("Emily", "Tremblay"),
            ("Noah", "Williams"),
            ("Olivia", "Brown"),
            ("Liam", "Davis"),
            ("Ava", "Taylor"),
        )
    ]
    answer = await world.raw.post(
        "/conversations/groups",
        json={
            "kind": "contacts",
            "fromNumber": seed.ADMIN_NUMBER,
            "participants": [{"contactId": c} for c in people],
        },
        headers={"Authorization": f"Bearer {seed.ADMIN_TOKEN}"},
    )
    if world.harness.name == "telnyx":
        assert answer.status_code == 422, answer.text
        assert any("at most 8 people" in m for m in answer.json()["message"])
    else:
        assert answer.status_code == 201, answer.text
