"""The retry policy: what is repeated, after how long, and what never is."""

from __future__ import annotations

import json

import httpx
import pytest

from services.api import errors
from services.api.retry import RetryPolicy
from tests.services.api.conftest import FakeServer, Sleeps, ok, problem

pytestmark = pytest.mark.anyio

ME = {"user": {"id": "u1", "locationId": "loc_1"}}
SENT = {"conversationId": "conv1", "messageId": "m1", "status": "queued"}


# --- the policy on its own -----------------------------------------------------------

IDEMPOTENT_CASES = [
    (errors.RateLimitedError(retry_after=None), True, True),
    (errors.RateLimitedError(retry_after=None), False, True),
    (errors.ServerError(status_code=500), True, True),
    (errors.ServerError(status_code=503), True, True),
    (errors.ServerError(status_code=500), False, False),
    (errors.ServerError(status_code=501), True, False),
    (errors.NetworkError(request_sent=True), True, True),
    (errors.NetworkError(request_sent=True), False, False),
    (errors.NetworkError(request_sent=False), False, True),
    (errors.RequestTimeout(request_sent=True), True, True),
    (errors.RequestTimeout(request_sent=True), False, False),
    (errors.AuthError(status_code=401), True, False),
    (errors.ForbiddenError(status_code=403), True, False),
    (errors.NotFoundError(status_code=404), True, False),
    (errors.ConflictError(), True, False),
    (errors.ValidationError(), True, False),
    (errors.TooLargeError(status_code=413), True, False),
    (errors.UnsupportedTypeError(status_code=415), True, False),
    (errors.MalformedResponseError(), True, False),
    (errors.UnsupportedFeatureError("x"), True, False),
]


@pytest.mark.parametrize(("error", "idempotent", "retried"), IDEMPOTENT_CASES)
def test_which_errors_are_retried(error, idempotent, retried):
    delay = RetryPolicy().delay_for(error, 1, idempotent=idempotent)
    assert (delay is not None) is retried


