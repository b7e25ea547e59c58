"""Push notifications, end to end through the real server, against a OneSignal stand-in.

The server runs in-process (ASGITransport); OneSignal is ``push/fake_onesignal.py``
behind ``httpx.MockTransport``, which checks each request against the documented
shape. The queue's clock is a number the tests move, and most tests drive the queue
by hand (``run_due``) so what goes out, and when, is decided by the test alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.server import inbound, seed
from services.server.app import create_app
from services.server.cli import Refusal, push_service
from services.server.core import MessagingServer
from services.server.embedded import EmbeddedTransport
from services.server.push.base import PushError, PushErrorKind
from services.server.push.onesignal import OneSignalPush, OneSignalSettings, settings_from_env
from tests.services.server.push.fake_onesignal import API_KEY, APP_ID, BASE, FakeOneSignal

WEEKEND_CREW = ["+14155550100", "+14155550111", "+14155550112", "+16045550113", "+12125550114"]
OPEN_HOUSE = [
    "+14155550101",
    "+14155550120",
    "+12125550121",
    "+16175550122",
    "+15145550135",
    "+16045550138",
]
pytestmark = pytest.mark.anyio

ENV = {"ONESIGNAL_APP_ID": APP_ID, "ONESIGNAL_REST_API_KEY": API_KEY}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    server: MessagingServer
    onesignal: FakeOneSignal
    clock: Clock
    admin: httpx.AsyncClient
    staff: httpx.AsyncClient

    async def deliver(self) -> int:
        """Let the hold pass and send what is due."""
        self.clock.now += 10
        return await self.server.push_queue.run_due()

    async def inbound(self, numbers: list[str], body: str, sender: int = 1) -> dict[str, Any]:
        answer = await self.admin.post(
            "/sandbox/inbound", json={"from": numbers[sender], "to": numbers, "body": body}
        )
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def sent_to(self, push_id: str) -> list[Any]:
        return [s for s in self.onesignal.sent if push_id in s.to]


def settings() -> OneSignalSettings:
    found = settings_from_env(ENV)
    assert found is not None
    return found


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    onesignal = FakeOneSignal()
    http = httpx.AsyncClient(transport=onesignal.transport())
    push = OneSignalPush(settings(), http=http)
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0, latency_ms=0, push=push)
    server: MessagingServer = app.state.server
    clock = Clock()
    server.push_queue.clock = clock
    # The test sends what is due itself (run_due): no worker racing it.
    monkeypatch.setattr(server.push_queue, "start", lambda: None)
    transport = EmbeddedTransport(server, app=app)
    base = "http://embedded.invalid"
    async with (
        httpx.AsyncClient(
            transport=transport, base_url=base, headers=_auth(seed.ADMIN_TOKEN)
        ) as admin,
        httpx.AsyncClient(
            transport=transport, base_url=base, headers=_auth(seed.STAFF_TOKEN)
        ) as staff,
    ):
        for client, push_id in ((admin, "sub-admin-phone"), (staff, "sub-staff-phone")):
            made = await client.post(
                "/devices", json={"platform": "ios", "pushId": push_id, "appVersion": "1.0"}
            )
            assert made.status_code == 200, made.text
        yield World(server, onesignal, clock, admin, staff)
    await transport.aclose()
    await http.aclose()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _unread_total(client: httpx.AsyncClient) -> int:
    found = (await client.get("/conversations/search", params={"limit": 100})).json()
    return sum(c["unreadCount"] for c in found["conversations"])


# --- who is notified ---------------------------------------------------------------------


async def test_an_inbound_text_rings_everyone_who_may_see_the_group(world: World) -> None:
    got = await world.inbound(WEEKEND_CREW, "Running 10 minutes late")
    assert await world.deliver() == 2
    for push_id, client in (("sub-admin-phone", world.admin), ("sub-staff-phone", world.staff)):
        [sent] = world.sent_to(push_id)
        assert sent.title == "Weekend crew"
        assert sent.text == "Chloe Martin: Running 10 minutes late"
        assert sent.body["data"] == {"conversationId": got["conversationId"]}
        assert sent.body["collapse_id"] == got["conversationId"]
        assert sent.body["ios_badgeType"] == "SetTo"
        assert sent.badge == await _unread_total(client) > 0
    assert world.onesignal.problems == []


async def test_assigned_only_staff_hear_only_of_groups_whose_contacts_are_all_theirs(
    world: World,
) -> None:
    await world.inbound(OPEN_HOUSE, "Is the open house still on?")
    await world.deliver()
    assert len(world.sent_to("sub-admin-phone")) == 1
    assert world.sent_to("sub-staff-phone") == []  # Sam may not open this group


async def test_staff_messages_ring_only_those_who_asked_and_never_the_sender(
    world: World,
) -> None:
    crew = await world.inbound(WEEKEND_CREW, "hello")
    await world.deliver()
    world.onesignal.sent.clear()
    cid = crew["conversationId"]
    send = {"type": "SMS", "conversationId": cid, "message": "See you at 9"}
    assert (await world.admin.post("/conversations/messages", json=send)).status_code == 201
    await world.deliver()
    assert world.onesignal.sent == []  # Sam did not ask for staff messages
    for client in (world.admin, world.staff):
        turned = await client.put("/me/notifications", json={"pushStaffMessages": True})
        assert turned.json()["pushStaffMessages"] is True
    assert (await world.admin.post("/conversations/messages", json=send)).status_code == 201
    await world.deliver()
    [sent] = world.onesignal.sent
    assert sent.to == ["sub-staff-phone"]  # the sender, Dana, hears nothing of her own
    assert sent.text == "Dana Whitfield: See you at 9"


async def test_a_picture_says_picture(world: World) -> None:
    url = "https://example.invalid/photo.jpg"
    answer = await world.admin.post(
        "/sandbox/inbound",
        json={"from": WEEKEND_CREW[2], "to": WEEKEND_CREW, "body": "", "mediaUrls": [url]},
    )
    assert answer.status_code == 201, answer.text
    await world.deliver()
    assert world.sent_to("sub-staff-phone")[0].text == "Marcus Johnson: Picture"


# --- a burst, a muted thread, a gone device --------------------------------------------------


async def test_a_burst_in_one_thread_is_one_notification(world: World) -> None:
    for body in ("Are we", "still on", "for Saturday?"):
        await world.inbound(WEEKEND_CREW, body)
    assert await world.deliver() == 2  # one per user, not three
    [sent] = world.sent_to("sub-staff-phone")
    assert sent.text == "3 new messages. Chloe Martin: for Saturday?"
    assert await world.deliver() == 0


async def test_a_muted_thread_pushes_nothing_but_still_counts_in_the_badge(
    world: World,
) -> None:
    crew = await world.inbound(WEEKEND_CREW, "first")
    await world.deliver()
    world.onesignal.sent.clear()
    muted = await world.staff.put(f"/conversations/{crew['conversationId']}/mute")
    assert muted.json()["mutedConversationIds"] == [crew["conversationId"]]
    await world.inbound(WEEKEND_CREW, "second")
    await world.deliver()
    assert world.sent_to("sub-staff-phone") == []
    assert len(world.sent_to("sub-admin-phone")) == 1
    # Chloe texts Sam one-to-one: that rings, and the badge counts the muted group too.
    await world.inbound([WEEKEND_CREW[0], WEEKEND_CREW[1]], "Quick question")
    await world.deliver()
    [sent] = world.sent_to("sub-staff-phone")
    crew_unread = (await world.staff.get(f"/conversations/{crew['conversationId']}")).json()
    assert crew_unread["conversation"]["unreadCount"] > 0
    assert sent.badge == await _unread_total(world.staff)
    unmuted = await world.staff.delete(f"/conversations/{crew['conversationId']}/mute")
    assert unmuted.json()["mutedConversationIds"] == []


async def test_muting_drops_a_notification_already_waiting(world: World) -> None:
    crew = await world.inbound(WEEKEND_CREW, "ping")
    await world.staff.put(f"/conversations/{crew['conversationId']}/mute")
    await world.deliver()
    assert world.sent_to("sub-staff-phone") == []


async def test_reading_a_thread_lowers_the_badge_on_every_iphone_silently(world: World) -> None:
    crew = await world.inbound(WEEKEND_CREW, "hello")
    await world.deliver()
    before = world.sent_to("sub-staff-phone")[0].badge
    await world.admin.post("/devices", json={"platform": "android", "pushId": "sub-admin-pixel"})
    world.onesignal.sent.clear()
    read = await world.staff.put(
        f"/conversations/{crew['conversationId']}", json={"unreadCount": 0}
    )
    assert read.status_code == 200
    assert await world.deliver() == 2  # one badge update per user who may see it
    for push_id, client in (("sub-staff-phone", world.staff), ("sub-admin-phone", world.admin)):
        [update] = world.sent_to(push_id)
        assert update.silent and "contents" not in update.body
        assert update.badge == await _unread_total(client)
    assert world.sent_to("sub-staff-phone")[0].badge < before
    assert world.sent_to("sub-admin-pixel") == []  # Android launchers count by themselves
    assert world.onesignal.problems == []


async def test_a_device_the_service_reports_gone_is_forgotten(world: World) -> None:
    await world.admin.post("/devices", json={"platform": "android", "pushId": "sub-admin-tablet"})
    world.onesignal.gone.add("sub-admin-phone")
    await world.inbound(OPEN_HOUSE, "hello")
    await world.deliver()
    [sent] = world.onesignal.sent
    assert sorted(sent.to) == ["sub-admin-phone", "sub-admin-tablet"]
    devices = (await world.admin.get("/devices")).json()["devices"]
    assert [d["pushId"] for d in devices] == ["sub-admin-tablet"]


async def test_when_no_device_is_subscribed_any_more_all_are_forgotten(world: World) -> None:
    world.onesignal.gone.add("sub-staff-phone")
    await world.inbound(WEEKEND_CREW, "hello")
    await world.deliver()
    assert (await world.staff.get("/devices")).json()["devices"] == []
    assert len((await world.admin.get("/devices")).json()["devices"]) == 1


# --- a push service in trouble ---------------------------------------------------------------


async def test_a_500_is_retried_later_and_the_message_is_not_lost(world: World) -> None:
    world.onesignal.fail_next.extend([(500, {}), (500, {})])
    got = await world.inbound(OPEN_HOUSE, "Can I bring a friend?")
    assert await world.deliver() == 1  # tried once: 500
    # The message is there at once, whatever the push service does.
    page = (await world.admin.get(f"/conversations/{got['conversationId']}/messages")).json()
    assert page["messages"]["messages"][0]["body"] == "Can I bring a friend?"
    assert world.onesignal.sent == []
    row = world.server.db.one("SELECT state, attempts, last_error FROM push_jobs")
    assert row is not None and (row["state"], row["attempts"]) == ("queued", 1)
    assert "500" in row["last_error"]
    assert await world.server.push_queue.run_due() == 0  # not before its backoff
    world.clock.now += 10 * 60
    await world.server.push_queue.run_due()  # the second 500
    world.clock.now += 10 * 60
    await world.server.push_queue.run_due()
    [sent] = world.onesignal.sent
    assert sent.text == "Noah Williams: Can I bring a friend?"


async def test_a_push_service_down_for_a_day_is_given_up_on_and_a_400_at_once(
    world: World,
) -> None:
    world.onesignal.fail_next.extend([(503, {})] * 50)
    await world.inbound(OPEN_HOUSE, "hello?")
    await world.deliver()
    for _ in range(30):  # an hour apart: past the day, the job is dropped
        world.clock.now += 3600
        await world.server.push_queue.run_due()
    row = world.server.db.one("SELECT state, attempts FROM push_jobs")
    assert row is not None and row["state"] == "failed" and row["attempts"] >= 24
    world.onesignal.fail_next.clear()
    world.onesignal.fail_next.append((400, {}))
    await world.inbound(OPEN_HOUSE, "and now?")
    assert await world.deliver() == 1
    states = [r[0] for r in world.server.db.all("SELECT state FROM push_jobs ORDER BY id")]
    assert states == ["failed", "failed"]  # refused for good: not tried again
    assert world.onesignal.sent == []
    page = (await world.admin.get("/conversations/search", params={"query": "and now"})).json()
    assert page["total"] == 1  # the messages themselves are all there


async def test_a_429_waits_as_long_as_asked(world: World) -> None:
    world.onesignal.fail_next.append((429, {"Retry-After": "120"}))
    await world.inbound(OPEN_HOUSE, "hi")
    await world.deliver()
    world.clock.now += 100
    assert await world.server.push_queue.run_due() == 0
    world.clock.now += 30
    assert await world.server.push_queue.run_due() == 1
    assert len(world.onesignal.sent) == 1


async def test_a_message_during_a_failing_push_goes_out_with_it(world: World) -> None:
    world.onesignal.fail_next.append((503, {}))
    await world.inbound(OPEN_HOUSE, "one")
    await world.deliver()
    await world.inbound(OPEN_HOUSE, "two")
    world.clock.now += 10 * 60
    await world.server.push_queue.run_due()
    [sent] = world.onesignal.sent
    assert sent.text == "2 new messages. Noah Williams: two"
    assert world.server.db.scalar("SELECT COUNT(*) FROM push_jobs WHERE state != 'done'") == 0


async def test_a_message_that_arrives_while_a_push_fails_is_not_lost(world: World) -> None:
    def meanwhile() -> None:  # Olivia texts while OneSignal is answering 500
        inbound.receive(
            world.server,
            "loc_demo",
            inbound.InboundText(OPEN_HOUSE[2], OPEN_HOUSE, "me too", []),
        )

    world.onesignal.on_create.append(meanwhile)
    world.onesignal.fail_next.append((500, {}))
    await world.inbound(OPEN_HOUSE, "one")
    await world.deliver()
    world.clock.now += 10 * 60
    await world.server.push_queue.run_due()
    [sent] = world.onesignal.sent  # the newer job says it; the failed one is dropped
    assert sent.text == "2 new messages. Olivia Brown: me too"
    assert world.server.db.scalar("SELECT COUNT(*) FROM push_jobs WHERE state != 'done'") == 0


async def test_the_worker_sends_on_its_own(tmp_path: Path) -> None:
    onesignal = FakeOneSignal()
    async with httpx.AsyncClient(transport=onesignal.transport()) as http:
        app = create_app(
            tmp_path / "w.db",
            seed="demo",
            rate_limit=0,
            latency_ms=0,
            push=OneSignalPush(settings(), http=http),
        )
        server: MessagingServer = app.state.server
        server.push_queue.hold_s = 0
        transport = EmbeddedTransport(server, app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://s", headers=_auth(seed.ADMIN_TOKEN)
        ) as admin:
            await admin.post("/devices", json={"platform": "android", "pushId": "sub-1"})
            await admin.post(
                "/sandbox/inbound",
                json={"from": OPEN_HOUSE[1], "to": OPEN_HOUSE, "body": "on its own"},
            )
            for _ in range(500):  # the worker runs on this loop: give it turns
                if onesignal.sent:
                    break
                await asyncio.sleep(0.01)
        await transport.aclose()
    assert [s.text for s in onesignal.sent] == ["Noah Williams: on its own"]


# --- devices and settings ------------------------------------------------------------------


async def test_registering_again_is_the_same_device_and_signing_out_removes_it(
    world: World,
) -> None:
    again = await world.admin.post(
        "/devices", json={"platform": "ios", "pushId": "sub-admin-phone", "appVersion": "1.1"}
    )
    [device] = (await world.admin.get("/devices")).json()["devices"]
    assert again.json()["device"]["id"] == device["id"]
    assert device["appVersion"] == "1.1"
    # Sam can't remove Dana's device.
    assert (await world.staff.delete(f"/devices/{device['id']}")).status_code == 404
    assert (await world.admin.delete(f"/devices/{device['id']}")).status_code == 200
    assert (await world.admin.get("/devices")).json()["devices"] == []
    await world.inbound(OPEN_HOUSE, "anyone?")
    await world.deliver()
    assert world.onesignal.sent == []


async def test_a_phone_whose_sign_in_was_revoked_hears_nothing_more(world: World) -> None:
    """A lost phone: the admin revokes its token; the phone can't sign out, but is silent."""
    from services.server import accounts

    db = world.server.db
    token_id = db.scalar("SELECT token_id FROM devices WHERE push_id = 'sub-staff-phone'")
    assert token_id is not None
    with db.tx() as conn:
        accounts.revoke_token(conn, token_id)
    await world.inbound(WEEKEND_CREW, "anyone?")
    await world.deliver()
    assert world.sent_to("sub-staff-phone") == []
    assert len(world.sent_to("sub-admin-phone")) == 1


