"""Each recipient's state of an outbound message: what the carrier last said.

The carrier answers a send (``accepted``), refuses it (``refused``), and then
reports each recipient's progress (``update``, from its webhooks or the
simulation). Every change is written with its event in the caller's
transaction. A recipient's state only moves forward: a late "sent" never
undoes a "delivered", while a carrier that reports a failure after "sent" is
believed.
"""

from __future__ import annotations

import sqlite3

from services.server import events
from services.server.carriers.base import Accepted, DeliveryUpdate, RecipientStatus

FINAL = ("delivered", "read", "undelivered", "failed")
_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "undelivered": 2, "failed": 2}


def overall(statuses: list[str]) -> str:
    """One status for a message from its recipients' (the worst news wins once final)."""
    if not statuses:
        return "delivered"
    for waiting in ("queued", "sent"):
        if waiting in statuses:
            return waiting
    for bad in ("undelivered", "failed"):
        if bad in statuses:
            return bad
    return "read" if all(s == "read" for s in statuses) else "delivered"


def accepted(conn: sqlite3.Connection, message_id: str, answer: Accepted) -> None:
    """The carrier took the message: remember its ids, and what it said of each recipient."""
    for carrier_id in answer.carrier_message_ids:
        conn.execute(
            "INSERT OR REPLACE INTO carrier_messages (carrier_message_id, message_id)"
            " VALUES (?, ?)",
            (carrier_id, message_id),
        )
    for phone, status in answer.recipients.items():
        _set(conn, message_id, _participant_by_phone(conn, message_id, phone), status, None)


def refused(
    conn: sqlite3.Connection,
    message_id: str,
    reason: str,
    opted_out: tuple[str, ...],
) -> None:
    """The carrier will not take it: every recipient still waiting fails, with the reason."""
    rows = conn.execute(
        "SELECT participant_id, phone FROM recipients WHERE message_id = ? ORDER BY position",
        (message_id,),
    ).fetchall()
    for row in rows:
        error = reason
        if opted_out and row["phone"] not in opted_out:
            error = "Not sent: someone in this group has opted out of texts."
        _set(conn, message_id, row["participant_id"], RecipientStatus.FAILED, error)


def update(conn: sqlite3.Connection, change: DeliveryUpdate) -> str | None:
    """Apply one recipient's new state; the message's id, or None when it isn't ours."""
    row = conn.execute(
        "SELECT message_id FROM carrier_messages WHERE carrier_message_id = ?",
        (change.carrier_message_id,),
    ).fetchone()
    if row is None:
        return None
    message_id = str(row["message_id"])
    participant = None
    if change.member_ref is not None:
        participant = conn.execute(
            "SELECT r.participant_id FROM recipients r JOIN participants p"
            " ON p.id = r.participant_id WHERE r.message_id = ? AND p.carrier_ref = ?",
            (message_id, change.member_ref),
        ).fetchone()
        participant = participant["participant_id"] if participant else None
    if participant is None and change.phone is not None:
        participant = _participant_by_phone(conn, message_id, change.phone)
    if participant is None:
        return message_id
    _set(conn, message_id, participant, change.status, change.error)
    return message_id


def _participant_by_phone(conn: sqlite3.Connection, message_id: str, phone: str) -> str | None:
    row = conn.execute(
        "SELECT participant_id FROM recipients WHERE message_id = ? AND phone = ?",
        (message_id, phone),
    ).fetchone()
    return None if row is None else str(row["participant_id"])


def _set(
    conn: sqlite3.Connection,
    message_id: str,
    participant_id: str | None,
    status: RecipientStatus | str,
    error: str | None,
) -> None:
    if participant_id is None:
        return
    new = str(status)
    current = conn.execute(
        "SELECT status, error FROM recipients WHERE message_id = ? AND participant_id = ?",
        (message_id, participant_id),
    ).fetchone()
    if current is None or not _moves_forward(current["status"], new):
        return
    if current["status"] == new and current["error"] == error:
        return
    conn.execute(
        "UPDATE recipients SET status = ?, error = ? WHERE message_id = ? AND participant_id = ?",
        (new, error, message_id, participant_id),
    )
    statuses = [
        r[0]
        for r in conn.execute("SELECT status FROM recipients WHERE message_id = ?", (message_id,))
    ]
    (conversation_id, message_status), *_ = conn.execute(
        "UPDATE messages SET status = ? WHERE id = ? RETURNING conversation_id, status",
        (overall(statuses), message_id),
    ).fetchall()
    # The change and the message's status after it, not the whole message again: the
    # devices have it from its MessageCreated, and each recipient's every step went to every
    # stream with the message in full, about five times what a send itself put there
    # (issue 19). A client that knows only the message form still reads its status here.
    events.record(
        conn,
        "MessageStatusUpdated",
        {
            "conversationId": conversation_id,
            "messageId": message_id,
            "participantId": participant_id,
            "status": new,
            "error": error,
            "message": {"id": message_id, "status": message_status},
        },
        conversation_id=conversation_id,
    )


def _moves_forward(current: str, new: str) -> bool:
    if current == new:
        return True  # the same state again may carry a better reason
    if current in FINAL:
        return new in FINAL  # one final word replaces another; "sent" never undoes one
    return _RANK.get(new, 0) >= _RANK.get(current, 0)
