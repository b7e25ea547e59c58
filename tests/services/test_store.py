"""The local store: ordering, reconciliation, exactly-once events, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.models import (
    Contact,
    Conversation,
    ConversationSummary,
    Event,
    Message,
    MessageStatus,
    Participant,
    Recipient,
)
from services.store import Store
from services.store_types import (
    Change,
    ConversationChanged,
    ConversationsReset,
    MessageAdded,
    MessageRemoved,
    MessageUpdated,
    OutboxFile,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def summary(cid: str, minute: int, unread: int = 0, name: str | None = None) -> ConversationSummary:
    date = int((T0 + timedelta(minutes=minute)).timestamp() * 1000)
    return ConversationSummary(
        id=cid, name=name or cid, last_message_date=date, unread_count=unread
    )


def message(mid: str, cid: str, minute: int, cmid: str | None = None, body: str = "") -> Message:
    return Message(
        id=mid,
        conversation_id=cid,
        direction="outbound" if cmid else "inbound",  # type: ignore[arg-type]
        body=body or mid,
        date_added=T0 + timedelta(minutes=minute),
        status=MessageStatus.SENT,
        client_message_id=cmid,
    )


def event(eid: str, kind: str, data: dict[str, Any]) -> Event:
    return Event(id=eid, type=kind, data=data)  # type: ignore[arg-type]


def recorder(store: Store) -> list[Change]:
    seen: list[Change] = []
    store.subscribe(seen.append)
    return seen


def test_conversations_are_newest_first_and_move_one_row_at_a_time() -> None:
    store = Store()
    store.put_conversations([summary("a", 1), summary("b", 2), summary("c", 3)])
    assert [s.id for s in store.conversations()] == ["c", "b", "a"]
    seen = recorder(store)
    store.put_conversations([summary("a", 10)])
    assert [s.id for s in store.conversations()] == ["a", "c", "b"]
    assert seen == [ConversationChanged("a")]
    assert [s.id for s in store.conversations(limit=2)] == ["a", "c"]


def test_unchanged_summary_emits_nothing() -> None:
    store = Store()
    store.put_conversations([summary("a", 1)])
    seen = recorder(store)
    store.put_conversations([summary("a", 1)])
    assert seen == []


def test_conversation_search_matches_name_and_participant_phone() -> None:
    store = Store()
    store.put_conversations([summary("a", 1, name="Book club"), summary("b", 2, name="Team")])
    store.put_conversation(
        Conversation(
            **dict(summary("b", 2, name="Team")),
            participants=[Participant(id="p1", name="Ann", phone="+14155550123")],
        )
    )
    assert [s.id for s in store.conversations("book")] == ["a"]
    assert [s.id for s in store.conversations("(415) 555")] == ["b"]
    assert [s.id for s in store.conversations("ann")] == ["b"]


def test_conversation_search_is_on_indexes_with_the_matching_words_marked(tmp_path) -> None:
    path = str(tmp_path / "cache.sqlite3")
    store = Store(path)
    store.put_conversations(
        [summary("a", 1, name="Book club"), summary("b", 2, name="Team"), summary("c", 3)]
    )
    store.put_conversation(
        Conversation(
            **dict(summary("b", 2, name="Team")),
            participants=[Participant(id="p1", name="José Núñez", phone="+14155550123")],
        )
    )
    store.put_messages("a", [message("m1", "a", 1, body="Practice moved to Saturday")])
    store.put_messages("a", [message("m2", "a", 2, body="Bring the BOOKS, practice is at 5")])
    store.put_messages("c", [message("m3", "c", 3, body="Café at noon?")])
    assert [s.id for s in store.conversations("practice sat")] == ["a"]  # one message, both
    assert [s.id for s in store.conversations("prac")] == ["a"]  # words match from the start
    assert store.conversations("actice") == []  # not from inside a word
    assert [s.id for s in store.conversations("jose nunez")] == ["b"]  # accents ignored
    assert [s.id for s in store.conversations("cafe")] == ["c"]
    assert [s.id for s in store.conversations("5550")] == ["b"]  # digits anywhere
    assert [s.id for s in store.conversations("book")] == ["a"]  # name, and a message
    # The newest matching message, its matching words marked.
    match = store.search_match("a", "practice")
    assert match is not None and match.text == "Bring the BOOKS, practice is at 5"
    assert [match.text[a:b] for a, b in match.highlights] == ["practice"]
    assert store.search_match("b", "practice") is None
    # Kept by the writes: a changed or removed message leaves the index with it, and the
    # index outlives a restart.
    store.put_messages("c", [message("m3", "c", 3, body="Lunch at noon?")])
    assert store.conversations("cafe") == []
    store.close()
    again = Store(path)
    assert [s.id for s in again.conversations("lunch")] == ["c"]
    assert [s.id for s in again.conversations("team")] == ["b"]


def test_message_pages_are_oldest_to_newest_and_page_backwards() -> None:
    store = Store()
    store.put_messages("c1", [message(f"m{i:02}", "c1", i) for i in range(30)])
    page = store.messages("c1", limit=10)
    assert [m.id for m in page] == [f"m{i:02}" for i in range(20, 30)]
    older = store.messages("c1", limit=10, before=page[0].key)
    assert [m.id for m in older] == [f"m{i:02}" for i in range(10, 20)]
    by_id = store.messages("c1", limit=5, before="m10")
    assert [m.id for m in by_id] == [f"m{i:02}" for i in range(5, 10)]
    # Forwards too (a thread window coming back down to messages it released).
    newer = store.messages("c1", limit=4, after=older[-1].key)
    assert [m.id for m in newer] == [f"m{i:02}" for i in range(20, 24)]
    assert store.messages("c1", limit=4, after="m29") == []


def test_optimistic_message_is_reconciled_with_server_copy_by_client_message_id() -> None:
    store = Store()
    store.put_conversations([summary("c1", 1)])
    seen = recorder(store)
    local = store.add_outgoing("c1", "hello", local_id="L1")
    assert local.local_state == "sending"
    assert [m.key for m in store.messages("c1")] == ["c:L1"]
    assert isinstance(seen[0], MessageAdded)
    assert store.summary("c1") is not None
    assert store.summary("c1").last_message_body == "hello"  # type: ignore[union-attr]

    server = message("srv1", "c1", 5, cmid="L1", body="hello")
    store.put_messages("c1", [server])
    shown = store.messages("c1")
    assert len(shown) == 1
    assert shown[0].id == "srv1"
    assert shown[0].local_state == "sent"
    assert shown[0].local_id == "L1"
    assert shown[0].key == local.key
    assert any(isinstance(c, MessageUpdated) for c in seen)
    assert store.outbox() == []  # the server has it: nothing left to send


def test_send_result_then_server_copy_without_client_id_is_not_shown_twice() -> None:
    # LeadConnector does not echo clientMessageId; the server id from the send links them.
    store = Store()
    store.add_outgoing("c1", "hi", local_id="L1")
    store.outbox_sent("L1", "srv9", MessageStatus.QUEUED)
    store.put_messages("c1", [message("srv9", "c1", 3)])
    shown = store.messages("c1")
    assert [(m.id, m.local_state) for m in shown] == [("srv9", "sent")]


def test_events_apply_exactly_once_even_after_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    store = Store(db)
    store.put_conversations([summary("c1", 1)])
    created = event("e1", "MessageCreated", {"message": message("m1", "c1", 2).to_wire()})
    assert store.apply_event(created, cursor="e1") is True
    assert store.apply_event(created, cursor="e1") is False
    store.close()

    reopened = Store(db)
    seen = recorder(reopened)
    assert reopened.apply_events([created], cursor="e1") == []
    assert seen == []
    assert [m.id for m in reopened.messages("c1")] == ["m1"]
    assert reopened.cursor() == "e1"


def test_conversation_updated_event_moves_the_unread_total() -> None:
    store = Store()
    store.put_conversations([summary("a", 1, unread=2), summary("b", 2)])
    assert store.unread_total() == 2
    store.apply_event(event("e1", "ConversationUpdated", {"conversationId": "b", "unreadCount": 3}))
    assert store.unread_total() == 5
    store.apply_event(event("e2", "ConversationUpdated", {"id": "a", "unreadCount": 0}))
    assert store.unread_total() == 3
    assert store.summary("a").unread_count == 0  # type: ignore[union-attr]


def test_the_conversation_being_read_takes_no_unread_count() -> None:
    store = Store()
    store.put_conversations([summary("a", 1), summary("b", 2)])
    updated = [
        event("e1", "ConversationUpdated", {"conversationId": "a", "unreadCount": 4}),
        event("e2", "ConversationUpdated", {"id": "b", "unreadCount": 3, "lastMessageBody": "hi"}),
    ]
    store.apply_events(updated, reading="b")
    assert store.summary("a").unread_count == 4  # type: ignore[union-attr]
    assert store.summary("b").unread_count == 0  # type: ignore[union-attr]
    assert store.summary("b").last_message_body == "hi"  # type: ignore[union-attr]
    assert store.unread_total() == 4


def test_an_update_that_changes_nothing_emits_nothing_even_for_the_open_thread() -> None:
    """The server repeats what a text's own event said (its preview; unread 0 for the
    thread on screen): listeners would redraw the list and the thread for nothing."""
    store = Store()
    store.put_conversations([summary("a", 1), summary("b", 2)])
    opened = Conversation(
        **dict(summary("a", 1)), participants=[Participant(id="p1", phone="+15550100")]
    )
    store.put_conversation(opened)  # the thread on screen: its full record is kept
    seen = recorder(store)
    same = {"conversationId": "a", "unreadCount": 0, "lastMessageDate": opened.last_message_date}
    store.apply_events([event("e1", "ConversationUpdated", same)], reading="a")
    store.apply_event(event("e2", "ConversationUpdated", {"id": "b", "unreadCount": 0}))
    assert seen == []
    store.apply_event(event("e3", "ConversationUpdated", {**same, "name": "Porch crew"}))
    assert seen == [ConversationChanged("a")]
    assert store.conversation("a").name == "Porch crew"  # type: ignore[union-attr]
    assert store.conversation("a").participants[0].phone == "+15550100"  # type: ignore[union-attr]


def test_status_event_updates_one_message() -> None:
    store = Store()
    store.put_messages("c1", [message("m1", "c1", 1, cmid="x")])
    seen = recorder(store)
    store.apply_event(
        event("e1", "MessageStatusUpdated", {"messageId": "m1", "status": "delivered"})
    )
    assert store.messages("c1")[0].status is MessageStatus.DELIVERED
    assert [type(c) for c in seen] == [MessageUpdated]


def test_a_recipients_step_moves_that_recipient_and_the_message() -> None:
    store = Store()
    sent = message("m1", "c1", 1, cmid="x").model_copy(
        update={
            "recipients": [
                Recipient(participant_id="p1", phone="+14155550111", status="sent"),
                Recipient(participant_id="p2", phone="+14155550112", status="sent"),
            ],
            "status": MessageStatus.SENT,
        }
    )
    store.put_messages("c1", [sent])
    step = {"conversationId": "c1", "messageId": "m1", "participantId": "p2"}
    store.apply_event(
        event(
            "e1",
            "MessageStatusUpdated",
            step
            | {
                "status": "undelivered",
                "error": "Carrier said no.",
                "message": {"id": "m1", "status": "sent"},
            },
        )
    )
    shown = store.messages("c1")[0]
    assert [(r.participant_id, r.phone, r.status, r.error) for r in shown.recipients] == [
        ("p1", "+14155550111", MessageStatus.SENT, None),
        ("p2", "+14155550112", MessageStatus.UNDELIVERED, "Carrier said no."),
    ]
    assert shown.status is MessageStatus.SENT  # the message's own, not the recipient's
    store.apply_event(
        event(
            "e2",
            "MessageStatusUpdated",
            step
            | {
                "participantId": "p1",
                "status": "delivered",
                "error": None,
                "message": {"id": "m1", "status": "undelivered"},
            },
        )
    )
    shown = store.messages("c1")[0]
    assert [r.status for r in shown.recipients] == [
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
    ]
    assert shown.status is MessageStatus.UNDELIVERED


def test_unknown_and_malformed_events_are_skipped_not_fatal() -> None:
    store = Store()
    assert store.apply_event(event("e1", "SomethingNew", {"x": 1})) is True
    assert store.apply_event(event("e2", "MessageCreated", {"message": {"bad": 1}})) is True
    assert store.apply_event(event("e1", "SomethingNew", {"x": 1})) is False
    assert store.messages("c1") == []


def test_drafts_and_cursor_survive_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    store = Store(db)
    store.set_draft("c1", "half a thought")
    store.set_cursor("42")
    store.close()
    reopened = Store(db)
    assert reopened.draft("c1") == "half a thought"
    assert reopened.draft("c2") == ""
    assert reopened.cursor() == "42"
    reopened.set_draft("c1", "")
    reopened.close()
    assert Store(db).draft("c1") == ""


def test_attachment_sizes_survive_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    store = Store(db)
    assert store.file_size("https://files/a.pdf") is None
    store.put_file_size("https://files/a.pdf", 48_000)
    store.put_file_size("https://files/a.pdf", 48_001)  # measured again: the last one wins
    store.close()
    reopened = Store(db)
    assert reopened.file_size("https://files/a.pdf") == 48_001
    assert reopened.file_size("https://files/b.pdf") is None


def test_outbox_keeps_order_and_progress_across_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "cache.db")
    store = Store(db)
    for i in range(3):
        store.add_outgoing("c1", f"m{i}", local_id=f"L{i}")
    store.add_outgoing(
        "c2", "other", [OutboxFile("a.png", "image/png", "/tmp/a.png")], local_id="X"
    )
    entry = store.outbox_entry("X")
    assert entry is not None
    entry.files[0].url = "https://files/a.png"
    entry.attempts = 2
    store.outbox_save(entry)
    store.outbox_set_state("L1", "failed", "The group is blocked.")
    store.close()

    reopened = Store(db)
    entries = reopened.outbox()
    assert [e.local_id for e in entries] == ["L0", "L1", "L2", "X"]
    assert entries[1].state == "failed"
    assert entries[3].files[0].url == "https://files/a.png"
    assert entries[3].attempts == 2
    states = [(m.local_id, m.local_state) for m in reopened.messages("c1")]
    assert states == [("L0", "sending"), ("L1", "failed"), ("L2", "sending")]
    assert reopened.messages("c1")[1].error == "The group is blocked."


def test_discarding_an_outbox_message_removes_its_bubble() -> None:
    store = Store()
    store.add_outgoing("c1", "oops", local_id="L1")
    seen = recorder(store)
    removed = store.outbox_remove("L1")
    assert removed is not None and removed.body == "oops"
    assert store.messages("c1") == []
    assert seen == [MessageRemoved("c1", "c:L1")]


def test_contact_search_by_name_and_digits() -> None:
    store = Store()
    store.put_contacts(
        [
            Contact(id="1", first_name="Ann", last_name="Lee", phone="+14155550123"),
            Contact(id="2", first_name="Bob", last_name="Annis", phone="+16045550199"),
            Contact(id="3", first_name="Cy", email="cy@example.com"),
        ]
    )
    assert [c.id for c in store.contacts("ann")] == ["1", "2"]
    assert [c.id for c in store.contacts("ann l")] == ["1"]
    assert [c.id for c in store.contacts("(604) 555")] == ["2"]
    assert [c.id for c in store.contacts("example")] == ["3"]
    assert len(store.contacts("")) == 3
    store.apply_event(event("e1", "ContactDeleted", {"contactId": "1"}))
    assert [c.id for c in store.contacts("ann")] == ["2"]


def test_a_failing_listener_does_not_stop_others() -> None:
    store = Store()

    def broken(change: Change) -> None:
        raise RuntimeError("view bug")

    store.subscribe(broken)
    seen = recorder(store)
    store.put_conversations([summary("a", 1)])
    assert seen == [ConversationChanged("a")]


def test_unsubscribe_stops_changes() -> None:
    store = Store()
    seen: list[Change] = []
    unsubscribe = store.subscribe(seen.append)
    unsubscribe()
    store.put_conversations([summary("a", 1)])
    assert seen == []


def test_same_millisecond_messages_keep_server_order_across_pages() -> None:
    # Pages arrive newest first, and the older page arrives later.
    store = Store()
    newest = [message(f"n{i}", "c1", 5, body=f"b{i}") for i in range(10, 20)]
    older = [message(f"n{i}", "c1", 5, body=f"b{i}") for i in range(10)]
    store.put_messages("c1", list(reversed(newest)))
    store.put_messages("c1", list(reversed(older)))
    assert [m.body for m in store.messages("c1")] == [f"b{i}" for i in range(20)]


def test_contact_edits_keep_the_name_order_and_the_search_current() -> None:
    store = Store()
    store.put_contacts([Contact(id=str(i), first_name=n) for i, n in enumerate(["Cy", "Al", "Bo"])])
    assert [c.display_name for c in store.contacts()] == ["Al", "Bo", "Cy"]
    store.apply_event(event("e1", "ContactUpdated", {"contact": {"id": "1", "firstName": "Zed"}}))
    assert [c.display_name for c in store.contacts()] == ["Bo", "Cy", "Zed"]
    assert [c.id for c in store.contacts("al")] == []
    store.retain_contacts({"0"})
    assert [c.display_name for c in store.contacts()] == ["Cy"]


def test_a_full_refresh_forgets_conversations_no_longer_visible() -> None:
    store = Store()
    store.put_conversations([summary("a", 1, unread=1), summary("b", 2, unread=2)])
    store.put_messages("a", [message("m1", "a", 1)])
    seen = recorder(store)
    store.put_conversations([summary("b", 2, unread=2)], replace=True)
    assert [s.id for s in store.conversations()] == ["b"]
    assert store.unread_total() == 2
    assert store.messages("a") == []
    assert ConversationsReset() in seen
