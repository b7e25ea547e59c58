"""The event log: every change is a row, and its row number is the cursor.

Events are written in the same transaction as the change they describe, so a
reader that asks for "everything after cursor N" can neither miss a change
nor see one twice: sequence numbers are handed out in commit order by the one
connection. Waiting readers (long-poll and SSE) are woken after each commit.

Fan-out costs one read and one serialization per event, whatever the number of
open streams: the hub keeps the newest events in memory (read from the table
once, by whichever reader asks first after a commit), and each event keeps its
wire bytes per base URL, built the first time a stream needs them and then
written as they are to every stream that may see the event. Only a reader far
behind (a client back after a long time away) reads the table itself.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.server import clock, views
from services.server.db import Database, dumps, loads
from services.server.sse import deflated

MAX_BATCH = 200
KEEP_IN_MEMORY = 5000  # the newest events every stream reads from, without a query
# In the app's own process a server has a device's one or two streams, never far behind:
# a standalone server's 5,000 to 10,000 events (and each one's wire bytes) grew the app by
# up to 17 MB in the soak benchmark, for nothing any stream there read (issue 19).
KEEP_EMBEDDED = 200
SHARED_TIMER_S = 5.0  # waits this long or longer end on the loop's shared tick
TICK_S = 1.0
# During a burst, the pause after a flush, as a multiple of its cost. A flush costs ~50 µs
# a stream whatever it carries (the task's turn, uvicorn's send, the socket's write): at 4
# the streams took a fifth of a loaded server, sends with 500 open fell to 0.71-0.79 of
# none once the load bench stopped being its own bottleneck; at 8, 0.84-0.89, while a burst
# reaches each of 500 streams every ~0.2 s (a 25 ms flush, then its pause; issue 19).
FLUSH_SHARE = 8.0
# ... and never longer than this: a slow request that ran among the woken readers makes
# the flush look slower than it was, and must not hold the next events back for long.
MAX_PAUSE_S = 0.25
# Events after which who may see what can have changed (a contact reassigned, deleted).
ACCESS_CHANGES = frozenset({"ContactUpdated", "ContactDeleted"})


@dataclass
class StoredEvent:
    seq: int
    type: str
    date_added: str
    conversation_id: str | None
    contact_id: str | None
    data: dict[str, Any]
    _frames: dict[tuple[str, bool], bytes] = field(default_factory=dict, repr=False, compare=False)

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.seq),
            "type": self.type,
            "dateAdded": self.date_added,
            "data": self.data,
        }

    def frame(self, base: str, gzip: bool = False) -> bytes:
        """This event as one Server-Sent Event, attachment URLs made absolute for ``base``
        (deflated on its own with ``gzip``, see sse.py); built once per base URL and
        encoding, and shared by every stream."""
        found = self._frames.get((base, gzip))
        if found is None:
            if gzip:
                found = deflated(self.frame(base))
            else:
                data = json.dumps(
                    views.absolute_urls(self.wire(), base),
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
                found = f"id: {self.seq}\nevent: {self.type}\ndata: {data}\n\n".encode()
            self._frames[(base, gzip)] = found
        return found


def record(
    conn: sqlite3.Connection,
    type_: str,
    data: dict[str, Any],
    *,
    conversation_id: str | None = None,
    contact_id: str | None = None,
) -> None:
    """Append an event inside the caller's write transaction."""
    conn.execute(
        "INSERT INTO events (type, date_added, conversation_id, contact_id, data)"
        " VALUES (?, ?, ?, ?, ?)",
        (type_, clock.iso(clock.now()), conversation_id, contact_id, dumps(data)),
    )


def _stored(row: sqlite3.Row) -> StoredEvent:
    return StoredEvent(
        seq=row["seq"],
        type=row["type"],
        date_added=row["date_added"],
        conversation_id=row["conversation_id"],
        contact_id=row["contact_id"],
        data=loads(row["data"]) or {},
    )


# Hands a caught-up stream its new events (none, on a flush with nothing new for it); False
# when it cannot take them now (its socket full, its sign-in revoked, its client gone): its
# task then takes them itself.
Deliver = Callable[[list["StoredEvent"]], bool]


@dataclass(eq=False)
class _Follower:
    """A caught-up stream whose new events each flush hands over itself (``follow``)."""

    cursor: int
    deliver: Deliver
    deadline: float  # the loop's clock: when its task goes on (a keepalive may be due)
    waiter: asyncio.Future[None]


@dataclass
class _Readers:
    """The readers waiting on one event loop, and when the loop may next wake them."""

    waiting: dict[asyncio.Future[None], float] = field(default_factory=dict)  # → deadline
    following: dict[asyncio.Future[None], _Follower] = field(default_factory=dict)
    ticker: asyncio.TimerHandle | None = None
    flush_asked: bool = False  # a flush is scheduled, or the call that schedules it is on its way
    not_before: float = 0.0  # the loop's clock: no flush starts before this


