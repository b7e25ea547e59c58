"""Opt-outs from the real world: STOP and START, and carriers' opt-out refusals.

Whatever told us (an inbound STOP, Twilio's 21610 on a send, Telnyx's 40300), the
effect is the same: every contact with that number gets SMS Do Not Disturb, which
blocks every group holding them (the reason shows to staff through the contact's
DND and the group's ``blockedBy``). START lifts it, except where DND is permanent.
"""

from __future__ import annotations

import sqlite3

from services import limits
from services.server import changes, clock
from services.server.db import Database


def keyword(body: str) -> str:
    # "Stop." and " stop " are the same request as "STOP".
    return " ".join(body.split()).strip(".!").strip().upper()


def apply_keyword(conn: sqlite3.Connection, db: Database, sender: str, body: str) -> None:
    word = keyword(body)
    if word in limits.OPT_OUT_WORDS:
        opt_out(conn, db, sender)
    elif word in limits.OPT_IN_WORDS:
        opt_in(conn, db, sender)


def opt_out(conn: sqlite3.Connection, db: Database, phone: str) -> None:
    _set_dnd(conn, db, phone, new="active", allowed_from=("inactive",))


def opt_in(conn: sqlite3.Connection, db: Database, phone: str) -> None:
    _set_dnd(conn, db, phone, new="inactive", allowed_from=("active",))


def _set_dnd(
    conn: sqlite3.Connection, db: Database, phone: str, *, new: str, allowed_from: tuple[str, ...]
) -> None:
    # The contacts whose current number it is, and those it routes to in a group.
    rows = db.all(
        "SELECT id, dnd_status FROM contacts WHERE phone = ?"
        " UNION SELECT c.id, c.dnd_status FROM contacts c JOIN participants p"
        " ON p.contact_id = c.id WHERE p.phone = ?",
        (phone, phone),
    )
    for row in rows:
        if row["dnd_status"] not in allowed_from:
            continue
        conn.execute(
            "UPDATE contacts SET dnd_status = ?, date_updated = ? WHERE id = ?",
            (new, clock.iso(clock.now()), row["id"]),
        )
        changes.contact_updated(conn, db, row["id"], dnd_changed=True)
