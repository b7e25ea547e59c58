"""Rows rendered as the contract's wire objects (camelCase dicts).

Attachment URLs are stored as paths (``/attachments/ID/name``) and made
absolute against the request's base URL on the way out, so the same database
serves the in-process transport and a standalone server on any port.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.server.carriers.base import CarrierLimits
from services.server.db import Database, Row, loads

ACTIVE_DND = ("active", "permanent")


def user(row: Row) -> dict[str, Any]:
    first, last = row["first_name"], row["last_name"]
    return {
        "id": row["id"],
        "name": f"{first} {last}".strip(),
        "firstName": first,
        "lastName": last,
        "email": row["email"],
        "phone": row["phone"],
        "locationId": row["location_id"],
        "roles": {"role": row["role"]},
        "permissions": {"assignedDataOnly": bool(row["assigned_data_only"])},
    }


def number(row: Row, limits: CarrierLimits) -> dict[str, Any]:
    return {
        "phoneNumber": row["phone_number"],
        "friendlyName": row["friendly_name"],
        "capabilities": {
            "sms": bool(row["sms"]),
            "mms": bool(row["mms"]),
            "voice": bool(row["voice"]),
        },
        "isGroupConversationEnabled": bool(row["group_enabled"]),
        "linkedUser": row["linked_user"],
        "linkedRingAllUsers": loads(row["linked_ring_all"]) or [],
        "groupLimits": {
            "maxParticipants": limits.max_participants,
            "maxMediaBytes": limits.max_media_bytes,
            "maxMediaFiles": limits.max_media_files,
            "maxBodyChars": limits.max_body_chars,
            "why": limits.why,
        },
    }


def contact_name(row: Row) -> str:
    return f"{row['first_name'] or ''} {row['last_name'] or ''}".strip()


def contact(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "locationId": row["location_id"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "name": contact_name(row) or None,
        "phone": row["phone"],
        "email": row["email"],
        "assignedTo": row["assigned_to"],
        "dndSettings": {"SMS": {"status": row["dnd_status"]}},
        "dateUpdated": row["date_updated"],
        "tags": loads(row["tags"]) or [],
    }


def participant(row: Row, current: Row | None) -> dict[str, Any]:
    """A participant: the creation snapshot beside the contact or user as they are now."""
    deleted = current is None or (row["contact_id"] is not None and bool(current["deleted"]))
    current_name = None
    current_phone = None
    dnd = False
    if current is not None:
        current_name = contact_name(current)
        if row["contact_id"] is not None:
            dnd = current["dnd_status"] in ACTIVE_DND
    if not deleted and current is not None:
        current_phone = current["phone"]
    tags: list[str] = []
    if deleted:
        tags = ["deleted"]
        current_name = None
    elif current_name != row["name"] or current_phone != row["phone"]:
        tags = ["updated"]
    return {
        "id": row["id"],
        "contactId": row["contact_id"],
        "userId": row["user_id"],
        "name": row["name"],
        "phone": row["phone"],
        "currentName": current_name,
        "currentPhone": current_phone,
        "tags": tags,
        "dnd": dnd,
    }


def participants(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    rows = db.all(
        "SELECT * FROM participants WHERE conversation_id = ? ORDER BY position",
        (conversation_id,),
    )
    # Everyone's current record in two queries, not one per person: every send reads this.
    contacts = rows_by_id(db, "contacts", [r["contact_id"] for r in rows])
    users = rows_by_id(db, "users", [r["user_id"] for r in rows if r["contact_id"] is None])
    return [
        participant(
            row,
            users.get(row["user_id"])
            if row["contact_id"] is None
            else contacts.get(row["contact_id"]),
        )
        for row in rows
    ]


def rows_by_id(db: Database, table: str, ids: Sequence[str | None]) -> dict[str, Row]:
    """The rows of ``table`` ("contacts" or "users") with these ids, by id."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    return {r["id"]: r for r in db.all(f"SELECT * FROM {table} WHERE id IN ({marks})", wanted)}


def default_name(people: list[dict[str, Any]]) -> str:
    if len(people) == 1:
        return str(people[0]["currentName"] or people[0]["name"] or people[0]["phone"])
    firsts = [(p["name"] or p["phone"]).split(" ")[0] for p in people]
    if len(firsts) <= 3:
        return ", ".join(firsts)
    return f"{', '.join(firsts[:2])} and {len(firsts) - 2} others"


SUMMARY_FIELDS = (
    "id",
    "type",
    "name",
    "contactId",
    "lastMessageBody",
    "lastMessageDate",
    "lastMessageDirection",
    "unreadCount",
    "participantCount",
    "blocked",
)


def conversation(
    db: Database, row: Row, people: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The full Conversation (with its ``participants`` when known already); ``summary()``
    cuts it down for search answers."""
    if people is None:
        people = participants(db, row["id"])
    blocked_by = [p["id"] for p in people if p["dnd"]]
    return {
        "id": row["id"],
        "type": row["type"],
        "name": row["name"] or default_name(people),
        "contactId": row["contact_id"],
        "lastMessageBody": row["last_message_body"],
        "lastMessageDate": row["last_message_date"],
        "lastMessageDirection": row["last_message_direction"],
        "unreadCount": row["unread_count"],
        "participantCount": len(people),
        "blocked": bool(blocked_by),
        "fromNumber": row["from_number"],
        "createdBy": row["created_by"],
        "dateAdded": row["date_added"],
        "kind": row["kind"],
        "locationId": row["location_id"],
        "participants": people,
        "blockedBy": blocked_by,
    }


def summary(full: dict[str, Any]) -> dict[str, Any]:
    return {key: full[key] for key in SUMMARY_FIELDS}


def load_conversation(db: Database, conversation_id: str) -> dict[str, Any] | None:
    row = db.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    return None if row is None else conversation(db, row)


def message(db: Database, row: Row) -> dict[str, Any]:
    recipients = [
        {
            "participantId": r["participant_id"],
            "phone": r["phone"],
            "status": r["status"],
            **({"error": r["error"]} if r["error"] else {}),
        }
        for r in db.all(
            "SELECT * FROM recipients WHERE message_id = ? ORDER BY position", (row["id"],)
        )
    ]
    return {
        "id": row["id"],
        "conversationId": row["conversation_id"],
        "direction": row["direction"],
        "messageType": "TYPE_SMS",
        "body": row["body"],
        "attachments": loads(row["attachments"]) or [],
        "dateAdded": row["date_added"],
        "status": row["status"],
        "userId": row["user_id"],
        "participantId": row["participant_id"],
        "from": row["from_phone"],
        "recipients": recipients,
        "clientMessageId": row["client_message_id"],
    }


def load_message(db: Database, message_id: str) -> dict[str, Any] | None:
    row = db.one("SELECT * FROM messages WHERE id = ?", (message_id,))
    return None if row is None else message(db, row)


def absolute_urls(value: Any, base: str) -> Any:
    """Make every stored attachment path absolute, anywhere inside a wire object."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "attachments" and isinstance(item, list):
                out[key] = [absolute_url(url, base) for url in item]
            else:
                out[key] = absolute_urls(item, base)
        return out
    if isinstance(value, list):
        return [absolute_urls(item, base) for item in value]
    return value


def absolute_url(url: Any, base: str) -> Any:
    if isinstance(url, str) and url.startswith("/"):
        return base.rstrip("/") + url
    return url
