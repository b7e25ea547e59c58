"""Per-token rate limiting with the contract's headers.

A sliding window: a token may make ``limit`` requests in any ``window_ms``.
Only admitted requests are remembered, so a refused request does not count
and a client that waits out ``Retry-After`` always gets in.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


class RateLimiter:
    def __init__(
        self, limit: int, window_ms: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def check(self, key: str) -> Decision:
        """Admit (and count) one request for ``key``, or refuse it uncounted."""
        if not self.enabled:
            return Decision(True, {})
        now = self._clock()
        window = self.window_ms / 1000
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = hits[0] + window - now
                retry = max(1, math.ceil(wait))
                headers = self._headers(0)
                headers["Retry-After"] = str(retry)
                return Decision(False, headers, retry)
            hits.append(now)
            return Decision(True, self._headers(self.limit - len(hits)))

    def _headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Interval-Milliseconds": str(self.window_ms),
        }
