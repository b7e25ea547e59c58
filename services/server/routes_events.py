"""``GET /events``: the change log as Server-Sent Events or as long-poll JSON.

Cursors are event sequence numbers as strings. ``after=0`` reads from the
beginning, no ``after`` from now. A client that reconnects with its last
cursor gets exactly the events it has not seen: the log is append-only and
numbered in commit order. Events about things this user may not see are
skipped, but the cursor still moves past them.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from services import rules
from services.server import access, views
from services.server.events import StoredEvent
from services.server.problems import invalid
from services.server.web import Ctx, ok

MAX_WAIT_S = 30
KEEPALIVE_S = 15


async def events(request: Request, ctx: Ctx) -> Response:
    cursor = _cursor(request, ctx)
    accept = request.headers.get("accept", "")
    if "text/event-stream" in accept:
        return StreamingResponse(
            _stream(request, ctx, cursor),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    wait = _wait_seconds(request)
    batch, cursor = await long_poll(ctx, cursor, wait)
    base = str(request.base_url)
    return ok(
        request, {"events": [views.absolute_urls(e, base) for e in batch], "cursor": str(cursor)}
    )


def _cursor(request: Request, ctx: Ctx) -> int:
    raw = request.query_params.get("after")
    if raw is None or raw == "":
        raw = request.headers.get("last-event-id") or ""
    head = ctx.server.hub.head()
    if raw == "":
        return head
    if not raw.isdigit():
        raise invalid(["Query parameter 'after' must be a cursor this backend gave out."])
    # A cursor from a newer log (another database) would wait forever: start from now.
    return min(int(raw), head)


def _wait_seconds(request: Request) -> float:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise invalid(["Query parameter 'wait' must be a number of seconds."]) from None
    if not math.isfinite(value) or value < 0:
        raise invalid(["Query parameter 'wait' must be a number of seconds."])
    return min(value, MAX_WAIT_S)


async def long_poll(ctx: Ctx, cursor: int, wait: float) -> tuple[list[dict[str, Any]], int]:
    """Events after ``cursor`` visible to this user, waiting up to ``wait`` s for the first."""
    deadline = time.monotonic() + wait
    while True:
        batch, cursor = visible_after(ctx, cursor)
        remaining = deadline - time.monotonic()
        if batch or remaining <= 0:
            return batch, cursor
        await ctx.server.hub.wait(cursor, remaining)


def visible_after(ctx: Ctx, cursor: int) -> tuple[list[dict[str, Any]], int]:
    stored = ctx.server.hub.after(cursor)
    judge = _Visibility(ctx)
    batch = [event.wire() for event in stored if judge.allows(event)]
    return batch, (stored[-1].seq if stored else cursor)


class _Visibility:
    """Whether this user may see an event, remembering answers within one batch."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._conversations: dict[str, bool] = {}
        self._contacts: dict[str, bool] = {}

    def allows(self, event: StoredEvent) -> bool:
        if event.conversation_id is not None:
            return self._conversation(event.conversation_id)
        if event.contact_id is not None:
            return self._contact(event.contact_id)
        return True

    def _conversation(self, conversation_id: str) -> bool:
        if conversation_id not in self._conversations:
            server = self._ctx.server
            conversation = server.conversation(conversation_id)
            self._conversations[conversation_id] = conversation is not None and access.may_view(
                server, conversation, self._ctx.user
            )
        return self._conversations[conversation_id]

    def _contact(self, contact_id: str) -> bool:
        if contact_id not in self._contacts:
            contact = self._ctx.server.contact(contact_id, include_deleted=True)
            self._contacts[contact_id] = contact is not None and bool(
                rules.visible_contacts([contact], self._ctx.user)
            )
        return self._contacts[contact_id]


async def _stream(request: Request, ctx: Ctx, cursor: int) -> AsyncIterator[str]:
    base = str(request.base_url)
    yield f"retry: 2000\n: cursor {cursor}\n\n"
    while True:
        batch, cursor = visible_after(ctx, cursor)
        for event in batch:
            data = json.dumps(views.absolute_urls(event, base), separators=(",", ":"))
            yield f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"
        if batch:
            continue
        if await request.is_disconnected():
            return
        before = cursor
        await ctx.server.hub.wait(cursor, KEEPALIVE_S)
        if ctx.server.hub.head() == before:
            yield ": keepalive\n\n"
        await asyncio.sleep(0)
