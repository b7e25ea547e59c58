"""The event hub's waits: woken by a commit at once, or ended by a timer; long waits share
one timer per loop (a tick), so hundreds of open streams arm nothing per event."""

from __future__ import annotations

import asyncio

import pytest

from services.server import events
from services.server.db import Database
from services.server.events import EventHub

pytestmark = pytest.mark.anyio


@pytest.fixture
def hub() -> EventHub:
    return EventHub(Database(":memory:"))


@pytest.fixture
def quick_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "SHARED_TIMER_S", 0.2)
    monkeypatch.setattr(events, "TICK_S", 0.05)


async def test_long_waits_end_on_the_shared_tick_and_it_stops_when_none_is_left(
    hub: EventHub, quick_ticks: None
) -> None:
    readers = [asyncio.create_task(hub.wait(hub.head(), 0.3)) for _ in range(50)]
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    assert list(hub._tickers) == [loop], "one timer for all fifty, not one each"
    # A guard against hanging for ever, not a measure of time.
    await asyncio.wait_for(asyncio.gather(*readers), timeout=10)
    assert hub._waiting[loop] == {}
    await asyncio.sleep(0.2)  # the next tick finds no one waiting and is not armed again
    assert hub._tickers == {}


async def test_a_commit_wakes_long_and_short_waits_before_their_time(hub: EventHub) -> None:
    head = hub.head()
    long = asyncio.create_task(hub.wait(head, 3600))  # on the shared tick
    short = asyncio.create_task(hub.wait(head, events.SHARED_TIMER_S / 2))  # a timer of its own
    await asyncio.sleep(0)
    hub.wake()
    done, _ = await asyncio.wait({long, short}, timeout=10)
    assert done == {long, short}


async def test_a_reader_that_leaves_is_forgotten(hub: EventHub, quick_ticks: None) -> None:
    reader = asyncio.create_task(hub.wait(hub.head(), 3600))
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert hub._waiting[asyncio.get_running_loop()] == {}
