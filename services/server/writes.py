"""Inserts shared by the endpoints, the simulated carrier and the demo seed.

They run inside the caller's transaction and record no events: the caller
decides what the change means to clients (the seed records none).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from services.server import clock, search
from services.server.db import Database, dumps


@dataclass(frozen=True)
class Member:
    """A participant's snapshot at creation: where messages route, for good."""

    name: str
    phone: str
    contact_id: str | None = None
    user_id: str | None = None


def insert_conversation(
    conn: sqlite3.Connection,
    db: Database,
    *,
    location_id: str,
    type_: str,
    from_number: str,
    members: list[Member],
    when: datetime,
    kind: str | None = None,
    name: str | None = None,
    contact_id: str | None = None,
    created_by: str | None = None,
) -> str:
    conversation_id = clock.new_id("conv")
    conn.execute(
        "INSERT INTO conversations (id, location_id, type, name, contact_id, from_number,"
        " created_by, date_added, kind, last_message_date, unread_count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        (
            conversation_id,
            location_id,
            type_,
            name,
            contact_id,
            from_number,
            created_by,
            clock.iso(when),
            kind,
            clock.ms(when),
        ),
    )
    for position, member in enumerate(members):
        conn.execute(
            "INSERT INTO participants (id, conversation_id, position, contact_id, user_id,"
            " name, phone) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                clock.new_id("par"),
                conversation_id,
                position,
                member.contact_id,
                member.user_id,
                member.name,
                member.phone,
            ),
        )
    search.index_conversation(conn, db, conversation_id)
    return conversation_id


@dataclass(frozen=True)
class NewMessage:
    conversation_id: str
    direction: str
    body: str
    when: datetime
    status: str
    attachments: tuple[str, ...] = ()
    attachment_bytes: int = 0
    user_id: str | None = None
    participant_id: str | None = None
    from_phone: str | None = None
    client_message_id: str | None = None


def insert_message(
    conn: sqlite3.Connection,
    message: NewMessage,
    recipients: list[tuple[str, str]] = (),  # type: ignore[assignment]
    recipient_status: str = "queued",
) -> str:
    """Store a message (and its recipients) and make it the conversation's latest."""
    message_id = clock.new_id("msg")
    conn.execute(
        "INSERT INTO messages (id, conversation_id, direction, body, attachments,"
        " attachment_bytes, date_added, status, user_id, participant_id, from_phone,"
        " client_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message_id,
            message.conversation_id,
            message.direction,
            message.body,
            dumps(list(message.attachments)),
            message.attachment_bytes,
            clock.iso(message.when),
            message.status,
            message.user_id,
            message.participant_id,
            message.from_phone,
            message.client_message_id,
        ),
    )
    for position, (participant_id, phone) in enumerate(recipients):
        conn.execute(
            "INSERT INTO recipients (message_id, participant_id, position, phone, status)"
            " VALUES (?, ?, ?, ?, ?)",
            (message_id, participant_id, position, phone, recipient_status),
        )
    unread = 1 if message.direction == "inbound" else 0
    conn.execute(
        "UPDATE conversations SET last_message_body = ?,"
        " last_message_date = MAX(last_message_date, ?), last_message_direction = ?,"
        " unread_count = unread_count + ? WHERE id = ?",
        (
            message.body or ("Attachment" if message.attachments else ""),
            clock.ms(message.when),
            message.direction,
            unread,
            message.conversation_id,
        ),
    )
    return message_id
