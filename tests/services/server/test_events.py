"""The event hub's waits: woken by a commit at once, or ended by a timer; long waits share
one timer per loop (a tick), so hundreds of open streams arm nothing per event."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.server import events
from services.server.db import Database
from services.server.embedded import embedded_transport
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
    assert hub._loops[loop].ticker is not None, "one timer for all fifty, not one each"
    # A guard against hanging for ever, not a measure of time.
    await asyncio.wait_for(asyncio.gather(*readers), timeout=10)
    assert hub._loops[loop].waiting == {}
    await asyncio.sleep(0.2)  # the next tick finds no one waiting and is not armed again
    assert hub._loops[loop].ticker is None


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
    assert hub._loops[asyncio.get_running_loop()].waiting == {}


async def test_a_burst_waits_for_the_next_flush_and_wakes_each_reader_once(hub: EventHub) -> None:
    loop = asyncio.get_running_loop()
    readers = [asyncio.create_task(hub.wait(hub.head(), 3600)) for _ in range(3)]
    await asyncio.sleep(0)
    state = hub._loops[loop]
    state.not_before = loop.time() + 3600  # as after a flush whose readers took long
    for _ in range(5):
        hub.wake()  # five commits: one flush asked, not five
    for _ in range(3):
        await asyncio.sleep(0)
    assert state.flush_asked
    assert not any(reader.done() for reader in readers), "woken before the flush"
    hub._flush(loop)  # what the flush's timer does when it is due
    done, _ = await asyncio.wait(readers, timeout=10)
    assert len(done) == 3
    assert not state.flush_asked


async def test_a_reader_behind_the_log_is_woken_by_a_flush_it_asks_for(hub: EventHub) -> None:
    # Something committed before the reader came to wait: it does not wait for another.
    reader = asyncio.create_task(hub.wait(hub.head() - 1, 3600))
    done, _ = await asyncio.wait({reader}, timeout=10)
    assert done == {reader}


async def test_the_pause_after_a_flush_follows_its_cost_up_to_a_bound(hub: EventHub) -> None:
    loop = asyncio.get_running_loop()
    hub._loops.setdefault(loop, events._Readers())
    started = loop.time()
    hub._flushed(loop, started - 0.01)  # the woken readers took 10 ms (or more)
    assert hub._loops[loop].not_before >= started + 4 * 0.01
    hub._flushed(loop, started - 60)  # a slow request ran among them: not a minute's pause
    assert hub._loops[loop].not_before <= loop.time() + events.MAX_PAUSE_S


def _commit(hub: EventHub, db: Database, n: int) -> None:
    for i in range(n):
        with db.tx() as conn:
            events.record(conn, "Test", {"i": i})
        hub.wake()


def test_the_hub_keeps_only_the_newest_events_and_reads_older_ones_from_the_table() -> None:
    db = Database(":memory:")
    hub = EventHub(db, keep=3)
    for _ in range(4):
        _commit(hub, db, 5)
        hub.head()  # each commit's events are read in by the next reader
        assert 3 <= len(hub._recent) <= 6
    # A reader far behind still gets every event, in order, from the table.
    assert [e.data["i"] for e in hub.after(0)] == list(range(5)) * 4
    assert [e.data["i"] for e in hub.after(18)] == [3, 4]


def test_the_app_s_own_server_keeps_a_device_s_worth_of_events(tmp_path: Path) -> None:
    transport = embedded_transport(tmp_path / "app.db", seed=None)
    hub = transport.server.hub
    _commit(hub, transport.server.db, 3 * events.KEEP_EMBEDDED)
    hub.head()
    assert len(hub._recent) <= 2 * events.KEEP_EMBEDDED < events.KEEP_IN_MEMORY
    transport.server.db.close()
