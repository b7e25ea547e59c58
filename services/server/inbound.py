"""A participant's phone texting the business: routing and opt-out keywords.

The thread is picked by the set of numbers on the message (the sender and
every other recipient besides the business number), exactly as a phone's
group MMS would address it; a text to the business number alone is a
one-to-one conversation, made (with a new contact) for an unknown sender.
STOP and the other opt-out words turn on SMS Do Not Disturb for every contact
with that number, which blocks every group they are in; START turns it off
again, except where DND is permanent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from services import limits, phones
from services.server import changes, clock, views
from services.server.core import MessagingServer
from services.server.db import Row
from services.server.problems import ApiProblem, invalid
from services.server.writes import Member, NewMessage, insert_conversation, insert_message


@dataclass(frozen=True)
class InboundText:
    sender: str
    to: list[str]
    body: str
    media_urls: list[str]


def keyword(body: str) -> str:
    # "Stop." and " stop " are the same request as "STOP".
    return " ".join(body.split()).strip(".!").strip().upper()


def receive(server: MessagingServer, location_id: str, text: InboundText) -> dict[str, Any]:
    """Store an inbound text in the right thread and apply its keyword; answer the message."""
    sender = _normal(text.sender)
    numbers = [_normal(n) for n in text.to]
    business = _business_number(server, location_id, numbers)
    others = {n for n in numbers if n != business and n != sender}
    with server.write() as conn:
        if others:
            conversation = _group_for(server, location_id, business, others | {sender})
        else:
            conversation = _one_to_one(conn, server, location_id, business, sender)
        participant = server.db.one(
            "SELECT id FROM participants WHERE conversation_id = ? AND phone = ?",
            (conversation, sender),
        )
        message_id = insert_message(
            conn,
            NewMessage(
                conversation_id=conversation,
                direction="inbound",
                body=text.body,
                when=clock.now(),
                status="delivered",
                attachments=tuple(text.media_urls),
                participant_id=participant["id"] if participant else None,
                from_phone=sender,
            ),
        )
        changes.message_created(conn, server.db, message_id)
        _apply_keyword(conn, server, sender, keyword(text.body))
    message = views.load_message(server.db, message_id)
    return {"conversationId": conversation, "messageId": message_id, "message": message}


def _normal(number: str) -> str:
    normal = phones.normalize(number)
    if normal is None:
        raise invalid([f"{number} is not a valid phone number."])
    return normal


def _business_number(server: MessagingServer, location_id: str, numbers: list[str]) -> str:
    ours = {n.phone_number for n in server.numbers(location_id)}
    found = [n for n in numbers if n in ours]
    if len(found) != 1:
        raise invalid(["'to' must hold exactly one of this location's business numbers."])
    return found[0]


def _group_for(server: MessagingServer, location_id: str, business: str, members: set[str]) -> str:
    # Only groups the sender is in (an indexed lookup), not every group of the number: at
    # 10,000 conversations the scan cost a query per group. Most recently active first; in
    # a tie of the same millisecond the later message (or the later group) wins.
    sender_groups = (
        "SELECT c.id FROM conversations c JOIN participants p ON p.conversation_id = c.id"
        " WHERE p.phone = ? AND c.location_id = ? AND c.from_number = ?"
        " AND c.type = 'TYPE_GROUP_SMS'"
        " ORDER BY c.last_message_date DESC,"
        " COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = c.id), 0) DESC,"
        " c.rowid DESC"
    )
    for row in server.db.all(sender_groups, (next(iter(sorted(members))), location_id, business)):
        phones_in = {
            p["phone"]
            for p in server.db.all(
                "SELECT phone FROM participants WHERE conversation_id = ?", (row["id"],)
            )
        }
        if phones_in == members:
            return str(row["id"])
    raise ApiProblem(404, "No group has exactly these numbers.")


def _one_to_one(
    conn: sqlite3.Connection, server: MessagingServer, location_id: str, business: str, sender: str
) -> str:
    row = server.db.one(
        "SELECT c.id FROM conversations c JOIN participants p ON p.conversation_id = c.id"
        " WHERE c.location_id = ? AND c.from_number = ? AND c.type = 'TYPE_PHONE'"
        " AND p.phone = ? ORDER BY c.last_message_date DESC LIMIT 1",
        (location_id, business, sender),
    )
    if row is not None:
        return str(row["id"])
    contact = _contact_for(conn, server, location_id, sender)
    return insert_conversation(
        conn,
        location_id=location_id,
        type_="TYPE_PHONE",
        from_number=business,
        members=[Member(views.contact_name(contact) or sender, sender, contact_id=contact["id"])],
        when=clock.now(),
        contact_id=contact["id"],
    )


def _contact_for(
    conn: sqlite3.Connection, server: MessagingServer, location_id: str, phone: str
) -> Row:
    row = server.db.one(
        "SELECT * FROM contacts WHERE location_id = ? AND phone = ? AND deleted = 0"
        " ORDER BY date_updated LIMIT 1",
        (location_id, phone),
    )
    if row is not None:
        return row
    contact_id = clock.new_id("ct")
    conn.execute(
        "INSERT INTO contacts (id, location_id, phone, date_updated) VALUES (?, ?, ?, ?)",
        (contact_id, location_id, phone, clock.iso(clock.now())),
    )
    changes.contact_updated(conn, server.db, contact_id, dnd_changed=False)
    created = server.db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    assert created is not None
    return created


def _apply_keyword(
    conn: sqlite3.Connection, server: MessagingServer, sender: str, word: str
) -> None:
    if word in limits.OPT_OUT_WORDS:
        new, allowed_from = "active", ("inactive",)
    elif word in limits.OPT_IN_WORDS:
        new, allowed_from = "inactive", ("active",)
    else:
        return
    # The contacts whose current number sent it, and those it routes to in a group.
    rows = server.db.all(
        "SELECT id, dnd_status FROM contacts WHERE phone = ?"
        " UNION SELECT c.id, c.dnd_status FROM contacts c JOIN participants p"
        " ON p.contact_id = c.id WHERE p.phone = ?",
        (sender, sender),
    )
    for row in rows:
        if row["dnd_status"] not in allowed_from:
            continue
        conn.execute(
            "UPDATE contacts SET dnd_status = ?, date_updated = ? WHERE id = ?",
            (new, clock.iso(clock.now()), row["id"]),
        )
        changes.contact_updated(conn, server.db, row["id"], dnd_changed=True)
