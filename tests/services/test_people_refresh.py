"""The people copy against the in-process sandbox at a few thousand contacts:
few requests (the largest pages), and paced so the shared rate limit keeps
headroom and no request of it is ever refused with a 429."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.server.app import create_app
from services.server.ratelimit import RateLimiter
from services.server.seed import LOCATION
from services.store import Store
from services.sync import Sync

pytestmark = pytest.mark.anyio

EXTRA = 2_000  # with the demo's own: ~21 pages, more than the limit of 20 below
LIMIT = 20
WINDOW_MS = 10_000


@dataclass
class FakeClock:
    """The limiter's clock; the pacer's sleep moves it on instead of waiting."""

    now: float = 1_000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Counting(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    statuses: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        if "X-RateLimit-Remaining" in response.headers:
            self.remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        return response


def _seed_contacts(app: object, count: int) -> None:
    sandbox = app.state.server  # type: ignore[attr-defined]
    rows = [
        (f"ct_many_{i:05d}", LOCATION, f"Person{i}", "Many", f"+1206555{i:04d}", "2026-11-27")
        for i in range(count)
    ]
    with sandbox.db.tx() as db:
        db.executemany(
            "INSERT INTO contacts (id, location_id, first_name, last_name, phone, date_updated)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def transport(tmp_path: Path, clock: FakeClock) -> Iterator[Counting]:
    app = create_app(tmp_path / "sandbox.db", seed="demo", rate_limit=LIMIT, latency_ms=0)
    app.state.server.limiter = RateLimiter(LIMIT, WINDOW_MS, clock=clock)
    _seed_contacts(app, EXTRA)
    yield Counting(httpx.ASGITransport(app=app))


def _client(transport: Counting) -> ApiClient:
    # No retries: a 429 must show, not be waited out (for real) behind the test's back.
    return ApiClient(
        "http://127.0.0.1:9",
        "demo-admin",
        transport=transport,
        location_id="loc_demo",
        retry=RetryPolicy.never(),
    )


async def test_the_copy_is_paced_in_large_pages_and_never_refused(
    transport: Counting, clock: FakeClock
) -> None:
    store = Store()
    async with _client(transport) as client:
        sync = Sync(client, store)
        sync.pacer.sleep = clock.sleep
        await sync.refresh_people()
        total = (await client.search_contacts(page_limit=1)).total
    assert len(store.contacts(limit=None)) == total > EXTRA
    pages = -(-total // 100)
    assert len(transport.statuses) <= pages + 2  # the pages, the teammates, the total above
    assert 429 not in transport.statuses
    # It paused rather than run into the limit, and always left the user's share free.
    assert clock.slept and all(s == WINDOW_MS / 1000 for s in clock.slept)
    assert min(transport.remaining) >= LIMIT * 0.3 - 1


async def test_stop_cancels_a_copy_under_way(transport: Counting, clock: FakeClock) -> None:
    paused = asyncio.Event()

    async def hold(seconds: float) -> None:
        paused.set()
        await asyncio.Event().wait()  # the window never ends: only stop() ends this

    async with _client(transport) as client:
        sync = Sync(client, Store())
        sync.pacer.sleep = hold
        task = sync.refresh_people_soon()
        await paused.wait()
        await sync.stop()
    assert task.cancelled()
