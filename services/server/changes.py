"""Events for changes, recorded in the same transaction as the change itself."""

from __future__ import annotations

import sqlite3

from services.server import events, search, views
from services.server.db import Database


def conversation_updated(conn: sqlite3.Connection, db: Database, conversation_id: str) -> None:
    wire = views.load_conversation(db, conversation_id)
    if wire is None:
        return
    events.record(
        conn,
        "ConversationUpdated",
        {
            "conversationId": conversation_id,
            "unreadCount": wire["unreadCount"],
            "blocked": wire["blocked"],
            "name": wire["name"],
            "conversation": wire,
        },
        conversation_id=conversation_id,
    )


def conversation_activity(conn: sqlite3.Connection, conversation_id: str) -> None:
    """A message or a read mark moved the conversation: only what moved (the list's
    preview, date and unread count), not its participants, so each such event stays
    small on every stream it goes to."""
    row = conn.execute(
        "SELECT id, last_message_body, last_message_date, last_message_direction,"
        " unread_count FROM conversations WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return
    events.record(
        conn,
        "ConversationUpdated",
        {
            "conversationId": conversation_id,
            "unreadCount": row["unread_count"],
            "conversation": {
                "id": conversation_id,
                "lastMessageBody": row["last_message_body"],
                "lastMessageDate": row["last_message_date"],
                "lastMessageDirection": row["last_message_direction"],
                "unreadCount": row["unread_count"],
            },
        },
        conversation_id=conversation_id,
    )


def message_created(conn: sqlite3.Connection, db: Database, message_id: str) -> None:
    wire = views.load_message(db, message_id)
    if wire is None:
        return
    cid = wire["conversationId"]
    events.record(
        conn,
        "MessageCreated",
        {"conversationId": cid, "messageId": message_id, "message": wire},
        conversation_id=cid,
    )
    conversation_activity(conn, cid)


def conversations_with_contact(db: Database, contact_id: str) -> list[str]:
    rows = db.all(
        "SELECT DISTINCT conversation_id FROM participants WHERE contact_id = ?"
        " UNION SELECT id FROM conversations WHERE contact_id = ?",
        (contact_id, contact_id),
    )
    return [row[0] for row in rows]


def contact_updated(
    conn: sqlite3.Connection, db: Database, contact_id: str, *, dnd_changed: bool
) -> None:
    """A contact changed: its event, its DND event, and every conversation it is in."""
    row = db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        return
    wire = views.contact(row)
    events.record(
        conn, "ContactUpdated", {"contactId": contact_id, "contact": wire}, contact_id=contact_id
    )
    if dnd_changed:
        events.record(
            conn,
            "ContactDndUpdate",
            {
                "contactId": contact_id,
                "status": row["dnd_status"],
                "dnd": row["dnd_status"] in views.ACTIVE_DND,
                "contact": wire,
            },
            contact_id=contact_id,
        )
    for cid in conversations_with_contact(db, contact_id):
        search.index_conversation(conn, db, cid)  # new names, and maybe a new assignee
        conversation_updated(conn, db, cid)


def contact_created(conn: sqlite3.Connection, db: Database, contact_id: str) -> None:
    """A new contact: its event only (no conversation can hold a contact made just now)."""
    row = db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    if row is not None:
        wire = views.contact(row)
        events.record(
            conn,
            "ContactUpdated",
            {"contactId": contact_id, "contact": wire},
            contact_id=contact_id,
        )


def contact_deleted(conn: sqlite3.Connection, db: Database, contact_id: str) -> None:
    events.record(conn, "ContactDeleted", {"contactId": contact_id}, contact_id=contact_id)
    for cid in conversations_with_contact(db, contact_id):
        search.index_conversation(conn, db, cid)
        conversation_updated(conn, db, cid)
