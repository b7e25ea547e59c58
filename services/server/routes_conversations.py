"""Conversation search, one conversation, mark read, and group creation."""

from __future__ import annotations

import json
import sqlite3
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from services import phones, rules
from services.models import Contact, GroupKind, PhoneNumber, User
from services.server import carrier_queue, changes, clock, push_queue, search, views
from services.server.access import refuse, visible_conversation
from services.server.db import Database, dumps
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
    db = ctx.server.db
    where = ["c.location_id = ?"]
    args: list[Any] = [location]
    if status != "all":
        where.append("c.unread_count > 0" if status == "unread" else "c.unread_count = 0")
    after = _after(start_after_date, start_after_id)
    query = query.strip()
    if query:
        return _found(db, ctx.user, (location, query), (where, args), after, limit)
    branches = search.visible_branches(ctx.user)
    total = sum(
        int(
            db.scalar(
                f"SELECT COUNT(*) FROM conversations c WHERE {' AND '.join([*where, branch])}",
                [*args, *params],
            )
        )
        for branch, params in branches
    )
    visible, params = search.visible_sql(ctx.user)
    where, args = [*where, visible, *after[0]], [*args, *params, *after[1]]
    rows = db.all(
        f"SELECT c.* FROM conversations c WHERE {' AND '.join(where)}"
        " ORDER BY c.last_message_date DESC, c.id DESC LIMIT ?",
        (*args, limit),
    )
    page = [views.summary(views.conversation(db, row)) for row in rows]
    return {"conversations": page, "total": total}


Condition = tuple[list[str], list[Any]]


def _after(start_after_date: int | None, start_after_id: str | None) -> Condition:
    """The cursor: conversations after (date, id) in the list's order."""
    if not start_after_date:
        return [], []
    if start_after_id:
        return (
            ["(c.last_message_date < ? OR (c.last_message_date = ? AND c.id < ?))"],
            [start_after_date, start_after_date, start_after_id],
        )
    return ["c.last_message_date < ?"], [start_after_date]


def _found(
    db: Database,
    user: User,
    asked: tuple[str, str],
    filters: Condition,
    after: Condition,
    limit: int,
) -> dict[str, Any]:
    """A query's page, read from the conversations it found (a common word is in most of
    them, a rare one in a few: either way no more than that, or a walk of the list that
    stops at the page's end when most were found), and its matches' snippets.

    The count is one condition, not a sum over ``visible_branches``: those let indexes
    count a whole list, and here each found conversation is read once anyway."""
    (location, query), (where, args) = asked, filters
    visible, params = search.visible_sql(user)
    with db.snapshot() as conn:
        if not search.find(conn, location, query):
            return {"conversations": [], "total": 0}
        condition = " AND ".join([*where, visible])
        total = int(
            conn.execute(
                f"SELECT COUNT(*) FROM {search.FOUND} WHERE {condition}", (*args, *params)
            ).fetchone()[0]
        )
        source = search.FOUND_IN_ORDER if search.in_order(conn, total) else search.FOUND
        condition = " AND ".join([*where, visible, *after[0]])
        rows = conn.execute(
            f"SELECT c.*, h.words_rowid FROM {source} WHERE {condition}"
            " ORDER BY c.last_message_date DESC, c.id DESC LIMIT ?",
            (*args, *params, *after[1], limit),
        ).fetchall()
        matches = search.snippets(conn, query, [row["words_rowid"] for row in rows])
    page = []
    for row in rows:
        summary = views.summary(views.conversation(db, row))
        summary["match"] = matches.get(row["words_rowid"])
        page.append(summary)
    return {"conversations": page, "total": total}


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
            # The badge on every phone that counted these unread goes down.
            push_queue.enqueue_badge(conn, server, conversation.id)
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
            server.db,
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
