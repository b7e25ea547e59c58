"""The thread's view-model: window, separators, states, banner, composer, files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.state.thread import DaySeparator, MessageItem, ThreadVM, message_state
from services.attachments import AttachmentSource
from services.models import Direction, MessageStatus, Recipient
from services.store import Store
from tests.app.fakes import T0, FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number, make_user

NOW = T0 + timedelta(days=1, hours=2)


def thread(n=5, me=None, numbers=None, **conv_fields):
    store = Store(":memory:")
    conv = make_conversation(contacts=make_contacts(3), name="Team", **conv_fields)
    store.put_conversation(conv)
    store.put_messages(conv.id, [make_message(conv) for _ in range(n)])
    me = me or make_admin(id="admin")
    sync = FakeSync(store, me)
    vm = ThreadVM(
        store=store,
        sync=sync,
        me=me,
        numbers=numbers or [make_number()],
        conversation_id=conv.id,
        now=lambda: NOW,
    )
    store.subscribe(vm.on_store_change)
    return store, conv, vm, sync


def test_rows_start_each_day_with_a_separator():
    store, conv, vm, _ = thread(n=0)
    yesterday = make_message(conv, date_added=NOW - timedelta(days=1))
    today = make_message(conv, date_added=NOW - timedelta(minutes=5))
    store.put_messages(conv.id, [yesterday, today])
    labels = [r.label for r in vm.rows if isinstance(r, DaySeparator)]
    assert labels == ["Yesterday", "Today"]


def test_state_per_message():
    conv = make_conversation(contacts=make_contacts(2))
    rec = [Recipient(participant_id=p.id, phone=p.phone) for p in conv.participants]
    sent = make_message(
        conv,
        status=MessageStatus.SENT,
        recipients=[r.model_copy(update={"status": MessageStatus.SENT}) for r in rec],
    )
    failed = make_message(
        conv,
        recipients=[
            rec[0].model_copy(update={"status": MessageStatus.DELIVERED}),
            rec[1].model_copy(update={"status": MessageStatus.UNDELIVERED}),
        ],
    )
    inbound = make_message(conv, direction=Direction.INBOUND, recipients=[])
    assert message_state(sent) == "sent"
    assert message_state(failed) == "failed"
    assert message_state(make_message(conv)) == "delivered"
    assert message_state(inbound) == "received"


def test_sender_names_on_inbound_messages_and_teammates():
    store, conv, vm, _ = thread(n=0)
    mate = make_user(id="mate", name="Tia Lopez")
    vm.users = {"mate": mate}
    p = conv.participants[1]
    store.put_messages(
        conv.id,
        [
            make_message(conv, direction=Direction.INBOUND, participant_id=p.id, recipients=[]),
            make_message(conv, user_id="mate"),
            make_message(conv, user_id="admin"),
        ],
    )
    items = [r for r in vm.rows if isinstance(r, MessageItem)]
    assert [i.sender for i in items] == [p.name, "Tia Lopez", ""]


@pytest.mark.anyio
async def test_send_shows_at_once_and_clears_the_draft():
    _store, conv, vm, sync = thread()
    vm.set_draft("hi all")
    assert vm.draft() == "hi all"
    said = []
    vm.listen(lambda what, payload: said.append(what))
    assert await vm.send("  hi all ")
    assert sync.sent == [(conv.id, "hi all")]
    assert said.count("append") == 1
    assert vm.rows[-1].state == "sending"
    assert vm.draft() == ""


@pytest.mark.anyio
async def test_an_empty_message_is_refused_in_words():
    _, _, vm, sync = thread()
    assert not await vm.send("   ")
    assert vm.error == "Type a message or attach a file first."
    assert sync.sent == []


@pytest.mark.anyio
async def test_a_blocked_group_names_who_and_refuses_to_send():
    store, conv, vm, sync = thread()
    evan = conv.participants[0]
    store.put_conversation(conv.model_copy(update={"blocked": True, "blocked_by": [evan.id]}))
    assert vm.banner and vm.banner.startswith(f"{evan.name} turned on Do Not Disturb")
    assert vm.recreate_label == f"Create new group without {evan.name}"
    assert not await vm.send("hello")
    assert "Do Not Disturb" in (vm.error or "")
    assert sync.sent == []


def test_without_access_to_the_from_number_the_composer_is_replaced():
    staff = make_user(id="staff")
    _, _, vm, _ = thread(me=staff, numbers=[make_number(linked_user="other")])
    assert vm.composer_block == "You can't send from this number"
    assert not vm.can_send


@pytest.mark.anyio
async def test_a_failed_send_is_said_with_the_errors_sentence():
    from services.api.errors import NetworkError

    _, _, vm, sync = thread()
    sync.errors["send"] = NetworkError("down")
    assert not await vm.send("hello")
    assert vm.error == NetworkError("down").user_message


@pytest.mark.anyio
async def test_files_the_carrier_refuses_are_said_before_upload():
    _, _, vm, sync = thread()
    files = [AttachmentSource(name="setup.exe", data=b"MZ" + b"0" * 100)]
    kept = await vm.check_files(files)
    assert kept == []
    assert vm.error and "setup.exe" in vm.error
    assert not await vm.send("see attached", files)
    assert sync.sent == []


@pytest.mark.anyio
async def test_older_pages_come_from_the_server_when_the_cache_runs_out():
    _store, conv, vm, sync = thread(n=30)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    sync.older[conv.id] = [
        make_message(conv, date_added=first + timedelta(minutes=i)) for i in range(5)
    ]
    assert vm.has_older
    rows = await vm.load_older()
    assert len([r for r in rows if isinstance(r, MessageItem)]) == 5
    assert len(vm.messages) == 35
    assert await vm.load_older() == []
    assert not vm.has_older


def test_delivery_detail_lists_every_participant():
    _store, conv, vm, _ = thread(n=1)
    item = vm.rows[-1]
    lines = vm.delivery(item)
    assert [line.name for line in lines] == [p.name for p in conv.participants]
    assert {line.status for line in lines} == {"Delivered"}