def test_backoff_doubles_with_equal_jitter_and_a_ceiling():
    low = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=lambda: 0.0)
    high = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=lambda: 1.0)
    assert [low.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_retry_after_is_used_exactly_without_jitter():
    policy = RetryPolicy(rng=lambda: 0.9)
    assert policy.delay_for(errors.RateLimitedError(retry_after=3), 1, idempotent=False) == 3.0
    assert policy.delay_for(errors.RateLimitedError(retry_after=0), 1, idempotent=False) == 0.0


def test_a_retry_after_longer_than_the_limit_goes_to_the_caller():
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay_for(errors.RateLimitedError(retry_after=61), 1, idempotent=True) is None


def test_gives_up_after_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    error = errors.ServerError(status_code=500)
    assert policy.delay_for(error, 2, idempotent=True) is not None
    assert policy.delay_for(error, 3, idempotent=True) is None


def test_never_retries_nothing():
    error = errors.RateLimitedError(retry_after=1)
    assert RetryPolicy.never().delay_for(error, 1, idempotent=True) is None


async def test_on_retry_hears_each_wait(sleeps: Sleeps):
    heard: list[tuple[str, float, int]] = []
    policy = RetryPolicy(
        sleep=sleeps,
        rng=lambda: 0.0,
        on_retry=lambda e, d, n: heard.append((type(e).__name__, d, n)),
    )
    outcomes: list[Exception | str] = [
        errors.RateLimitedError(retry_after=7),
        errors.ServerError(),
        "ok",
    ]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await policy.run(attempt, idempotent=True) == "ok"
    assert heard == [("RateLimitedError", 7.0, 1), ("ServerError", 0.5, 2)]
    assert sleeps.delays == [7.0, 0.5]


# --- the policy applied by the client ------------------------------------------------


async def test_429_with_retry_after_is_retried_after_exactly_that_delay(make_client, sleeps):
    server = FakeServer(problem(429, "slow down", **{"Retry-After": "3"}), ok(ME))
    async with make_client(server) as api:
        user = await api.me()
    assert user.id == "u1"
    assert len(server.requests) == 2
    assert sleeps.delays == [3.0]


async def test_429_is_retried_even_for_a_post_without_a_key(make_client, sleeps):
    # The server refused before doing anything, so repeating cannot duplicate.
    server = FakeServer(problem(429, "slow", **{"Retry-After": "2"}), ok({"ok": True}))
    async with make_client(server) as api:
        await api.sandbox_inbound("+14155550101", ["+14155550100"], "hi")
    assert len(server.requests) == 2
    assert sleeps.delays == [2.0]


async def test_post_without_idempotency_key_is_not_retried_on_500(make_client, sleeps):
    server = FakeServer(problem(500, "boom"), ok({"ok": True}))
    async with make_client(server) as api:
        with pytest.raises(errors.ServerError):
            await api.sandbox_inbound("+14155550101", ["+14155550100"], "hi")
    assert len(server.requests) == 1
    assert sleeps.delays == []


async def test_post_without_idempotency_key_is_not_retried_after_a_dropped_connection(
    make_client, sleeps
):
    server = FakeServer(httpx.RemoteProtocolError("dropped"), ok({"ok": True}))
    async with make_client(server) as api:
        with pytest.raises(errors.NetworkError):
            await api.sandbox_inbound("+14155550101", ["+14155550100"], "hi")
    assert len(server.requests) == 1


async def test_post_is_retried_when_the_connection_was_never_made(make_client, sleeps):
    server = FakeServer(httpx.ConnectError("refused"), ok({"ok": True}))
    async with make_client(server) as api:
        await api.sandbox_inbound("+14155550101", ["+14155550100"], "hi")
    assert len(server.requests) == 2


async def test_get_is_retried_on_5xx_then_succeeds(make_client, sleeps):
    server = FakeServer(problem(503), problem(502), ok(ME))
    async with make_client(server) as api:
        user = await api.me()
    assert user.id == "u1"
    assert len(server.requests) == 3
    # rng fixed at 0.5: 0.75 of a ceiling that doubles from 0.5 s.
    assert sleeps.delays == [0.375, 0.75]


async def test_get_gives_up_after_max_attempts(make_client, sleeps):
    server = FakeServer(problem(500))
    async with make_client(server) as api:
        with pytest.raises(errors.ServerError):
            await api.me()
    assert len(server.requests) == RetryPolicy().max_attempts
    assert len(sleeps.delays) == RetryPolicy().max_attempts - 1


async def test_get_is_retried_after_a_timeout(make_client, sleeps):
    server = FakeServer(httpx.ReadTimeout("slow"), ok(ME))
    async with make_client(server) as api:
        assert (await api.me()).id == "u1"
    assert len(server.requests) == 2


async def test_send_is_retried_on_500_with_the_same_client_message_id(make_client, sleeps):
    server = FakeServer(problem(500), ok(SENT, 201))
    async with make_client(server) as api:
        result = await api.send_message("conv1", "hello")
    assert result.message_id == "m1"
    assert len(server.requests) == 2
    ids = {json.loads(r.content)["clientMessageId"] for r in server.requests}
    keys = {r.headers["Idempotency-Key"] for r in server.requests}
    assert len(ids) == 1
    assert keys == ids


async def test_create_group_is_retried_with_the_same_idempotency_key(make_client, sleeps):
    conversation = {"conversation": {"id": "g1", "type": "TYPE_GROUP_SMS"}}
    server = FakeServer(httpx.ReadTimeout("lost answer"), ok(conversation, 201))
    async with make_client(server) as api:
        group = await api.create_group("contacts", "+14155550100", ["c1", "c2"])
    assert group.id == "g1"
    keys = [r.headers["Idempotency-Key"] for r in server.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1]


async def test_errors_that_cannot_succeed_later_are_not_retried(make_client, sleeps):
    server = FakeServer(problem(401, "Invalid JWT"), ok(ME))
    async with make_client(server) as api:
        with pytest.raises(errors.AuthError):
            await api.me()
    assert len(server.requests) == 1


async def test_a_long_retry_after_is_not_waited_out(make_client, sleeps):
    server = FakeServer(problem(429, "slow", **{"Retry-After": "3600"}), ok(ME))
    async with make_client(server) as api:
        with pytest.raises(errors.RateLimitedError) as caught:
            await api.me()
    assert caught.value.retry_after == 3600
    assert sleeps.delays == []


async def test_503_retry_after_is_honoured(make_client, sleeps):
    server = FakeServer(problem(503, "maintenance", **{"Retry-After": "5"}), ok(ME))
    async with make_client(server) as api:
        await api.me()
    assert sleeps.delays == [5.0]