async def test_a_user_cannot_mute_a_thread_they_may_not_see(world: World) -> None:
    found = (await world.admin.get("/conversations/search", params={"query": "Open house"})).json()
    cid = found["conversations"][0]["id"]
    assert (await world.staff.put(f"/conversations/{cid}/mute")).status_code == 404


async def test_push_is_off_unless_configured(tmp_path: Path) -> None:
    app = create_app(tmp_path / "off.db", seed="demo", rate_limit=0, latency_ms=0)
    server: MessagingServer = app.state.server
    transport = EmbeddedTransport(server, app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://s", headers=_auth(seed.ADMIN_TOKEN)
    ) as admin:
        await admin.post("/devices", json={"platform": "ios", "pushId": "sub-1"})
        answer = await admin.post(
            "/sandbox/inbound", json={"from": OPEN_HOUSE[1], "to": OPEN_HOUSE, "body": "hi"}
        )
        assert answer.status_code == 201
    await transport.aclose()
    assert server.push is None
    assert server.db.scalar("SELECT COUNT(*) FROM push_jobs") == 0


# --- credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ONESIGNAL_APP_ID": APP_ID}, "ONESIGNAL_REST_API_KEY is not set"),
        ({"ONESIGNAL_REST_API_KEY": API_KEY}, "ONESIGNAL_APP_ID is not set"),
        ({**ENV, "ONESIGNAL_APP_ID": "my-app"}, "is not a OneSignal app id"),
        ({**ENV, "ONESIGNAL_REST_API_KEY": "two words"}, "contains spaces"),
        ({**ENV, "ONESIGNAL_API_BASE": "http://onesignal.example"}, "must use https"),
    ],
)
def test_wrong_settings_stop_the_server_with_a_sentence(env: dict[str, str], says: str) -> None:
    with pytest.raises(Refusal) as refused:
        push_service(env)
    assert says in str(refused.value)
    assert API_KEY not in str(refused.value)


