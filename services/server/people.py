"""A new contact, made the same way wherever it comes from (the app, the admin's import).

The number is parsed with phonenumbers and stored in E.164; a number that is not a
phone number is refused, and one another contact of the location already has is
refused as a duplicate (naming them only to someone who may see them). A number that
once opted out keeps its Do Not Disturb: a contact made anew for it inherits it, so
re-adding someone can never text a person who said STOP.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from services import phones
from services.server import changes, clock
from services.server.db import Database, Row, dumps

ACTIVE_DND = ("active", "permanent")


class ContactRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status  # 409 a duplicate, 422 a bad field
        self.message = message


@dataclass(frozen=True)
class NewContact:
    location_id: str
    first_name: str
    last_name: str = ""
    phone: str = ""
    email: str | None = None
    assigned_to: str | None = None
    dnd_status: str | None = None  # None: inherited from the number's history
    tags: tuple[str, ...] = ()


def create_contact(
    conn: sqlite3.Connection, db: Database, new: NewContact, *, checked: bool = False
) -> str:
    """Insert the contact (with its event) in the caller's transaction; its id.

    ``checked``: the caller (the admin's import, which checks thousands of rows at once)
    already holds the number in E.164, made sure no contact of the location has it in
    this transaction, and decided its DND (``opted_out_numbers``); nothing is asked again.
    """
    phone = new.phone if checked else _new_number(conn, new)
    if not (new.first_name.strip() or new.last_name.strip()):
        raise ContactRefused(422, "Give the new contact a name.")
    contact_id = clock.new_id("ct")
    conn.execute(
        "INSERT INTO contacts (id, location_id, first_name, last_name, phone, email,"
        " assigned_to, dnd_status, tags, date_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            contact_id,
            new.location_id,
            new.first_name.strip() or None,
            new.last_name.strip() or None,
            phone,
            (new.email or "").strip() or None,
            new.assigned_to,
            new.dnd_status or _inherited_dnd(conn, phone),
            dumps(list(new.tags)),
            clock.iso(clock.now()),
        ),
    )
    changes.contact_created(conn, db, contact_id)
    return contact_id


def _new_number(conn: sqlite3.Connection, new: NewContact) -> str:
    """The number in E.164, refused when it isn't one or another contact has it."""
    phone = phones.normalize(new.phone)
    if phone is None:
        reason = phones.explain(new.phone) or "it is not a phone number"
        raise ContactRefused(422, f"{new.phone} can't be saved: {reason[:1].lower()}{reason[1:]}.")
    if duplicate_of(conn, new.location_id, phone) is not None:
        raise ContactRefused(409, f"{phones.format_display(phone)} is already a contact.")
    return phone


def opted_out_numbers(conn: sqlite3.Connection) -> dict[str, str]:
    """Every number that once opted out, with the DND a new contact for it inherits
    (what ``_inherited_dnd`` decides for one number, for all of them in one query)."""
    found: dict[str, str] = {}
    for phone, status in conn.execute(
        "SELECT phone, dnd_status FROM contacts WHERE dnd_status IN ('active', 'permanent')"
        " UNION SELECT p.phone, c.dnd_status FROM contacts c JOIN participants p"
        " ON p.contact_id = c.id WHERE c.dnd_status IN ('active', 'permanent')"
    ):
        if phone and found.get(phone) != "permanent":
            found[phone] = status
    return found


def duplicate_of(conn: sqlite3.Connection, location_id: str, phone: str) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT * FROM contacts WHERE location_id = ? AND phone = ? AND deleted = 0",
        (location_id, phone),
    ).fetchone()
    return row


def _inherited_dnd(conn: sqlite3.Connection, phone: str) -> str:
    # Any contact (a deleted one too) or group participant with this number that opted out.
    row = conn.execute(
        "SELECT dnd_status FROM contacts WHERE phone = ? AND dnd_status IN ('active', 'permanent')"
        " UNION SELECT c.dnd_status FROM contacts c JOIN participants p ON p.contact_id = c.id"
        " WHERE p.phone = ? AND c.dnd_status IN ('active', 'permanent')",
        (phone, phone),
    ).fetchall()
    statuses = {r[0] for r in row}
    return "permanent" if "permanent" in statuses else ("active" if statuses else "inactive")
