"""Exponential backoff with jitter, for reconnecting and for resending."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay after the n-th consecutive failure: doubling up to ``cap``, "equal jitter".

    Jitter spreads the reconnects of many devices after a server restart, so
    they do not all arrive in the same instant.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** max(failures - 1, 0))
        return ceiling / 2 + self.rng() * ceiling / 2
