"""Conversation search, one conversation, mark read, and group creation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from services import phones, rules
from services.models import Contact, Conversation, ConversationType, GroupKind, PhoneNumber, User
from services.server import carrier_queue, changes, clock, views
from services.server.access import may_view, refuse, visible_conversation
from services.server.db import dumps
from services.server.problems import not_found
from services.server.schemas import (
    ConversationAnswer,
    ConversationsAnswer,
    GroupCreate,
    MarkedRead,
    MarkRead,
)
from services.server.web import Context, Ctx, check_location
from services.server.writes import Member, insert_conversation

router = APIRouter(tags=["conversations"])
ConversationId = Annotated[str, Path(alias="conversationId", max_length=200)]


@router.get(
    "/conversations/search",
    response_model=ConversationsAnswer,
    summary="Conversations this user may see, newest activity first",
)
async def search_conversations(
    ctx: Context,
    location_id: Annotated[str | None, Query(alias="locationId", max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    start_after_date: Annotated[int | None, Query(alias="startAfterDate", ge=0, le=2**53)] = None,
    start_after_id: Annotated[str | None, Query(alias="startAfterId", max_length=200)] = None,
    status: Literal["all", "unread", "read"] = "all",
    query: Annotated[str, Query(max_length=200)] = "",
) -> Any:
    location = check_location(ctx, location_id)
    start_after = start_after_date or None
    start_after_id = start_after_id or None
    query = query.strip()
    text_hits = _text_hits(ctx, query)
    rows = ctx.server.db.all(
        "SELECT * FROM conversations WHERE location_id = ?"
        " ORDER BY last_message_date DESC, id DESC",
        (location,),
    )
    if not query and not ctx.user.assigned_data_only:
        return _unfiltered_page(ctx, rows, status, limit, (start_after, start_after_id))
    hidden = _surely_hidden(ctx, location) if ctx.user.assigned_data_only else None
    found: list[dict[str, Any]] = []
    for row in rows:
        if hidden is not None and hidden(row):
            continue
        wire = views.conversation(ctx.server.db, row)
        if not _status_ok(wire, status) or not _query_ok(wire, query, text_hits):
            continue
        if may_view(ctx.server, Conversation.model_validate(wire), ctx.user):
            found.append(wire)
    page = [w for w in found if _after(w, start_after, start_after_id)][:limit]
    return {"conversations": [views.summary(w) for w in page], "total": len(found)}


def _unfiltered_page(
    ctx: Ctx,
    rows: list[sqlite3.Row],
    status: str,
    limit: int,
    after: tuple[int | None, str | None],
) -> dict[str, Any]:
    """The list without a query for a user who sees every contact: only the page is built.

    Building and checking every conversation per page cost about 0.6 s a page at
    10,000 conversations (bench/bench_thread.py); here visibility comes from the
    row itself except for teammates groups, which are few and checked in full.
    """
    db = ctx.server.db
    total = 0
    page: list[dict[str, Any]] = []
    for row in rows:
        head = {
            "id": row["id"],
            "unreadCount": row["unread_count"],
            "lastMessageDate": row["last_message_date"],
        }
        if not _status_ok(head, status):
            continue
        wire: dict[str, Any] | None = None
        if row["kind"] == GroupKind.TEAMMATES.value:
            wire = views.conversation(db, row)
            if not may_view(ctx.server, Conversation.model_validate(wire), ctx.user):
                continue
        total += 1
        if len(page) < limit and _after(head, after[0], after[1]):
            page.append(wire or views.conversation(db, row))
    return {"conversations": [views.summary(w) for w in page], "total": total}


def _surely_hidden(ctx: Ctx, location: str) -> Callable[[sqlite3.Row], bool]:
    """For a user limited to assigned data: conversations with someone else's contact.

    rules.can_view_conversation hides those (and those with a deleted contact), so they
    are skipped from two bulk reads instead of building and checking each one (0.8 s a
    page at 10,000 conversations). Everything else still gets the full check.
    """
    db = ctx.server.db
    owners = {
        row["id"]: row["assigned_to"]
        for row in db.all(
            "SELECT id, assigned_to FROM contacts WHERE location_id = ? AND deleted = 0",
            (location,),
        )
    }
    members: dict[str, list[str]] = {}
    for row in db.all(
        "SELECT p.conversation_id, p.contact_id FROM participants p"
        " JOIN conversations c ON c.id = p.conversation_id"
        " WHERE c.location_id = ? AND p.contact_id IS NOT NULL",
        (location,),
    ):
        members.setdefault(row[0], []).append(row[1])
    me = ctx.user.id

    def hidden(row: sqlite3.Row) -> bool:
        if row["kind"] == GroupKind.TEAMMATES.value:
            return False  # teammates groups follow other rules: check in full
        ids = members.get(row["id"], [])
        if row["type"] == ConversationType.PHONE.value and row["contact_id"]:
            ids = [*ids, row["contact_id"]]  # as rules.can_view_conversation counts it
        return any(owners.get(contact_id) != me for contact_id in ids)

    return hidden


def _status_ok(wire: dict[str, Any], status: str) -> bool:
    if status == "unread":
        return bool(wire["unreadCount"])
    if status == "read":
        return not wire["unreadCount"]
    return True


def _text_hits(ctx: Ctx, query: str) -> set[str]:
    if not query:
        return set()
    if "\x00" in query:
        # LIKE reads text up to a NUL: compare bytes instead, so NUL stays a character.
        rows = ctx.server.db.all(
            "SELECT DISTINCT conversation_id FROM messages WHERE instr(CAST(body AS BLOB), ?) > 0",
            (query.encode("utf-8"),),
        )
        return {row[0] for row in rows}
    # % and _ are LIKE's wildcards: escaped, they are the characters typed.
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = ctx.server.db.all(
        "SELECT DISTINCT conversation_id FROM messages WHERE body LIKE ? ESCAPE '\\'",
        (pattern,),
    )
    return {row[0] for row in rows}


def _query_ok(wire: dict[str, Any], query: str, text_hits: set[str]) -> bool:
    if not query or wire["id"] in text_hits:
        return True
    text = query.lower()
    names = [wire["name"] or ""] + [
        n for p in wire["participants"] for n in (p["name"], p["currentName"]) if n
    ]
    if any(text in name.lower() for name in names):
        return True
    wanted = phones.digits(query)
    numbers = [n for p in wire["participants"] for n in (p["phone"], p["currentPhone"]) if n]
    return len(wanted) >= 3 and any(wanted in phones.digits(n) for n in numbers)


def _after(wire: dict[str, Any], date: int | None, after_id: str | None) -> bool:
    if date is None:
        return True
    if wire["lastMessageDate"] < date:
        return True
    return after_id is not None and wire["lastMessageDate"] == date and wire["id"] < after_id


@router.get(
    "/conversations/{conversationId:conversation}",
    response_model=ConversationAnswer,
    summary="One conversation with its participants",
)
async def get_conversation(ctx: Context, conversation_id: ConversationId) -> dict[str, Any]:
    conversation = visible_conversation(ctx.server, conversation_id, ctx.user)
    wire = views.load_conversation(ctx.server.db, conversation.id)
    return {"conversation": wire}


@router.put(
    "/conversations/{conversationId:conversation}",
    response_model=MarkedRead,
    summary="Mark a conversation read",
)
async def mark_read(
    ctx: Context, conversation_id: ConversationId, body: MarkRead
) -> dict[str, Any]:
    conversation = visible_conversation(ctx.server, conversation_id, ctx.user)
    server = ctx.server
    with server.write() as conn:
        changed = conn.execute(
            "UPDATE conversations SET unread_count = 0 WHERE id = ? AND unread_count != 0",
            (conversation.id,),
        ).rowcount
        if changed:
            changes.conversation_activity(conn, conversation.id)
    wire = views.load_conversation(server.db, conversation.id)
    return {"success": True, "conversation": wire}


# --- creating a group -----------------------------------------------------------------


@router.post(
    "/conversations/groups",
    response_model=ConversationAnswer,
    status_code=201,
    summary="Create a group conversation",
)
async def create_group(
    ctx: Context,
    body: GroupCreate,
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Any:
    location = check_location(ctx, body.location_id)
    contacts, teammates = _resolve_members(ctx, body)
    if key:
        replay = _replay(ctx, "groups", key)
        if replay is not None:
            return replay
    number = _find_number(ctx, body.from_number)
    draft = rules.GroupDraft(
        kind=GroupKind(body.kind),
        from_number=number,
        contacts=contacts,
        teammates=teammates,
        name=body.name,
    )
    violations = rules.validate_group_draft(draft, ctx.user)
    if number is None:
        violations = [v for v in violations if v.code is not rules.ViolationCode.NO_FROM_NUMBER]
        violations.append(_unknown_number(body.from_number))
    refuse(violations)
    assert number is not None
    server = ctx.server
    with server.write() as conn:
        conversation_id = insert_conversation(
            conn,
            location_id=location,
            type_="TYPE_GROUP_SMS",
            from_number=number.phone_number,
            members=_members(contacts, teammates),
            when=clock.now(),
            kind=body.kind,
            name=(body.name or "").strip() or None,
            created_by=ctx.user.id,
        )
        changes.conversation_updated(conn, server.db, conversation_id)
        carrier_queue.enqueue(conn, "group", conversation_id, now_ms=server.queue.now_ms())
        answer = {"conversation": views.load_conversation(server.db, conversation_id)}
        if key:
            _remember(conn, ctx, "groups", key, 201, answer)
    server.queue.wake()
    return answer


def _resolve_members(ctx: Ctx, body: GroupCreate) -> tuple[list[Contact], list[User]]:
    """The named contacts and teammates; 404 for one that does not exist."""
    contacts: list[Contact] = []
    teammates: list[User] = []
    users = {u.id: u for u in ctx.server.users(ctx.user.location_id or "")}
    for ref in body.participants:
        if ref.contact_id is not None:
            contact = ctx.server.contact(ref.contact_id)
            if contact is None or contact.location_id != ctx.user.location_id:
                raise not_found(f"Contact {ref.contact_id}")
            contacts.append(contact)
        elif ref.user_id is not None:
            if ref.user_id not in users:
                raise not_found(f"Teammate {ref.user_id}")
            teammates.append(users[ref.user_id])
    return contacts, teammates


def _find_number(ctx: Ctx, text: str) -> PhoneNumber | None:
    wanted = phones.normalize(text) or text
    for number in ctx.server.numbers(ctx.user.location_id or ""):
        if number.phone_number == wanted:
            return number
    return None


def _unknown_number(text: str) -> rules.Violation:
    return rules.Violation(
        rules.ViolationCode.NO_FROM_NUMBER,
        f"{text} is not one of this location's numbers. Choose a number to send from.",
        text,
    )


def _members(contacts: list[Contact], teammates: list[User]) -> list[Member]:
    members = [
        Member(c.display_name, phones.normalize(c.phone) or c.phone or "", contact_id=c.id)
        for c in contacts
    ]
    members += [
        Member(u.display_name, phones.normalize(u.phone) or u.phone or "", user_id=u.id)
        for u in teammates
    ]
    return members


# --- idempotency ------------------------------------------------------------------------


def _replay(ctx: Ctx, scope: str, key: str) -> JSONResponse | None:
    row = ctx.server.db.one(
        "SELECT status, body FROM idempotency WHERE user_id = ? AND scope = ? AND key = ?",
        (ctx.user.id, scope, key),
    )
    if row is None:
        return None
    response = JSONResponse(json.loads(row["body"]), status_code=row["status"])
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember(
    conn: sqlite3.Connection, ctx: Ctx, scope: str, key: str, status: int, body: Any
) -> None:
    conn.execute(
        "INSERT INTO idempotency (user_id, scope, key, status, body) VALUES (?, ?, ?, ?, ?)",
        (ctx.user.id, scope, key, status, dumps(body)),
    )
