"""A fake carrier account and a carrier built on it, per test (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.services.server.carriers.harness import HARNESSES, Harness, HarnessKind
from tests.services.server.carriers.support import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=HARNESSES, ids=lambda kind: kind.name)
async def harness(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Harness]:
    kind: HarnessKind = request.param
    made = kind.make(clock)
    yield made
    await made.carrier.aclose()
    await made.http.aclose()
