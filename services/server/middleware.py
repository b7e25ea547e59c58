"""What every answer gets, whatever route made it: body limits, rate-limit and security headers.

A pure ASGI middleware (no buffering, so the event stream still streams):
- a body larger than its route's limit is refused from its ``Content-Length``
  before a byte of it is read, and a body sent without one is cut off the
  moment it passes the limit (413 either way);
- the rate limit's ``X-RateLimit-*`` headers, decided by ``web.context``, are
  added to the answer, refusals included;
- every answer carries the security headers a browser should see.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from services import limits
from services.server import logs

log = logging.getLogger("services.server.requests")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# JSON bodies of this contract are small; anything bigger is a mistake or an attack.
MAX_JSON_BYTES = 64 * 1024
# Multipart framing around a 5 MB file is a few hundred bytes.
MAX_UPLOAD_BYTES = limits.MAX_ATTACHMENT_TOTAL_BYTES + 64 * 1024
UPLOAD_PATH = "/conversations/messages/upload"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class BodyTooLarge(HTTPException):
    """Raised from inside the body's reading, so FastAPI and the upload parser let it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is over {limit:,} bytes.")


def body_limit(path: str) -> int:
    return MAX_UPLOAD_BYTES if path == UPLOAD_PATH else MAX_JSON_BYTES


class ServerMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = logs.new_request_id(_header(scope, b"x-request-id"))
        token = logs.request_id.set(rid)
        began = time.perf_counter()
        status = 0
        try:
            status = await self._handle(scope, receive, send, rid)
        finally:
            logs.request_id.reset(token)
            if log.isEnabledFor(logging.INFO):  # its fields cost a send's budget (issue 19)
                _log_line(scope, status, rid, began)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, rid: str) -> int:
        """Answer the request; its status (0 when the client left before one was sent)."""
        status = 0
        limit = body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit, rid)
            return 413
        started = False

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                limited_receive.seen += len(message.get("body", b""))  # type: ignore[attr-defined]
                if limited_receive.seen > limit:  # type: ignore[attr-defined]
                    raise BodyTooLarge(limit)
            return message

        limited_receive.seen = 0  # type: ignore[attr-defined]

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            nonlocal status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                state = scope.get("state") or {}
                for name, value in (state.get("rate_headers") or {}).items():
                    if not any(k.lower() == name.lower().encode() for k, _ in headers):
                        headers.append((name.lower().encode(), str(value).encode()))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit, rid)
                return 413
        return status


def _log_line(scope: Scope, status: int, rid: str, began: float) -> None:
    state = scope.get("state") or {}
    log.info(
        "%s %s %s",
        scope["method"],
        scope["path"],
        status,
        extra={
            "request_id": rid,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "ms": round((time.perf_counter() - began) * 1000, 1),
            "user": state.get("user_id"),
            "client": (scope.get("client") or ("?",))[0],
        },
    )


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


async def _too_large(send: Send, limit: int, rid: str) -> None:
    body = json.dumps(
        {
            "statusCode": 413,
            "message": f"The request body is over {limit:,} bytes.",
            "error": "Payload Too Large",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode()),
    ]
    await send(
        {"type": "http.response.start", "status": 413, "headers": headers + SECURITY_HEADERS}
    )
    await send({"type": "http.response.body", "body": body})
