"""Helpers for the store/sync/outbox tests: the in-process sandbox, a flaky network.

``FlakyTransport`` stands between the client and the real sandbox to produce
failures the backend cannot produce on demand: a refused connection, a 503,
and — the case that matters for exactly-once — a request the server carried
out whose answer never came back.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette

from services.api import ApiClient, RetryPolicy
from services.backoff import Backoff
from services.server.app import create_app
from services.store import Store
from services.sync import Sync

# Fast, still-jittered backoff so fault tests spend their time on faults.
FAST = Backoff(base=0.02, cap=0.2)


def sandbox_app(tmp_path: Path, *, latency_ms: int = 5) -> Starlette:
    return create_app(tmp_path / "sandbox.db", seed="demo", rate_limit=0, latency_ms=latency_ms)


def client_for(
    app_or_transport: Starlette | httpx.AsyncBaseTransport,
    token: str = "demo-admin",
    *,
    retry: RetryPolicy | None = None,
) -> ApiClient:
    if isinstance(app_or_transport, httpx.AsyncBaseTransport):
        # A wrapper is not an ASGITransport to the client: give it a loopback URL.
        return ApiClient(
            "http://127.0.0.1:9",
            token,
            transport=app_or_transport,
            location_id="loc_demo",
            retry=retry,
        )
    transport = httpx.ASGITransport(app=app_or_transport)
    return ApiClient("http://sandbox", token, transport=transport, retry=retry)


def make_sync(client: ApiClient, store: Store, **kwargs: object) -> Sync:
    kwargs.setdefault("backoff", FAST)
    kwargs.setdefault("outbox_backoff", FAST)
    kwargs.setdefault("long_poll_wait", 2)
    return Sync(client, store, **kwargs)  # type: ignore[arg-type]


class FlakyTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner``, failing some requests in reproducible, chosen ways."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        seed: int = 0,
        refuse: float = 0.0,
        server_error: float = 0.0,
        lose_answer: float = 0.0,
        drop_stream: float = 0.0,
        applies: Callable[[httpx.Request], bool] = lambda request: True,
    ) -> None:
        self.inner = inner
        self.rng = random.Random(seed)
        self.refuse = refuse
        self.server_error = server_error
        self.lose_answer = lose_answer
        self.applies = applies
        self.drop_stream = drop_stream
        self.down = False
        self.counts = {"refused": 0, "5xx": 0, "lost": 0, "dropped": 0, "passed": 0}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("backend down", request=request)
        if "text/event-stream" in request.headers.get("accept", ""):
            return await self._stream(request)
        roll = self.rng.random() if self.applies(request) else 1.0
        if roll < self.refuse:
            self.counts["refused"] += 1
            raise httpx.ConnectError("connection refused", request=request)
        roll -= self.refuse
        if roll < self.server_error:
            self.counts["5xx"] += 1
            return httpx.Response(
                503, json={"statusCode": 503, "message": "flaky", "error": "Unavailable"}
            )
        roll -= self.server_error
        response = await self.inner.handle_async_request(request)
        if roll < self.lose_answer:
            await response.aread()
            await response.aclose()
            self.counts["lost"] += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        self.counts["passed"] += 1
        return response

    async def _stream(self, request: httpx.Request) -> httpx.Response:
        # An event stream is never read whole: faults here cut it after some chunks.
        response = await self.inner.handle_async_request(request)
        if self.rng.random() >= self.drop_stream:
            return response
        self.counts["dropped"] += 1
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CutStream(response.stream, self.rng.randint(1, 20), request),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CutStream(httpx.AsyncByteStream):
    """A response body whose connection breaks after ``chunks`` chunks."""

    def __init__(self, inner: httpx.AsyncByteStream, chunks: int, request: httpx.Request) -> None:
        self.inner = inner
        self.chunks = chunks
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        count = 0
        async for chunk in self.inner:
            if count >= self.chunks:
                raise httpx.ReadError("connection dropped", request=self.request)
            count += 1
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def is_send(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path == "/conversations/messages"


async def eventually(check: Callable[[], bool], *, within: float = 20.0) -> None:
    """Wait until ``check()`` holds; fail after ``within`` seconds (a hang guard only)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