def test_no_settings_no_push() -> None:
    assert push_service({}) is None


async def test_a_wrong_key_is_refused_at_start_in_a_sentence() -> None:
    onesignal = FakeOneSignal(api_key="the-real-key")
    async with httpx.AsyncClient(transport=onesignal.transport()) as http:
        with pytest.raises(PushError) as refused:
            await OneSignalPush(settings(), http=http).verify()
        assert refused.value.kind is PushErrorKind.CONFIG
        assert "Keys & IDs" in refused.value.message
    async with httpx.AsyncClient(transport=FakeOneSignal().transport()) as http:
        await OneSignalPush(settings(), http=http).verify()  # the right key passes


async def test_the_key_never_reaches_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.onesignal.fail_next.append((500, {}))
    await world.inbound(OPEN_HOUSE, "hi")
    await world.deliver()
    world.clock.now += 3600
    await world.server.push_queue.run_due()
    assert len(world.onesignal.sent) == 1
    assert caplog.records, "the retry should have been logged"
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(world.server.push)
    assert API_KEY not in repr(settings())
    assert BASE in settings().api_base


# --- the app's client --------------------------------------------------------------------


async def test_the_client_registers_mutes_and_removes_a_device(tmp_path: Path) -> None:
    from services.api import ApiClient, RetryPolicy
    from services.models import DevicePlatform

    app = create_app(tmp_path / "c.db", seed="demo", rate_limit=0, latency_ms=0)
    transport = EmbeddedTransport(app.state.server, app=app)
    async with ApiClient(
        "http://embedded.invalid", seed.STAFF_TOKEN, transport=transport, retry=RetryPolicy.never()
    ) as client:
        device = await client.register_device(DevicePlatform.ANDROID, "sub-xyz", "2.0")
        assert (device.platform, device.push_id, device.app_version) == (
            "android",
            "sub-xyz",
            "2.0",
        )
        assert [d.id for d in await client.devices()] == [device.id]
        page = await client.search_conversations(limit=1)
        cid = page.conversations[0].id
        muted = await client.set_muted(cid, True)
        assert muted.muted_conversation_ids == [cid]
        assert (await client.notification_settings()).muted_conversation_ids == [cid]
        assert (await client.set_muted(cid, False)).muted_conversation_ids == []
        assert (await client.set_push_staff_messages(True)).push_staff_messages is True
        await client.delete_device(device.id)
        assert await client.devices() == []
    await transport.aclose()


