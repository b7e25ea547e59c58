"""When and how long to wait before repeating a failed request.

A small loop rather than tenacity: the decision needs the request's
idempotency and the server's ``Retry-After``, and the sleep must be injectable
so tests can check the exact delay without waiting.

What is retried:
- 429 always: the server refused the request before doing anything, and
  waits exactly ``Retry-After`` seconds when the server gives it;
- a connection that was never made (the request never left), always;
- 5xx (except 501/505), timeouts and dropped connections only when the
  request is idempotent — a repeat cannot create a second message or group.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from services.api.errors import ApiError, NetworkError, RateLimitedError, ServerError

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
RetryListener = Callable[[ApiError, float, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``sleep`` and ``rng`` are injectable for tests.

    ``max_attempts`` counts the first try. A ``Retry-After`` longer than
    ``max_retry_after`` is not waited out here: the error goes to the caller,
    which can tell the user how long to wait. ``on_retry(error, delay, attempt)``
    is told before each wait (e.g. to show "Trying again in 12 seconds").
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    sleep: Sleep = asyncio.sleep
    rng: Callable[[], float] = random.random
    on_retry: RetryListener | None = field(default=None, compare=False)

    @classmethod
    def never(cls) -> RetryPolicy:
        """No retries at all (each failure goes straight to the caller)."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based), with "equal jitter"."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        jitter: float = self.rng()
        return ceiling / 2 + jitter * ceiling / 2

    def delay_for(self, error: ApiError, attempt: int, *, idempotent: bool) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise."""
        if attempt >= self.max_attempts or not _may_repeat(error, idempotent):
            return None
        server_wait = getattr(error, "retry_after", None)
        if server_wait is None:
            return self.backoff(attempt)
        wait = max(0.0, float(server_wait))
        return wait if wait <= self.max_retry_after else None

    async def run(self, attempt_once: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """Call ``attempt_once`` until it succeeds or the policy gives up."""
        attempt = 1
        while True:
            try:
                return await attempt_once()
            except ApiError as error:
                delay = self.delay_for(error, attempt, idempotent=idempotent)
                if delay is None:
                    raise
                if self.on_retry is not None:
                    self.on_retry(error, delay, attempt)
                await self.sleep(delay)
                attempt += 1


def _may_repeat(error: ApiError, idempotent: bool) -> bool:
    if isinstance(error, RateLimitedError):
        return True
    if isinstance(error, NetworkError):
        return idempotent or not error.request_sent
    if isinstance(error, ServerError):
        return idempotent and error.retryable
    return False
