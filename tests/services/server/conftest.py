"""The sandbox in-process, reached through the service layer's client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.models import Event
from services.server import seed
from services.server.embedded import EmbeddedTransport, embedded_transport

BASE = "http://embedded.invalid"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


@pytest.fixture
async def transport(db_path: Path) -> AsyncIterator[EmbeddedTransport]:
    # No rate limit and an instant carrier: tests wait on events, never on the clock.
    t = embedded_transport(db_path, seed="demo", rate_limit=0, latency_ms=0)
    yield t
    await t.aclose()


@pytest.fixture
async def admin(transport: EmbeddedTransport) -> AsyncIterator[ApiClient]:
    async with ApiClient(
        BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never()
    ) as c:
        yield c


@pytest.fixture
async def staff(transport: EmbeddedTransport) -> AsyncIterator[ApiClient]:
    async with ApiClient(
        BASE, seed.STAFF_TOKEN, transport=transport, retry=RetryPolicy.never()
    ) as c:
        yield c


@pytest.fixture
async def raw(transport: EmbeddedTransport) -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx for what the typed client never sends (malformed bodies, bad types)."""
    headers = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
        yield c


async def collect_events(
    client: ApiClient,
    after: str,
    until: Callable[[list[Event]], bool],
    rounds: int = 50,
) -> tuple[list[Event], str]:
    """Long-poll from ``after`` until ``until(events)`` holds; returns the events and cursor."""
    seen: list[Event] = []
    cursor = after
    for _ in range(rounds):
        batch = await client.events(after=cursor, wait=2)
        seen += batch.events
        cursor = batch.cursor or cursor
        if until(seen):
            return seen, cursor
    raise AssertionError(f"events never satisfied the condition: {[e.type for e in seen]}")


Waiter = Callable[[], Awaitable[None]]
