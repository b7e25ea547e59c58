"""Sync against the real sandbox in-process: live updates between two clients,
inbound texts, resuming from the cursor, notifications, read marks, fallbacks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from services.api import ApiClient, RetryPolicy
from services.backoff import Backoff
from services.models import Contact, Conversation, Direction, EventType
from services.store import Store
from services.store_types import (
    Change,
    ConnectionChanged,
    ConnectionState,
    MessageAdded,
)
from services.sync import LiveMode
from tests.services.sync_support import (
    FlakyTransport,
    client_for,
    eventually,
    make_sync,
    sandbox_app,
)

pytestmark = pytest.mark.anyio


@dataclass
class RecordingNotifier:
    shown: list[tuple[str, str, str]] = field(default_factory=list)

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        self.shown.append((title, body, conversation_id))


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return sandbox_app(tmp_path)


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[ApiClient]:
    async with client_for(app, "demo-admin") as client:
        yield client


@pytest.fixture
async def staff(app: Starlette) -> AsyncIterator[ApiClient]:
    async with client_for(app, "demo-staff") as client:
        yield client


async def shared_group(admin: ApiClient, staff: ApiClient) -> Conversation:
    """A group both demo users can see that is not blocked."""
    mine = {c.id for c in (await staff.search_conversations(limit=50)).conversations}
    for summary in (await admin.search_conversations(limit=50)).conversations:
        if summary.id in mine and summary.is_group and not summary.blocked:
            return await admin.get_conversation(summary.id)
    raise AssertionError("the demo seed has no group shared by admin and staff")


def bodies(store: Store, cid: str) -> list[str]:
    return [m.body for m in store.messages(cid, limit=500)]


async def test_a_message_sent_by_one_client_reaches_the_other_through_events(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    admin_store, staff_store = Store(), Store()
    sender, receiver = make_sync(admin, admin_store), make_sync(staff, staff_store)
    await sender.start()
    await receiver.start()
    try:
        await eventually(lambda: receiver.connection_state is ConnectionState.CONNECTED)
        await eventually(lambda: staff_store.summary(group.id) is not None)
        local = await sender.send(group.id, "See you at 6")
        assert local.local_state == "sending"
        assert bodies(admin_store, group.id)[-1] == "See you at 6"

        await eventually(lambda: "See you at 6" in bodies(staff_store, group.id))
        await eventually(lambda: admin_store.messages(group.id)[-1].local_state == "sent")
        assert bodies(admin_store, group.id).count("See you at 6") == 1
        assert bodies(staff_store, group.id).count("See you at 6") == 1
        summary = staff_store.summary(group.id)
        assert summary is not None and summary.last_message_body == "See you at 6"
    finally:
        await sender.stop()
        await receiver.stop()


async def test_an_inbound_text_appears_in_both_stores_and_notifies(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    stores = (Store(), Store())
    notifiers = (RecordingNotifier(), RecordingNotifier())
    syncs = [
        make_sync(client, store, notifier=notifier)
        for client, store, notifier in zip((admin, staff), stores, notifiers, strict=True)
    ]
    for sync in syncs:
        await sync.start()
    try:
        for sync in syncs:
            await eventually(lambda s=sync: s.connection_state is ConnectionState.CONNECTED)
        sender, *others = group.participants
        await admin.sandbox_inbound(
            sender.phone, [group.from_number or "", *(p.phone for p in others)], "Running late"
        )
        for store in stores:
            await eventually(lambda s=store: "Running late" in bodies(s, group.id))
            inbound = [m for m in store.messages(group.id) if m.body == "Running late"]
            assert len(inbound) == 1 and inbound[0].direction is Direction.INBOUND
        for notifier in notifiers:
            await eventually(lambda n=notifier: len(n.shown) == 1)
            _title, body, cid = notifier.shown[0]
            assert cid == group.id and "Running late" in body and sender.name in body
    finally:
        for sync in syncs:
            await sync.stop()


async def test_a_notice_names_the_sender_of_a_thread_known_only_from_the_list(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier)
    await sync.refresh_conversations()  # the list only: no participants cached
    assert store.summary(group.id) is not None and store.conversation(group.id) is None
    cursor = (await staff.events(after=None, wait=0)).cursor
    sender, *others = group.participants
    await admin.sandbox_inbound(
        sender.phone, [group.from_number or "", *(p.phone for p in others)], "On my way"
    )
    batch = await staff.events(after=cursor, wait=0)
    # Over SSE each event comes alone: the message before the conversation's update
    # (a long-poll batch would store the update first and hide the gap).
    for event in batch.events:
        if event.type is EventType.MESSAGE_CREATED:
            await sync._apply([event], event.id)
    assert len(notifier.shown) == 1
    assert sender.name in notifier.shown[0][1]


async def test_a_one_to_one_notice_names_the_sender_once(admin: ApiClient) -> None:
    """The title is the person; the body is what they wrote (a group's says who)."""
    direct = next(
        c for c in (await admin.search_conversations(limit=50)).conversations if not c.is_group
    )
    conversation = await admin.get_conversation(direct.id)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(admin, store, notifier=notifier)
    await sync.refresh_conversations()
    await sync.load_conversation(direct.id)
    cursor = (await admin.events(after=None, wait=0)).cursor
    person = conversation.participants[0]
    await admin.sandbox_inbound(person.phone, [conversation.from_number or ""], "Running late")
    batch = await admin.events(after=cursor, wait=0)
    await sync._apply(batch.events, batch.cursor)
    assert notifier.shown == [(direct.name, "Running late", direct.id)]
    assert direct.name == (person.current_name or person.name)


async def unread_on_server(client: ApiClient, conversation_id: str) -> int:
    page = await client.search_conversations(limit=50)
    return {c.id: c.unread_count for c in page.conversations}[conversation_id]


async def test_the_open_thread_is_marked_read_instead_of_notified(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier)
    sync.open_conversation_id = group.id
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        await sync.mark_read(group.id)
        shown: list[int] = []  # the unread count the screen could show after each change

        def record(_: object) -> None:
            summary = store.summary(group.id)
            shown.append(summary.unread_count if summary else 0)

        store.subscribe(record)
        sender, *others = group.participants
        await admin.sandbox_inbound(
            sender.phone, [group.from_number or "", *(p.phone for p in others)], "Are you there?"
        )
        await eventually(lambda: "Are you there?" in bodies(store, group.id))

        for _ in range(500):  # bounded: the read mark follows the event within moments
            if await unread_on_server(admin, group.id) == 0:
                break
            await asyncio.sleep(0.02)
        assert await unread_on_server(admin, group.id) == 0
        assert notifier.shown == []
        summary = store.summary(group.id)
        assert summary is not None and summary.unread_count == 0
        # Read as it came: never "1 unread" for a moment (a bold row, a badge one higher).
        assert shown and set(shown) == {0}
    finally:
        await sync.stop()


async def test_resuming_from_the_cursor_misses_nothing_and_repeats_nothing(
    tmp_path: Path, admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    db = str(tmp_path / "staff.db")
    store = Store(db)
    added: Counter[str] = Counter()

    def count(change: Change) -> None:
        if isinstance(change, MessageAdded):
            added[change.message.id] += 1

    store.subscribe(count)
    sync = make_sync(staff, store)
    await sync.start()
    # Sent once the cursor is fixed: a first run follows from then on. (This passed by
    # luck while each delivery update carried the whole message, bringing it in late.)
    await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
    await admin.send_message(group.id, "before the drop")
    await eventually(lambda: "before the drop" in bodies(store, group.id))
    await sync.stop()  # the connection drops; the app may even restart
    store.close()

    for i in range(5):
        await admin.send_message(group.id, f"while away {i}")

    store = Store(db)
    store.subscribe(count)
    sync = make_sync(staff, store)
    await sync.start()
    try:
        await eventually(lambda: "while away 4" in bodies(store, group.id))
        await admin.send_message(group.id, "after the return")
        await eventually(lambda: "after the return" in bodies(store, group.id))
        seen = bodies(store, group.id)
        expected = ["before the drop", *(f"while away {i}" for i in range(5)), "after the return"]
        assert [b for b in seen if b in expected] == expected
        assert all(n == 1 for n in added.values()), added
    finally:
        await sync.stop()


async def device_that_followed(tmp_path: Path, admin: ApiClient, *, texts: int) -> Store:
    """A device's cache that followed this server's log through ``texts`` texts into its
    first group, then stopped (the server is then replaced behind the same address)."""
    group = (await admin.search_conversations(limit=1)).conversations[0]
    store = Store(str(tmp_path / "device.db"))
    sync = make_sync(admin, store)
    await sync.start()
    await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
    for i in range(texts):
        await admin.send_message(group.id, f"old log {i}")
    await eventually(lambda: f"old log {texts - 1}" in bodies(store, group.id))
    await sync.stop()
    return store


async def test_a_server_with_a_new_log_behind_the_same_address_is_followed_from_its_start(
    tmp_path: Path, admin: ApiClient
) -> None:
    """A server made anew (or restored) numbers its events from 1 again: the ids this
    device applied from the old log must not hide the new log's events."""
    store = await device_that_followed(tmp_path, admin, texts=12)
    old_cursor = store.cursor()
    assert old_cursor is not None and int(old_cursor) > 12

    (tmp_path / "new").mkdir()
    fresh = sandbox_app(tmp_path / "new")  # the same address, a new database
    async with client_for(fresh, "demo-admin") as again:
        sync = make_sync(again, store)
        await sync.start()
        try:
            await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
            await eventually(lambda: int(store.cursor() or 0) < int(old_cursor))
            new_group = (await again.search_conversations(limit=1)).conversations[0]
            await again.send_message(new_group.id, "new log")
            # Its MessageCreated has an id the old log's events had too.
            await eventually(lambda: "new log" in bodies(store, new_group.id))
        finally:
            await sync.stop()


async def test_a_new_log_already_longer_than_the_device_s_cursor_is_told_by_its_name(
    tmp_path: Path, admin: ApiClient
) -> None:
    """A database made anew that has logged more events than this device applied gives
    no sign by its cursor: the device would take the new log's later events and never
    see its earlier ones (their ids are ones it had). The log's name tells them apart."""
    store = await device_that_followed(tmp_path, admin, texts=1)
    old_cursor, old_log = int(store.cursor() or 0), store.event_log()
    assert old_log is not None

    (tmp_path / "new").mkdir()
    fresh = sandbox_app(tmp_path / "new")  # the same address, a new database
    async with client_for(fresh, "demo-admin") as again:
        early, other = (await again.search_conversations(limit=2)).conversations
        await again.send_message(early.id, "early in the new log")  # an id the device had
        while int((await again.events(wait=0)).cursor or 0) <= old_cursor + 2:
            await again.send_message(other.id, "the new log passes the old cursor")
        sync = make_sync(again, store)
        await sync.start()
        try:
            await eventually(lambda: store.event_log() == fresh.state.server.hub.log_id)
            summary = store.summary(early.id)
            assert summary is not None and summary.last_message_body == "early in the new log"
            await again.send_message(early.id, "after the switch")
            await eventually(lambda: "after the switch" in bodies(store, early.id))
        finally:
            await sync.stop()


async def test_a_cursor_kept_before_logs_had_names_takes_the_name_and_goes_on(
    tmp_path: Path, admin: ApiClient
) -> None:
    """A device that followed this server before it named its log is not sent back to
    the start: it takes the name and applies what it missed, no more."""
    group = (await admin.search_conversations(limit=1)).conversations[0]
    store = Store(str(tmp_path / "device.db"))
    store.set_cursor((await admin.events(wait=0)).cursor)
    await admin.send_message(group.id, "missed while away")
    sync = make_sync(admin, store)
    await sync.start()
    try:
        # Had it started the log afresh, it would follow from now and never get this.
        await eventually(lambda: "missed while away" in bodies(store, group.id))
        assert store.event_log() is not None
    finally:
        await sync.stop()


async def test_a_send_that_gets_through_ends_the_wait_to_reconnect(
    app: Starlette, admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    # Only the event requests fail: the outbox can reach the server meanwhile.
    flaky = FlakyTransport(
        httpx.ASGITransport(app=app), refuse=1.0, applies=lambda r: "/events" in r.url.path
    )
    client = client_for(flaky, "demo-staff", retry=RetryPolicy.never())
    store = Store()
    store.set_cursor((await staff.events(after=None, wait=0)).cursor or "0")
    # A backoff far longer than this test may run: only the wake-up can reconnect.
    sync = make_sync(client, store, backoff=Backoff(base=600.0, cap=600.0), live=LiveMode.LONG_POLL)
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.OFFLINE)
        flaky.refuse = 0.0
        await sync.send(group.id, "Through at last")
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
    finally:
        await sync.stop()
        await client.aclose()


async def test_connection_state_goes_offline_and_comes_back(app: Starlette) -> None:
    flaky = FlakyTransport(httpx.ASGITransport(app=app))
    client = client_for(flaky, "demo-staff", retry=RetryPolicy.never())
    store = Store()
    states: list[ConnectionState] = []
    store.subscribe(lambda c: states.append(c.state) if isinstance(c, ConnectionChanged) else None)
    sync = make_sync(client, store, live=LiveMode.LONG_POLL, long_poll_wait=1)
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        flaky.down = True
        await eventually(lambda: sync.connection_state is ConnectionState.OFFLINE)
        flaky.down = False
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        assert states[:1] == [ConnectionState.CONNECTED]
        assert ConnectionState.OFFLINE in states
        assert states[-1] is ConnectionState.CONNECTED
    finally:
        await sync.stop()
        await client.aclose()


async def test_sse_refused_in_process_falls_back_to_long_poll(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    store = Store()
    sync = make_sync(staff, store, live=LiveMode.SSE)
    await sync.start()
    try:
        await eventually(lambda: sync.mode is LiveMode.LONG_POLL)
        await admin.send_message(group.id, "via long-poll")
        await eventually(lambda: "via long-poll" in bodies(store, group.id))
    finally:
        await sync.stop()


async def test_polling_fallback_picks_up_new_messages(admin: ApiClient, staff: ApiClient) -> None:
    group = await shared_group(admin, staff)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier, live=LiveMode.POLL, poll_interval=0.05)
    await sync.load_conversation(group.id)
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        sender, *others = group.participants
        await admin.sandbox_inbound(
            sender.phone, [group.from_number or "", *(p.phone for p in others)], "polled"
        )
        await eventually(lambda: "polled" in bodies(store, group.id))
        await eventually(lambda: len(notifier.shown) == 1)
    finally:
        await sync.stop()


async def test_cold_start_reads_the_cache_with_the_backend_unreachable(
    tmp_path: Path, admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    db = str(tmp_path / "staff.db")
    store = Store(db)
    sync = make_sync(staff, store)
    await sync.refresh_conversations()
    await sync.load_conversation(group.id)
    history = bodies(store, group.id)
    store.close()

    dead = FlakyTransport(httpx.MockTransport(lambda r: httpx.Response(500)))
    dead.down = True
    offline_client = client_for(dead, "demo-staff", retry=RetryPolicy.never())
    store = Store(db)
    sync = make_sync(offline_client, store)
    assert bodies(store, group.id) == history and history
    assert group.id in [s.id for s in store.conversations()]
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.OFFLINE)
    finally:
        await sync.stop()
        await offline_client.aclose()


async def test_load_older_pages_back_through_history(admin: ApiClient, staff: ApiClient) -> None:
    group = await shared_group(admin, staff)
    for i in range(60):
        await admin.send_message(group.id, f"bulk {i}")
    store = Store()
    sync = make_sync(staff, store)
    await sync.load_conversation(group.id)
    first = len(store.messages(group.id, limit=1000))
    while await sync.load_older(group.id):
        pass
    everything = bodies(store, group.id)
    assert len(everything) > first
    bulk = [b for b in everything if b.startswith("bulk ")]
    assert bulk == [f"bulk {i}" for i in range(60)]


async def test_refresh_people_caches_what_the_user_may_see(
    admin: ApiClient, staff: ApiClient
) -> None:
    store = Store()
    store.put_contacts([Contact(id="gone", first_name="Stale")])
    sync = make_sync(staff, store)
    await sync.refresh_people()
    on_server = {c.id async for c in staff.iter_contacts()}
    assert {c.id for c in store.contacts(limit=None)} == on_server
    assert store.contact("gone") is None
    everyone = {c.id async for c in admin.iter_contacts()}
    assert on_server < everyone  # staff is limited to assigned contacts
    assert store.teammates()


async def test_a_hidden_window_notifies_even_for_the_open_thread(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier)
    sync.open_conversation_id = group.id
    sync.visible = False
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        sender, *others = group.participants
        await admin.sandbox_inbound(
            sender.phone, [group.from_number or "", *(p.phone for p in others)], "Still there?"
        )
        await eventually(lambda: len(notifier.shown) == 1)
        summary = store.summary(group.id)
        assert summary is not None and summary.unread_count > 0
    finally:
        await sync.stop()


async def test_a_list_refresh_takes_the_thread_a_window_shows_as_read(
    admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    sender, *others = group.participants
    to = [group.from_number or "", *(p.phone for p in others)]
    await admin.sandbox_inbound(sender.phone, to, "Came in before the window showed it")

    assert await unread_on_server(admin, group.id) > 0
    store = Store()
    sync = make_sync(staff, store)
    sync.window().conversation_id = group.id
    await sync.refresh_conversations()
    summary = store.summary(group.id)
    assert summary is not None and summary.unread_count == 0
    assert await unread_on_server(admin, group.id) == 0


async def test_each_window_reads_its_own_thread_whatever_another_window_does(
    admin: ApiClient, staff: ApiClient
) -> None:
    # The web app serves a window per browser tab, all on one Sync: a tab hidden, then
    # closed, must not stop another tab on screen from reading the same thread.
    group = await shared_group(admin, staff)
    store, notifier = Store(), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier)
    first, second = sync.window(), sync.window()
    first.conversation_id = second.conversation_id = group.id
    first.visible = False  # a tab in the background
    await sync.start()
    try:
        await eventually(lambda: sync.connection_state is ConnectionState.CONNECTED)
        sender, *others = group.participants
        to = [group.from_number or "", *(p.phone for p in others)]
        await admin.sandbox_inbound(sender.phone, to, "Read in the second tab")
        await eventually(lambda: "Read in the second tab" in bodies(store, group.id))
        await asyncio.sleep(0.3)  # the notice would follow the message at once
        assert notifier.shown == []
        summary = store.summary(group.id)
        assert summary is not None and summary.unread_count == 0
        sync.close_window(second)  # the tab that showed it is closed: the next text is news
        await admin.sandbox_inbound(sender.phone, to, "Nobody is looking")
        await eventually(lambda: len(notifier.shown) == 1)
    finally:
        await sync.stop()


async def test_catching_up_on_many_messages_makes_one_summary_notice(
    tmp_path: Path, admin: ApiClient, staff: ApiClient
) -> None:
    group = await shared_group(admin, staff)
    db = str(tmp_path / "staff.db")
    store, notifier = Store(db), RecordingNotifier()
    sync = make_sync(staff, store, notifier=notifier)
    await sync.start()
    await eventually(lambda: store.cursor() is not None)
    await sync.stop()
    sender, *others = group.participants
    to = [group.from_number or "", *(p.phone for p in others)]
    for i in range(5):
        await admin.sandbox_inbound(sender.phone, to, f"while you were out {i}")

    sync = make_sync(staff, store, notifier=notifier)
    await sync.start()
    try:
        await eventually(lambda: "while you were out 4" in bodies(store, group.id))
        await eventually(lambda: len(notifier.shown) >= 1)
        assert notifier.shown == [("5 new messages", "In a conversation.", group.id)]
    finally:
        await sync.stop()
