"""A fake carrier account served over HTTP on 127.0.0.1, for a server running in another process.

The server under test is pointed at it through the carrier's base-URL variables
(``TWILIO_API_BASE`` and the like), each a path prefix here that names the real host
(``/h/conversations.twilio.com``), so the fake's spec-validating transport sees the
request exactly as the real host would. ``Chaos`` breaks sends the ways a real carrier
does: a 500, a 429 with Retry-After, a slow answer, and the worst one, an answer lost
after the carrier acted on the request (the connection is cut mid-answer).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from tests.services.server_process import free_port

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Chaos:
    """Per request that changes something at the carrier (a POST): what goes wrong, by chance."""

    server_error: float = 0.0
    rate_limited: float = 0.0
    slow: float = 0.0
    lost_answer: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    counts: dict[str, int] = field(default_factory=dict)

    def pick(self) -> str | None:
        roll = self.rng.random()
        for name in ("server_error", "rate_limited", "slow", "lost_answer"):
            chance = float(getattr(self, name))
            if roll < chance:
                self.counts[name] = self.counts.get(name, 0) + 1
                return name
            roll -= chance
        return None


class _CutAnswer(Exception):
    """Raised after the answer's head went out: the client never gets the body."""


class ServedFake:
    def __init__(self, transport: httpx.AsyncBaseTransport, chaos: Chaos | None = None) -> None:
        self.transport = transport
        self.chaos = chaos or Chaos()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def base(self, host: str) -> str:
        return f"{self.url}/h/{host}"

    def start(self) -> None:
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            lifespan="off",
            interface="asgi3",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        _, _, host, rest = scope["path"].split("/", 3)
        query = scope.get("query_string", b"").decode()
        url = f"https://{host}/{rest}" + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"host"]
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        trouble = self.chaos.pick() if scope["method"] == "POST" else None
        if trouble == "server_error":
            await _answer(send, 500, b'{"code": 20500, "message": "Internal Server Error"}')
            return
        if trouble == "rate_limited":
            await _answer(send, 429, b'{"code": 20429, "message": "Too Many Requests"}', "1")
            return
        if trouble == "slow":
            await asyncio.sleep(1.0)
        response = await self.transport.handle_async_request(request)
        content = await response.aread()
        if trouble == "lost_answer":
            # The carrier did it; the answer never arrives.
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(b"content-length", str(len(content) + 10).encode())],
                }
            )
            raise _CutAnswer
        await _answer(send, response.status_code, content)


async def _answer(send: Send, status: int, body: bytes, retry_after: str | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