# --- the real process ------------------------------------------------------------------------


async def test_a_running_server_pushes_through_onesignal_and_logs_no_key(tmp_path: Path) -> None:
    """``python -m services.server`` with OneSignal configured, over real HTTP both ways:
    its start-up check passes, an inbound text rings the admin's phone, a 500 on the way
    is retried; the key appears nowhere in its debug log."""
    from tests.services.server.carriers.served import ServedFake
    from tests.services.server_process import ServerProcess

    onesignal = FakeOneSignal()
    onesignal.fail_next.append((500, {}))
    served = ServedFake(onesignal.transport())
    served.start()
    server = ServerProcess(
        tmp_path / "push.db",
        args=["--log-level", "debug"],
        env={**ENV, "ONESIGNAL_API_BASE": served.base("api.onesignal.com")},
    )
    try:
        await server.start()
        async with httpx.AsyncClient(
            base_url=server.url, headers=_auth(seed.ADMIN_TOKEN), timeout=10
        ) as admin:
            made = await admin.post("/devices", json={"platform": "ios", "pushId": "sub-real"})
            assert made.status_code == 200
            sent = await admin.post(
                "/sandbox/inbound", json={"from": OPEN_HOUSE[1], "to": OPEN_HOUSE, "body": "hi!"}
            )
            assert sent.status_code == 201
        for _ in range(300):  # the hold (2 s), a 500, its backoff (1 to 2 s): then sent
            if onesignal.sent:
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
        served.stop()
    [notification] = onesignal.sent
    assert notification.text == "Noah Williams: hi!" and notification.to == ["sub-real"]
    log = server.log_path.read_text(encoding="utf-8")
    assert "will retry" in log
    assert API_KEY not in log
