"""``GET /events``: the change log as Server-Sent Events or as long-poll JSON.

Cursors are event sequence numbers as strings. ``after=0`` reads from the
beginning, no ``after`` from now. A client that reconnects with its last
cursor gets exactly the events it has not seen: the log is append-only and
numbered in commit order. Events about things this user may not see are
skipped, but the cursor still moves past them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from services.server import views
from services.server.events import MAX_BATCH, StoredEvent
from services.server.problems import invalid
from services.server.schemas import EventsAnswer
from services.server.sse import ChunkWriter, EventStreamResponse, accepts_gzip, deflated
from services.server.visibility import Visibility
from services.server.web import Context, Ctx

MAX_WAIT_S = 30
KEEPALIVE_S = 15
_KEEPALIVE = b": keepalive\n\n"
_KEEPALIVE_GZIP = deflated(_KEEPALIVE)
router = APIRouter(tags=["events"])

_SSE = {
    "text/event-stream": {
        "schema": {"type": "string", "description": "id: cursor, event: type, data: JSON"}
    }
}


@router.get(
    "/events",
    response_model=EventsAnswer,
    summary="Changes after a cursor: Server-Sent Events, or long-poll JSON",
    responses={200: {"content": _SSE}},
)
async def events(
    request: Request,
    ctx: Context,
    after: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]*$")] = None,
    wait: Annotated[float, Query(ge=0, le=3600, allow_inf_nan=False)] = 0.0,
    accept: Annotated[str, Header(max_length=1000)] = "application/json",
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=20, pattern=r"^[0-9]*$")
    ] = None,
) -> Response:
    cursor = _cursor(ctx, after if after else last_event_id)
    if "text/event-stream" in accept:
        # HTTP's own negotiation, as for any answer (not a parameter of this route).
        gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
        return EventStreamResponse(
            lambda write: _stream(request, ctx, cursor, gzip, write),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            gzip=gzip,
        )
    batch, cursor = await long_poll(ctx, cursor, min(wait, MAX_WAIT_S))
    base = ctx.base_url
    body = {
        "events": [views.absolute_urls(e, base) for e in batch],
        "cursor": str(cursor),
        "logId": ctx.server.hub.log_id,
    }
    return JSONResponse(body)


def _cursor(ctx: Ctx, raw: str | None) -> int:
    head = ctx.server.hub.head()
    if not raw:
        return head
    if not raw.isdigit():
        raise invalid(["Query parameter 'after' must be a cursor this backend gave out."])
    # A cursor from a newer log (another database) would wait forever: start from now.
    return min(int(raw), head)


async def long_poll(ctx: Ctx, cursor: int, wait: float) -> tuple[list[dict[str, Any]], int]:
    """Events after ``cursor`` visible to this user, waiting up to ``wait`` s for the first."""
    deadline = time.monotonic() + wait
    while True:
        found, cursor = visible_after(ctx, cursor)
        remaining = deadline - time.monotonic()
        if found or remaining <= 0 or ctx.server.hub.closing:
            return [event.wire() for event in found], cursor
        await ctx.server.hub.wait(cursor, remaining)


def visible_after(
    ctx: Ctx, cursor: int, judge: Visibility | None = None
) -> tuple[list[StoredEvent], int]:
    """The events after ``cursor`` this user may see, and the cursor past all of them."""
    stored = ctx.server.hub.after(cursor)
    judge = judge or ctx.server.visibility(ctx.user)
    return [event for event in stored if judge.allows(event)], (
        stored[-1].seq if stored else cursor
    )


async def _stream(
    request: Request, ctx: Ctx, cursor: int, gzip: bool, write: ChunkWriter | None
) -> AsyncIterator[bytes]:
    """The stream itself; it ends when the token stops signing the user in (the client's
    reconnect then gets its 401). Each event's bytes are built once and shared by every
    stream (``StoredEvent.frame``), deflated ones too (``gzip``). One generator, not two
    nested: every level is paid by every stream at every event.

    With a ``write``r (uvicorn's connection), a caught-up stream is followed: the hub's
    flushes write its events themselves (``EventHub.follow``) and this task runs only for
    what they cannot do: a keepalive, a full socket, a revoked sign-in, catching up."""
    auth = ctx.server.auth
    revoked = auth.watch_stream(ctx.signed) if ctx.signed is not None else asyncio.Event()
    hub = ctx.server.hub
    base = str(request.base_url)
    # Asked once: it keeps its answers until who may see what changes (its epoch), and
    # asking the server each time compared this request's user with the cached one's.
    judge = ctx.server.visibility(ctx.user)
    loop = asyncio.get_running_loop()
    written_at = loop.time()  # when this stream last wrote (a keepalive is due 15 s after)

    def deliver(stored: list[StoredEvent]) -> bool:
        nonlocal written_at
        if revoked.is_set() or write is None:
            return False
        if not stored:
            return True
        chunk = judge.chunk(stored, base, gzip)
        if not chunk:
            return True
        if not write(chunk):
            return False
        written_at = loop.time()
        return True

    try:
        opening = f"retry: 2000\n: cursor {cursor}\n\n".encode()
        yield deflated(opening) if gzip else opening
        keepalive = _KEEPALIVE_GZIP if gzip else _KEEPALIVE
        while not revoked.is_set():
            stored = hub.after(cursor)
            if stored:
                cursor = stored[-1].seq
                chunk = judge.chunk(stored, base, gzip)
                if chunk:
                    written_at = loop.time()
                    yield chunk
                if len(stored) == MAX_BATCH:
                    continue  # far behind: catch up without waiting for flushes
            if hub.closing:
                return  # the server is stopping: all it logged has gone out; clients reconnect
            # Whatever committed meanwhile comes with the hub's next flush, so a burst
            # reaches each stream in a few writes, not one per message. A client that
            # leaves is noticed by the response itself (it listens for the disconnect and
            # cancels this generator): asking here would cost every stream a receive()
            # per event.
            if write is not None:
                quiet = loop.time() - written_at
                cursor = await hub.follow(cursor, deliver, KEEPALIVE_S - quiet)
                due = loop.time() - written_at >= KEEPALIVE_S
            else:
                before = cursor
                await hub.wait(cursor, KEEPALIVE_S)
                due = hub.head() == before
            if revoked.is_set():
                return
            if due and hub.head() == cursor and not hub.closing:
                written_at = loop.time()
                yield keepalive
    finally:
        if ctx.signed is not None:
            auth.forget_stream(ctx.signed, revoked)