class EventHub:
    """Reads the log and lets readers wait for the next commit, on any event loop.

    Readers are woken by flushes, each waking all of a loop's readers with one call, and
    handing followers (caught-up streams that can be written directly, ``follow``) their
    events without waking them. The first commit after a quiet spell is flushed at once;
    during a burst, after a flush that took T (its followers and the readers it woke),
    the next waits ``FLUSH_SHARE`` × T, so every stream gets
    the burst's messages in a few writes and the fan-out takes at most about
    1 / (1 + ``FLUSH_SHARE``) of the loop, however many streams are open (issue 19); the
    pause is at most ``MAX_PAUSE_S``.
    """

    def __init__(self, db: Database, keep: int = KEEP_IN_MEMORY) -> None:
        self._db = db
        self._keep = keep  # the newest events kept: between keep and twice as many
        self._lock = threading.Lock()
        self._loops: dict[asyncio.AbstractEventLoop, _Readers] = {}
        self._dirty = True  # a commit may have added events since the last _load
        self._recent: list[StoredEvent] = []  # newest events, in seq order
        # Their seqs: bisected by every stream after every flush, in C, not through a key
        # function called a dozen times a stream (issue 19).
        self._seqs: list[int] = []
        self._loaded = self._db_head()  # everything up to here is in _recent or older
        self._access_epoch = 0  # moves whenever who may see what may have changed
        # Which log this is (db.py, version 8): given with every long-poll answer.
        self.log_id = str(self._db.scalar("SELECT id FROM event_log"))
        self._closing = False

    @property
    def access_epoch(self) -> int:
        return self._access_epoch

    def access_changed(self) -> None:
        self._access_epoch += 1

    def _db_head(self) -> int:
        return int(self._db.scalar("SELECT COALESCE(MAX(seq), 0) FROM events"))

    def head(self) -> int:
        self._load()
        return self._loaded

    def _load(self) -> None:
        """Bring the newest committed events into memory: one query after each commit,
        by whichever reader asks first; the others find them there."""
        if not self._dirty:  # what every stream finds after the first: no lock to take
            return
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            rows = self._db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq", (self._loaded,))
            for row in rows:
                event = _stored(row)
                self._recent.append(event)
                self._seqs.append(event.seq)
                if event.type in ACCESS_CHANGES:
                    self._access_epoch += 1
            if rows:
                self._loaded = int(rows[-1]["seq"])
            if len(self._recent) > 2 * self._keep:
                del self._recent[: -self._keep]
                del self._seqs[: -self._keep]

    def after(self, seq: int, limit: int = MAX_BATCH) -> list[StoredEvent]:
        """Events after ``seq``, oldest first: from memory, or the table when far behind."""
        kept = self._kept_after(seq, limit)
        if kept is not None:
            return kept
        rows = self._db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [_stored(row) for row in rows]

    def wake(self) -> None:
        """Called after a commit that wrote events (from any thread, or on a change another
        process made): asks each loop with waiting readers for a flush, once per flush."""
        with self._lock:
            self._dirty = True
            asking = [
                loop
                for loop, readers in self._loops.items()
                if (readers.waiting or readers.following) and not readers.flush_asked
            ]
            for loop in asking:
                self._loops[loop].flush_asked = True
        for loop in asking:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._schedule_flush, loop)

    @property
    def closing(self) -> bool:
        """The server is stopping: streams end, long polls answer, no wait begins."""
        return self._closing

    def end_streams(self) -> None:
        """The server is stopping: every reader's wait ends now. Streams then end as
        answers do (clients reconnect at once, to the next server) instead of being cut
        when the graceful stop's time is up, each with a traceback in the log."""
        with self._lock:
            self._closing = True
            loops = list(self._loops)
        for loop in loops:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._flush, loop)

    async def wait(self, seq: int, seconds: float) -> None:
        """Return after the next flush once the log holds something after ``seq``, or after
        ``seconds``.

        Each reader waits on a future of its own (so one that is cancelled, its client
        gone, cancels no one else), woken with every other reader of its loop by one call.
        A wait of ``SHARED_TIMER_S`` or more (a stream's keepalive, a long poll) ends on
        the loop's shared tick, up to ``TICK_S`` late: a timer of its own, armed and
        cancelled by every stream at every event, was a tenth of the server's time per
        event with hundreds of streams open (issue 19).
        """
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        shared = seconds >= SHARED_TIMER_S
        with self._lock:
            # Found, not made: every stream waits after every flush (issue 19).
            readers = self._loops.get(loop) or self._loops.setdefault(loop, _Readers())
            readers.waiting[waiter] = loop.time() + seconds
            if shared and readers.ticker is None:
                readers.ticker = loop.call_later(TICK_S, self._tick, loop)
        self._flush_if_behind(loop, readers, seq)
        timer = None if shared else loop.call_later(max(seconds, 0.0), _resolve, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._forget(loop, waiter)

    async def follow(self, cursor: int, deliver: Deliver, seconds: float) -> int:
        """Wait as ``wait`` does, for a stream that can be written without its task: each
        flush hands it the events after its cursor by ``deliver`` (which writes them to its
        socket at once), and its task sleeps on. Returns the cursor past all it delivered,
        once its task must go on: ``seconds`` after the call (on the shared tick), once
        ``deliver`` refuses (the task then sends those events itself, from the cursor
        returned), when it falls behind what the hub keeps, or when the server stops.

        Waking 500 streams' tasks at every event, each to write one shared chunk, was about
        two thirds of the server's Python time per stream (issue 19).
        """
        if self._closing:
            return cursor
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        follower = _Follower(cursor, deliver, loop.time() + seconds, waiter)
        with self._lock:
            readers = self._loops.get(loop) or self._loops.setdefault(loop, _Readers())
            readers.following[waiter] = follower
            if readers.ticker is None:
                readers.ticker = loop.call_later(TICK_S, self._tick, loop)
        self._flush_if_behind(loop, readers, cursor)
        try:
            await waiter
        finally:
            with self._lock:
                readers.following.pop(waiter, None)
        return follower.cursor

    def _flush_if_behind(
        self, loop: asyncio.AbstractEventLoop, readers: _Readers, seq: int
    ) -> None:
        """Already something after ``seq``: it comes with the next flush, with everyone's."""
        if self.head() > seq:
            with self._lock:
                ask, readers.flush_asked = not readers.flush_asked, True
            if ask:
                self._schedule_flush(loop)

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        readers = self._loops[loop]
        delay = readers.not_before - loop.time()
        if delay > 0:
            loop.call_later(delay, self._flush, loop)
        else:
            self._flush(loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake every reader of the loop and hand the followers their events; once the
        woken have all run, note how long the whole took."""
        started = loop.time()
        with self._lock:
            readers = self._loops[loop]
            readers.flush_asked = False
            woken, readers.waiting = readers.waiting, {}
            following = list(readers.following.values())
        _resolve_all(woken)
        if following:
            self._hand_over(readers, following)
        # The woken readers' steps were queued by the futures just resolved: this runs
        # after all of them.
        loop.call_soon(self._flushed, loop, started)

    def _hand_over(self, readers: _Readers, following: list[_Follower]) -> None:
        """Each follower's new events, read once per cursor (a user's streams share their
        chunk, visibility.py); a follower that cannot take them goes back to its task. One
        with nothing new is still asked (with none): a flush may be for a change made
        elsewhere, such as its sign-in revoked."""
        batches: dict[int, list[StoredEvent] | None] = {}

        def batch(cursor: int) -> list[StoredEvent] | None:
            if cursor not in batches:
                batches[cursor] = self._kept_after(cursor)
            return batches[cursor]

        released: list[_Follower] = []
        for follower in following:
            stored = batch(follower.cursor)
            while True:
                if stored is None or self._closing or not _taken(follower, stored):
                    released.append(follower)  # far behind, stopping, or refused
                    break
                if not stored:
                    break  # caught up
                follower.cursor = stored[-1].seq
                stored = batch(follower.cursor)
                if not stored:
                    break
        if released:
            with self._lock:
                for follower in released:
                    readers.following.pop(follower.waiter, None)
            for follower in released:
                _resolve(follower.waiter)

    def _kept_after(self, seq: int, limit: int = MAX_BATCH) -> list[StoredEvent] | None:
        """Events after ``seq`` from memory, up to ``limit``; None if it no longer holds
        them all (the table has them)."""
        self._load()
        with self._lock:
            recent = self._recent
            first_in_memory = recent[0].seq if recent else self._loaded + 1
            if seq + 1 < first_in_memory:
                return None
            start = bisect.bisect_right(self._seqs, seq)
            return recent[start : start + limit]

    def _flushed(self, loop: asyncio.AbstractEventLoop, started: float) -> None:
        now = loop.time()
        pause = min(FLUSH_SHARE * (now - started), MAX_PAUSE_S)
        self._loops[loop].not_before = now + pause

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the waits that are due; tick again while any reader still waits."""
        now = loop.time()
        with self._lock:
            readers = self._loops[loop]
            due = [waiter for waiter, deadline in readers.waiting.items() if deadline <= now]
            for waiter in due:
                del readers.waiting[waiter]
            for waiter, follower in list(readers.following.items()):
                if follower.deadline <= now:
                    del readers.following[waiter]
                    due.append(waiter)
            still = readers.waiting or readers.following
            readers.ticker = loop.call_later(TICK_S, self._tick, loop) if still else None
        for waiter in due:
            _resolve(waiter)

    def _forget(self, loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None]) -> None:
        with self._lock:
            readers = self._loops.get(loop)
            if readers is not None:
                readers.waiting.pop(waiter, None)


def _taken(follower: _Follower, stored: list[StoredEvent]) -> bool:
    try:
        return follower.deliver(stored)
    except Exception:
        # Its task meets the same trouble and ends its stream alone, as it would have
        # without a follower; the flush goes on for the others.
        return False


def _resolve_all(waiters: dict[asyncio.Future[None], float]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
