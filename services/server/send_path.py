"""``POST /conversations/messages`` without FastAPI's per-request work.

A send is the request a busy server answers most, and FastAPI's layers (routing over
every route, solving dependencies, validating and serializing the answer twice, five
middlewares of its own) cost more than the send's own checks and transaction together
(issue 19). This middleware, inside ``ServerMiddleware`` (body limit, request id, log
line, rate and security headers still apply) and before any layer of FastAPI's own
(``app._App``), answers a well-formed send itself: the same bearer check and rate limit
(``web.authorize_scope``), the same body model, the same route function, the same
refusals, and an unforeseen failure answered as FastAPI's outermost layer answers it
(``web.failed``). Anything else it hands to FastAPI with the body it read, unchanged: a
body that does not validate, another content type, an over-long header, so every error
keeps FastAPI's exact answer. The route stays declared in FastAPI too, which is what
``/openapi.json`` describes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from services.server import routes_messages, web
from services.server.problems import ApiProblem
from services.server.schemas import SendAnswer, SendMessage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/conversations/messages"
MAX_KEY_CHARS = 200  # the route's Idempotency-Key header limit
_JSON_HEADERS = [(b"content-type", b"application/json")]


class SendPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, body = await _read(receive)
        parsed = _parse(scope, body) if body is not None else None
        if parsed is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await _answer(scope, send, *parsed)


async def _read(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages as read, and its whole body (None when the client left)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` as it was before this middleware read from it."""
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


def _parse(scope: Scope, body: bytes) -> tuple[SendMessage, str | None, str] | None:
    """The body, the idempotency key and the bearer token, or None when FastAPI should
    judge the request."""
    content_type = key = authorization = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            if content_type is not None:
                return None
            content_type = value
        elif name == b"idempotency-key":
            if key is not None:
                return None
            key = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:  # the first, as Starlette
            authorization = value.decode("latin-1")
    if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    if key is not None and len(key) > MAX_KEY_CHARS:
        return None
    try:
        return SendMessage.model_validate_json(body), key, web.bearer_token(authorization)
    except ValidationError:
        return None


async def _answer(scope: Scope, send: Send, body: SendMessage, key: str | None, token: str) -> None:
    try:
        ctx = web.authorize_scope(scope, token)
        result = await routes_messages.send_message(ctx, body, key)
    except ApiProblem as problem:
        await web.problem_response(problem)(scope, _no_body, send)
        return
    except Exception as error:  # as FastAPI's outermost layer answers it, logged once
        await (await web.failed(Request(scope), error))(scope, _no_body, send)
        return
    content = SendAnswer.model_validate(result).model_dump_json(by_alias=True).encode()
    headers = [(b"content-length", str(len(content)).encode()), *_JSON_HEADERS]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
