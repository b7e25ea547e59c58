"""Messages of a conversation: history, sending, uploads and attachment downloads."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse, Response

from services import rules
from services.models import Conversation
from services.server import carrier_queue, changes, clock, direct, push_queue, uploads, views
from services.server.access import conversation_to_send, refuse, visible_conversation
from services.server.core import ATTACHMENT_PREFIX
from services.server.db import Row
from services.server.problems import ApiProblem, invalid, not_found
from services.server.schemas import MessagesAnswer, SendAnswer, SendMessage, UploadAnswer
from services.server.web import Context, Ctx, answer, problem_response, server_of
from services.server.writes import NewMessage, insert_message

router = APIRouter(tags=["messages"])


@router.get(
    "/conversations/{conversationId:conversation}/messages",
    response_model=MessagesAnswer,
    summary="Messages of a conversation, newest first",
)
async def get_messages(
    ctx: Context,
    conversation_id: Annotated[str, Path(alias="conversationId", max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    last_message_id: Annotated[str | None, Query(alias="lastMessageId", max_length=200)] = None,
) -> dict[str, Any]:
    conversation = visible_conversation(ctx.server, conversation_id, ctx.user)
    before = last_message_id or None
    db = ctx.server.db
    below = 2**62
    if before is not None:
        anchor = db.one(
            "SELECT seq FROM messages WHERE id = ? AND conversation_id = ?",
            (before, conversation.id),
        )
        if anchor is None:
            raise not_found("Message")
        below = anchor["seq"]
    rows = db.all(
        "SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        (conversation.id, below, limit + 1),
    )
    page = [views.message(db, row) for row in rows[:limit]]
    body = {
        "lastMessageId": page[-1]["id"] if page else None,
        "nextPage": len(rows) > limit,
        "messages": page,
    }
    return answer(ctx, {"messages": body})


@router.post(
    "/conversations/messages",
    response_model=SendAnswer,
    status_code=201,
    summary="Send a message into a conversation",
)
async def send_message(
    ctx: Context,
    body: SendMessage,
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    server = ctx.server
    # One transaction from the first check to the stored message: a refused send leaves
    # nothing behind (not even the one-to-one conversation the contact form makes).
    with server.write() as conn:
        if body.conversation_id:
            conversation = conversation_to_send(server, body.conversation_id, ctx.user)
        else:
            conversation = direct.conversation_for(conn, ctx, body.contact_id, body.from_number)
        client_id = body.client_message_id or key or None
        try:
            files = _checked(ctx, conversation, body)
            answer, ready = _store(conn, ctx, conversation, body, client_id, files)
        except (ApiProblem, sqlite3.IntegrityError):
            # Sent before (a retry): the first answer, even if the send would now be
            # refused. Asked only then: a send's unique client id is its own check.
            replay = _replay(ctx, conversation.id, client_id) if client_id else None
            if replay is None:
                raise
            return replay
    if ready:  # a job behind another of its conversation is readied when that one ends
        server.queue.wake()
    return answer


def _checked(ctx: Ctx, conversation: Conversation, body: SendMessage) -> list[Row]:
    """The send's files, once the group rules allow it (refused: ``ApiProblem``)."""
    numbers = ctx.server.numbers(ctx.user.location_id or "")
    refuse(rules.send_violations(conversation, ctx.user, numbers))
    files = _attachments(ctx, body.attachments)
    if not body.message.strip() and not body.attachments:
        raise invalid(["Write a message or attach a file."])
    return files


def _replay(ctx: Ctx, conversation_id: str, client_id: str) -> dict[str, Any] | None:
    row = ctx.server.db.one(
        "SELECT id FROM messages WHERE conversation_id = ? AND client_message_id = ?",
        (conversation_id, client_id),
    )
    if row is None:
        return None
    # The first answer said "queued"; the same body again, whatever happened since.
    return {"conversationId": conversation_id, "messageId": row["id"], "status": "queued"}


def _attachments(ctx: Ctx, urls: list[str]) -> list[Row]:
    """The stored files behind these URLs, refused by the attachment rules (413/415/422)."""
    rows: list[Row] = []
    unknown: list[str] = []
    for url in urls:
        row = ctx.server.attachment_for(url)
        if row is None:
            unknown.append(url)
        else:
            rows.append(row)
    infos = [rules.AttachmentInfo(r["name"], r["size"], r["mime"]) for r in rows]
    # Unknown URLs still count toward the number of files, whatever their size.
    infos += [rules.AttachmentInfo("unknown.txt", 0, "text/plain") for _ in unknown]
    refuse(rules.attachment_violations(infos, ctx.server.group_limits()))
    if unknown:
        raise invalid(
            [f"{url} was not uploaded to this backend; upload it first." for url in unknown]
        )
    return rows


