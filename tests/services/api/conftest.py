"""A scripted fake server for the client tests (httpx.MockTransport).

The embedded backend cannot produce dropped connections, timeouts, 5xx or
malformed answers on demand, so these tests script the wire instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.api import ApiClient, RetryPolicy

TOKEN = "secret-token-123"
BASE = "https://api.test"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Answers each request with the next scripted reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def ok(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def problem(status: int, message: str | list[str] = "", **headers: str) -> httpx.Response:
    body = {"statusCode": status, "message": message, "error": "Error"}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., ApiClient]:
    """``async with make_client(server) as api``: a client on the fake server, instant sleeps."""

    def build(server: FakeServer, **kwargs: Any) -> ApiClient:
        kwargs.setdefault("location_id", "loc_1")
        kwargs.setdefault("retry", RetryPolicy(sleep=sleeps, rng=lambda: 0.5))
        return ApiClient(
            kwargs.pop("base_url", BASE), TOKEN, transport=server.transport(), **kwargs
        )

    return build
