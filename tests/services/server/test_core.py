"""What the server keeps between requests follows the database: a conversation's people,
the conversation as a send reads it, a location's numbers, a token's user."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.server import clock
from services.server.core import MessagingServer
from services.server.seed import ADMIN_TOKEN, LOCATION, apply_seed
from services.server.writes import NewMessage, insert_message


@pytest.fixture
def server(tmp_path: Path) -> MessagingServer:
    server = MessagingServer(tmp_path / "core.db", latency_ms=60_000)
    apply_seed(server, "demo")
    return server


def _someone(server: MessagingServer) -> tuple[str, str]:
    """A group conversation and the contact id of its first participant."""
    row = server.db.one(
        "SELECT p.conversation_id, p.contact_id FROM participants p"
        " JOIN conversations c ON c.id = p.conversation_id"
        " WHERE p.contact_id IS NOT NULL AND c.kind = 'contacts' LIMIT 1"
    )
    assert row is not None
    return row["conversation_id"], row["contact_id"]


def _name_of(server: MessagingServer, conversation_id: str, contact_id: str) -> str | None:
    conversation = server.conversation(conversation_id)
    assert conversation is not None
    return next(p.current_name for p in conversation.participants if p.contact_id == contact_id)


def test_a_conversation_s_people_follow_their_contacts(server: MessagingServer) -> None:
    conversation, contact = _someone(server)
    before = _name_of(server, conversation, contact)  # now kept
    with server.write() as conn:
        conn.execute("UPDATE contacts SET first_name = 'Renamed' WHERE id = ?", (contact,))
    after = _name_of(server, conversation, contact)
    assert after != before and after is not None and after.startswith("Renamed")
    # A change read inside a transaction that then rolls back is not kept either.
    with pytest.raises(RuntimeError), server.write() as conn:
        conn.execute("UPDATE contacts SET first_name = 'Never' WHERE id = ?", (contact,))
        assert (_name_of(server, conversation, contact) or "").startswith("Never")
        raise RuntimeError("refused")
    assert _name_of(server, conversation, contact) == after


def test_the_conversation_a_send_reads_is_kept_through_messages_not_through_changes(
    server: MessagingServer,
) -> None:
    conversation_id, contact = _someone(server)
    kept = server.conversation_to_send(conversation_id)
    assert kept is not None
    # Its activity is left out, so it is never shown stale.
    assert (kept.last_message_body, kept.last_message_date, kept.unread_count) == (None, None, 0)
    full = server.conversation(conversation_id)
    assert full is not None
    assert kept.participants == full.participants and kept.from_number == full.from_number
    with server.write() as conn:  # a message changes only the activity: still kept
        insert_message(
            conn,
            NewMessage(
                conversation_id=conversation_id,
                direction="inbound",
                body="still kept?",
                when=clock.now(),
                status="received",
            ),
            recipients=[],
        )
    assert server.conversation_to_send(conversation_id) is kept
    with server.write() as conn:  # its people's contacts are not
        conn.execute("UPDATE contacts SET dnd_status = 'active' WHERE id = ?", (contact,))
    blocked = server.conversation_to_send(conversation_id)
    assert blocked is not None and blocked is not kept and blocked.blocked
    with server.write() as conn:  # nor is the conversation's own row
        conn.execute("UPDATE conversations SET name = 'Renamed' WHERE id = ?", (conversation_id,))
    renamed = server.conversation_to_send(conversation_id)
    assert renamed is not None and renamed.name == "Renamed"
    # A change read inside a transaction that then rolls back is not kept either.
    with pytest.raises(RuntimeError), server.write() as conn:
        conn.execute("UPDATE conversations SET name = 'Never' WHERE id = ?", (conversation_id,))
        assert getattr(server.conversation_to_send(conversation_id), "name", None) == "Never"
        raise RuntimeError("refused")
    assert getattr(server.conversation_to_send(conversation_id), "name", None) == "Renamed"


def test_a_change_made_by_another_process_is_heard(server: MessagingServer) -> None:
    conversation, contact = _someone(server)
    assert not (_name_of(server, conversation, contact) or "").startswith("Elsewhere")  # kept
    numbers = server.numbers(LOCATION)
    found = server.signed_in(ADMIN_TOKEN)
    assert found is not None and numbers
    other = MessagingServer(server.db.path, latency_ms=60_000)  # the admin command's
    with other.db.tx() as conn:
        conn.execute("UPDATE contacts SET first_name = 'Elsewhere' WHERE id = ?", (contact,))
        conn.execute("UPDATE numbers SET friendly_name = 'Renamed line'")
        conn.execute("UPDATE users SET first_name = 'Alexandra' WHERE id = ?", (found[0].id,))
    other.db.close()
    server.watch.check()  # what the server's change watch does twice a second
    assert (_name_of(server, conversation, contact) or "").startswith("Elsewhere")
    assert {n.friendly_name for n in server.numbers(LOCATION)} == {"Renamed line"}
    again = server.signed_in(ADMIN_TOKEN)
    assert again is not None and again[0].name.startswith("Alexandra")
