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

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services import phones
from services.models import User
from services.server import changes, clock, optouts, push_queue, views
from services.server.access import visible_conversation
from services.server.carriers.base import InboundMedia, InboundMessage
from services.server.db import Row
from services.server.problems import ApiProblem, invalid
from services.server.writes import Member, NewMessage, insert_conversation, insert_message

if TYPE_CHECKING:
    from services.server.core import MessagingServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundText:
    sender: str
    to: list[str]
    body: str
    media_urls: list[str]


def receive(
    server: MessagingServer,
    location_id: str,
    text: InboundText,
    *,
    new_groups: bool = False,
    viewer: User | None = None,
) -> dict[str, Any]:
    """Store an inbound text in the right thread and apply its keyword; answer the message.

    A set of numbers that matches no group is refused (404), or with ``new_groups``
    (a real carrier's text, which must not be lost) starts a new group thread. With
    ``viewer`` (the simulation's caller) the thread must be one they may open, else 404
    and nothing is written: the simulator obeys the access rules of every other route.
    """
    sender = _normal(text.sender)
    numbers = [_normal(n) for n in text.to]
    business = _business_number(server, location_id, numbers)
    others = {n for n in numbers if n != business and n != sender}
    with server.write() as conn:
        if others:
            members = others | {sender}
            conversation = _group_for(server, location_id, business, members)
            if conversation is None and new_groups:
                conversation = _new_group(conn, server, location_id, business, members)
            elif conversation is None:
                raise ApiProblem(404, "No group has exactly these numbers.")
        else:
            conversation = _one_to_one(conn, server, location_id, business, sender)
        if viewer is not None:
            visible_conversation(server, conversation, viewer)  # 404 rolls it all back
        message_id = _store(conn, server, conversation, sender, text.body, text.media_urls)
    message = views.load_message(server.db, message_id)
    return {"conversationId": conversation, "messageId": message_id, "message": message}


def receive_from_carrier(
    server: MessagingServer, event: InboundMessage, attachments: list[str]
) -> str | None:
    """A real carrier's inbound text: into the group it names, else routed by its numbers.

    Answers the new message's id, or None for what is not a participant's text (our
    own message echoed back by the carrier).
    """
    sender = phones.normalize(event.sender) or event.sender
    if server.db.one("SELECT 1 FROM numbers WHERE phone_number = ?", (sender,)):
        return None
    named = None
    if event.carrier_group_ref:
        named = server.db.one(
            "SELECT id FROM conversations WHERE carrier_ref = ?", (event.carrier_group_ref,)
        )
    if named is not None:
        with server.write() as conn:
            return _store(conn, server, named["id"], sender, event.body, attachments)
    location = _location_of(server, event.to)
    if location is None:
        log.warning("an inbound text reached none of this server's numbers; it was dropped")
        return None
    text = InboundText(sender, list(event.to), event.body, attachments)
    return str(receive(server, location, text, new_groups=True)["messageId"])


async def keep_media(server: MessagingServer, media: InboundMedia) -> str:
    """Fetch an inbound attachment from the carrier and keep it here; its path."""
    content, mime = await server.carrier.fetch_media(media)
    return server.keep_file(media.name or "attachment", mime or media.mime or "", content)


def _location_of(server: MessagingServer, numbers: tuple[str, ...]) -> str | None:
    for number in numbers:
        normal = phones.normalize(number) or number
        row = server.db.one("SELECT location_id FROM numbers WHERE phone_number = ?", (normal,))
        if row is not None:
            return str(row["location_id"])
    return None


def _store(
    conn: sqlite3.Connection,
    server: MessagingServer,
    conversation: str,
    sender: str,
    body: str,
    attachments: list[str],
) -> str:
    participant = server.db.one(
        "SELECT id FROM participants WHERE conversation_id = ? AND phone = ?",
        (conversation, sender),
    )
    message_id = insert_message(
        conn,
        NewMessage(
            conversation_id=conversation,
            direction="inbound",
            body=body,
            when=clock.now(),
            status="delivered",
            attachments=tuple(attachments),
            participant_id=participant["id"] if participant else None,
            from_phone=sender,
        ),
    )
    changes.message_created(conn, server.db, message_id)
    push_queue.enqueue_message(conn, server, message_id)
    optouts.apply_keyword(conn, server.db, sender, body)
    return message_id


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


def _group_for(
    server: MessagingServer, location_id: str, business: str, members: set[str]
) -> str | None:
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
    return None


def _new_group(
    conn: sqlite3.Connection,
    server: MessagingServer,
    location_id: str,
    business: str,
    members: set[str],
) -> str:
    """A group text from a set of numbers no thread has: a new thread, as a phone would."""
    people = []
    for phone in sorted(members):
        contact = _contact_for(conn, server, location_id, phone)
        people.append(Member(views.contact_name(contact) or phone, phone, contact_id=contact["id"]))
    conversation_id = insert_conversation(
        conn,
        server.db,
        location_id=location_id,
        type_="TYPE_GROUP_SMS",
        from_number=business,
        members=people,
        when=clock.now(),
        kind="contacts",
    )
    changes.conversation_updated(conn, server.db, conversation_id)
    return conversation_id


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
        server.db,
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
