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


# --- followers: caught-up streams the flush writes to itself ------------------------------


class Sink:
    """A stream's delivery as the hub sees it: what it took, and whether it takes more."""

    def __init__(self, takes: bool = True) -> None:
        self.batches: list[list[int]] = []
        self.takes = takes

    def __call__(self, stored: list[events.StoredEvent]) -> bool:
        if not self.takes:
            return False
        self.batches.append([event.data["i"] for event in stored])
        return True


async def _flushed(hub: EventHub) -> None:
    """Let the flush the commits asked for run (the first after a quiet spell runs at once)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_follower_is_handed_each_flush_s_events_while_its_task_sleeps_on(
    hub: EventHub,
) -> None:
    sink = Sink()
    follower = asyncio.create_task(hub.follow(hub.head(), sink, 3600))
    await asyncio.sleep(0)
    _commit(hub, hub._db, 2)
    await _flushed(hub)
    assert sink.batches == [[0, 1]]
    hub._loops[asyncio.get_running_loop()].not_before = 0.0  # the pause after it is over
    _commit(hub, hub._db, 1)
    await _flushed(hub)
    assert sink.batches == [[0, 1], [0]], "each event once, in order"
    assert not follower.done(), "its task was not woken for them"
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    assert hub._loops[asyncio.get_running_loop()].following == {}


async def test_a_follower_that_cannot_take_its_events_gets_them_back(hub: EventHub) -> None:
    start = hub.head()
    follower = asyncio.create_task(hub.follow(start, Sink(takes=False), 3600))
    await asyncio.sleep(0)
    _commit(hub, hub._db, 2)
    cursor = await asyncio.wait_for(follower, timeout=10)
    assert cursor == start, "its task sends them itself, from where it was"
    assert [e.data["i"] for e in hub.after(cursor)] == [0, 1]


async def test_one_follower_s_failure_is_its_own(hub: EventHub) -> None:
    def broken(stored: list[events.StoredEvent]) -> bool:
        raise RuntimeError("a stream's own trouble")

    sink = Sink()
    failing = asyncio.create_task(hub.follow(hub.head(), broken, 3600))
    healthy = asyncio.create_task(hub.follow(hub.head(), sink, 3600))
    await asyncio.sleep(0)
    _commit(hub, hub._db, 1)
    await asyncio.wait_for(failing, timeout=10)  # back to its task, which meets it alone
    assert sink.batches == [[0]]
    assert not healthy.done()
    healthy.cancel()


async def test_a_follower_behind_what_the_hub_keeps_goes_back_to_its_task() -> None:
    db = Database(":memory:")
    hub = EventHub(db, keep=3)
    start = hub.head()
    _commit(hub, db, 10)
    hub.head()  # read in: only the newest are kept
    sink = Sink()
    cursor = await asyncio.wait_for(hub.follow(start, sink, 3600), timeout=10)
    assert (cursor, sink.batches) == (start, []), "its task reads the table"


async def test_a_follower_far_behind_in_memory_is_handed_every_batch(hub: EventHub) -> None:
    start = hub.head()
    _commit(hub, hub._db, events.MAX_BATCH + 5)
    sink = Sink()
    follower = asyncio.create_task(hub.follow(start, sink, 3600))
    await _flushed(hub)
    assert [len(batch) for batch in sink.batches] == [events.MAX_BATCH, 5]
    follower.cancel()


async def test_a_follower_s_wait_ends_on_the_shared_tick(hub: EventHub, quick_ticks: None) -> None:
    loop = asyncio.get_running_loop()
    follower = asyncio.create_task(hub.follow(hub.head(), Sink(), 0.1))
    await asyncio.sleep(0)
    assert hub._loops[loop].ticker is not None
    # A guard against hanging for ever, not a measure of time.
    assert await asyncio.wait_for(follower, timeout=10) == hub.head()
    await asyncio.sleep(0.2)
    assert hub._loops[loop].ticker is None


async def test_a_stop_sends_every_follower_back_to_its_task(hub: EventHub) -> None:
    followers = [asyncio.create_task(hub.follow(hub.head(), Sink(), 3600)) for _ in range(3)]
    await asyncio.sleep(0)
    hub.end_streams()
    done, _ = await asyncio.wait(followers, timeout=10)
    assert len(done) == 3
    assert await hub.follow(hub.head(), Sink(), 3600) == hub.head(), "none begins after"


async def test_a_flush_with_nothing_new_still_asks_each_follower(hub: EventHub) -> None:
    """As after a change made elsewhere (a sign-in revoked by the admin command): a
    follower that no longer takes anything goes back to its task at once."""
    sink = Sink(takes=False)
    follower = asyncio.create_task(hub.follow(hub.head(), sink, 3600))
    await asyncio.sleep(0)
    hub.wake()  # no commit
    assert await asyncio.wait_for(follower, timeout=10) == hub.head()
