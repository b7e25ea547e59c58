"""Background copies that leave the rate limit to the user's own requests.

The contract allows 100 requests per 10 s per token, shared by everything the
app does. A bulk copy (every contact, 500 pages at 50,000 contacts) that ran
flat out would use the whole budget and the user's taps would get 429s. A
``Pacer`` reads the client's latest ``X-RateLimit-Remaining`` before each
bulk request and, when less than ``reserve`` of the limit is left, waits one
window: on a sliding window (the sandbox) every earlier request has then
expired, on a fixed window (LeadConnector) a new window has begun.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from services.api.client import RateLimit

Sleep = Callable[[float], Awaitable[None]]
# The contract's window, for a server that reports a limit but not its interval.
_DEFAULT_WINDOW_S = 10.0


class HasRateLimit(Protocol):
    @property
    def rate_limit(self) -> RateLimit | None: ...


@dataclass
class Pacer:
    client: HasRateLimit
    reserve: float = 0.3  # share of the limit kept for interactive requests
    sleep: Sleep = asyncio.sleep
    pauses: int = 0

    def must_pause(self) -> float | None:
        """Seconds to wait before the next bulk request, or None to go now."""
        report = self.client.rate_limit
        if report is None or not report.limit or report.remaining is None:
            return None  # the server says nothing: nothing to pace by
        if report.remaining >= math.ceil(report.limit * self.reserve):
            return None
        return report.interval_ms / 1000 if report.interval_ms else _DEFAULT_WINDOW_S

    async def wait(self) -> None:
        delay = self.must_pause()
        if delay is None:
            await asyncio.sleep(0)  # a bulk copy yields between pages even when not paused
            return
        self.pauses += 1
        await self.sleep(delay)