def _store(
    conn: sqlite3.Connection,
    ctx: Ctx,
    conversation: Conversation,
    body: SendMessage,
    client_id: str | None,
    files: list[Row],
) -> tuple[dict[str, Any], bool]:
    """The message, its event and its carrier job, in the send's transaction; whether the
    job is ready to go at once (see ``carrier_queue.enqueue``)."""
    server = ctx.server
    message_id = insert_message(
        conn,
        NewMessage(
            conversation_id=conversation.id,
            direction="outbound",
            body=body.message,
            when=clock.now(),
            status="queued",
            attachments=tuple(_url_path(f) for f in files),
            attachment_bytes=sum(int(f["size"]) for f in files),
            user_id=ctx.user.id,
            client_message_id=client_id,
        ),
        recipients=[(p.id, p.phone) for p in conversation.participants],
    )
    changes.message_created(conn, server.db, message_id)
    ready = carrier_queue.enqueue(
        conn, "send", conversation.id, message_id, now_ms=server.queue.now_ms()
    )
    push_queue.enqueue_message(conn, server, message_id)
    answer = {"conversationId": conversation.id, "messageId": message_id, "status": "queued"}
    return answer, ready


def _url_path(row: Row) -> str:
    return f"{ATTACHMENT_PREFIX}{row['id']}/{quote(row['name'])}"


_UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["fileAttachment"],
                    "properties": {
                        "fileAttachment": {"type": "string", "format": "binary"},
                        "conversationId": {"type": "string", "maxLength": 200},
                        "isGroupSms": {"type": "string", "enum": ["true", "false"]},
                    },
                }
            }
        },
    }
}


@router.post(
    "/conversations/messages/upload",
    response_model=UploadAnswer,
    summary="Upload one attachment (multipart), checked by type and content as it streams",
    openapi_extra=_UPLOAD_FORM,
)
async def upload_attachment(request: Request, ctx: Context) -> dict[str, Any]:
    server = ctx.server
    stored, fields = await uploads.receive(request, server.files_dir)
    try:
        _check_fields(fields)
        conversation_id = fields.get("conversationId") or None
        if conversation_id is not None:
            visible_conversation(server, conversation_id, ctx.user)
        with server.write() as conn:
            conn.execute(
                "INSERT INTO attachments (id, name, mime, size, path, conversation_id, user_id,"
                " date_added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.name,
                    stored.mime,
                    stored.size,
                    stored.path.name,
                    conversation_id,
                    ctx.user.id,
                    clock.iso(clock.now()),
                ),
            )
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise
    path = f"{ATTACHMENT_PREFIX}{stored.id}/{quote(stored.name)}"
    return {"uploadedFiles": {stored.name: views.absolute_url(path, ctx.base_url)}}


def _check_fields(fields: dict[str, str]) -> None:
    """The form's other fields, as the published schema says them (422 otherwise)."""
    problems = []
    if fields.get("isGroupSms", "true") not in ("true", "false"):
        problems.append("Form field 'isGroupSms' must be 'true' or 'false'.")
    if len(fields.get("conversationId", "")) > 200:
        problems.append("Form field 'conversationId' is longer than 200 characters.")
    if problems:
        raise invalid(problems)


@router.get(
    "/attachments/{attachmentId}/{name}",
    response_class=FileResponse,
    summary="An attachment's bytes (no token: the unguessable id is the capability)",
    responses={
        200: {
            "description": "The file, with the type it was stored with (image/png, …).",
            # Any of the types uploads accept: the file's own, not one fixed type.
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def download_attachment(
    request: Request,
    attachment_id: Annotated[str, Path(alias="attachmentId", max_length=200)],
    name: Annotated[str, Path(max_length=400)],
) -> Response:
    server = server_of(request)
    row = server.db.one("SELECT * FROM attachments WHERE id = ?", (attachment_id,))
    if row is None:
        return problem_response(ApiProblem(404, "Attachment was not found."))
    path = server.files_dir / row["path"]
    if not path.is_file():
        return problem_response(ApiProblem(404, "Attachment was not found."))
    inline = (
        row["mime"].startswith(("image/", "video/", "audio/")) or row["mime"] == "application/pdf"
    )
    return FileResponse(
        path,
        media_type=row["mime"],
        filename=row["name"],
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"},
    )
