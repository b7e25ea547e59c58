"""One-to-one conversations reached LeadConnector's way: by contact (and From number)."""

from __future__ import annotations

import sqlite3

from services import phones, rules
from services.models import Conversation
from services.server import changes, clock
from services.server.access import visible_conversation
from services.server.problems import invalid, not_found
from services.server.web import Ctx
from services.server.writes import Member, insert_conversation


def conversation_for(
    conn: sqlite3.Connection, ctx: Ctx, contact_id: str | None, from_number: str | None
) -> Conversation:
    """The contact's one-to-one conversation from that number, made (in the caller's
    transaction) when there is none."""
    if contact_id is None:
        raise invalid(["Give a conversationId, or a contactId for a one-to-one text."])
    server = ctx.server
    contact = server.contact(contact_id)
    if contact is None or not rules.visible_contacts([contact], ctx.user):
        raise not_found("Contact")
    number = _from_number(ctx, from_number)
    phone = phones.normalize(contact.phone)
    if phone is None:
        raise invalid([f"{contact.display_name} has no valid phone number."])
    row = server.db.one(
        "SELECT id FROM conversations WHERE type = 'TYPE_PHONE' AND contact_id = ?"
        " AND from_number = ? ORDER BY last_message_date DESC LIMIT 1",
        (contact.id, number),
    )
    if row is not None:
        return visible_conversation(server, str(row["id"]), ctx.user)
    cid = insert_conversation(
        conn,
        server.db,
        location_id=ctx.user.location_id or "",
        type_="TYPE_PHONE",
        from_number=number,
        members=[Member(contact.display_name, phone, contact_id=contact.id)],
        when=clock.now(),
        contact_id=contact.id,
        created_by=ctx.user.id,
    )
    changes.conversation_updated(conn, server.db, cid)
    return visible_conversation(server, cid, ctx.user)


def _from_number(ctx: Ctx, wanted: str | None) -> str:
    numbers = ctx.server.numbers(ctx.user.location_id or "")
    if wanted is not None:
        normal = phones.normalize(wanted) or wanted
        if any(n.phone_number == normal for n in numbers):
            return normal
        raise invalid([f"{wanted} is not one of this location's numbers."])
    usable = [n for n in numbers if n.capabilities.sms and rules.may_use_number(n, ctx.user)]
    if not usable:
        raise invalid(["You have no number to send from. Ask an admin for access to one."])
    return usable[0].phone_number
