"""Rate limiting per token: the contract's headers, 429 with Retry-After, refusals uncounted."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.api.errors import RateLimitedError
from services.server import seed
from services.server.embedded import embedded_transport
from services.server.ratelimit import RateLimiter
from tests.services.server.conftest import BASE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_then_refuse_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 10_000, clock=clock)
    answers = [limiter.check("t") for _ in range(3)]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    clock.now += 4
    refused = limiter.check("t")
    assert not refused.allowed and refused.retry_after == 6
    assert refused.headers["Retry-After"] == "6"
    assert refused.headers["X-RateLimit-Interval-Milliseconds"] == "10000"


def test_refused_requests_do_not_count() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10_000, clock=clock)
    limiter.check("t")
    limiter.check("t")
    for _ in range(50):
        assert not limiter.check("t").allowed
    clock.now += 10.001
    assert limiter.check("t").allowed and limiter.check("t").allowed
    assert not limiter.check("t").allowed


def test_tokens_are_limited_separately_and_zero_turns_it_off() -> None:
    limiter = RateLimiter(1, 10_000, clock=FakeClock())
    assert limiter.check("a").allowed and limiter.check("b").allowed
    assert not limiter.check("a").allowed
    off = RateLimiter(0, 10_000)
    assert all(off.check("a").allowed for _ in range(1000))
    assert off.check("a").headers == {}


@pytest.mark.anyio
async def test_the_server_answers_429_and_the_client_waits_it_out(tmp_path: Path) -> None:
    transport = embedded_transport(tmp_path / "s.db", rate_limit=2, latency_ms=0)
    clock = FakeClock()
    transport.server.limiter = RateLimiter(2, 10_000, clock=clock)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as raw:
        headers = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
        first = await raw.get("/users/me", headers=headers)
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert first.headers["X-RateLimit-Remaining"] == "1"
        await raw.get("/users/me", headers=headers)
        refused = await raw.get("/users/me", headers=headers)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
        assert refused.json()["statusCode"] == 429
        other = await raw.get("/users/me", headers={"Authorization": "Bearer demo-staff"})
        assert other.status_code == 200

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    policy = RetryPolicy(sleep=sleep)
    async with ApiClient(BASE, seed.ADMIN_TOKEN, transport=transport, retry=policy) as api:
        me = await api.me()
    assert me.id == seed.ADMIN_ID and waits == [10.0]
    with pytest.raises(RateLimitedError):
        async with ApiClient(
            BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never()
        ) as api:
            await api.me()
            await api.me()
