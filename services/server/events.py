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
from dataclasses import dataclass, field
from typing import Any

from services.server import clock, views
from services.server.db import Database, dumps, loads

MAX_BATCH = 200
KEEP_IN_MEMORY = 5000  # the newest events every stream reads from, without a query
SHARED_TIMER_S = 5.0  # waits this long or longer end on the loop's shared tick
TICK_S = 1.0
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
    _frames: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.seq),
            "type": self.type,
            "dateAdded": self.date_added,
            "data": self.data,
        }

    def frame(self, base: str) -> bytes:
        """This event as one Server-Sent Event, attachment URLs made absolute for ``base``;
        built once per base URL and shared by every stream."""
        found = self._frames.get(base)
        if found is None:
            data = json.dumps(
                views.absolute_urls(self.wire(), base), separators=(",", ":"), ensure_ascii=False
            )
            found = f"id: {self.seq}\nevent: {self.type}\ndata: {data}\n\n".encode()
            self._frames[base] = found
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


class EventHub:
    """Reads the log and lets readers wait for the next commit, on any event loop."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        # The readers waiting on each event loop: a commit wakes all of a loop's readers with
        # one call into it, whatever their number.
        # Each waiter with its deadline (the loop's clock).
        self._waiting: dict[asyncio.AbstractEventLoop, dict[asyncio.Future[None], float]] = {}
        self._tickers: dict[asyncio.AbstractEventLoop, asyncio.TimerHandle] = {}
        self._dirty = True  # a commit may have added events since the last _load
        self._recent: list[StoredEvent] = []  # newest events, in seq order
        self._loaded = self._db_head()  # everything up to here is in _recent or older
        self._access_epoch = 0  # moves whenever who may see what may have changed

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
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            rows = self._db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq", (self._loaded,))
            for row in rows:
                event = _stored(row)
                self._recent.append(event)
                if event.type in ACCESS_CHANGES:
                    self._access_epoch += 1
            if rows:
                self._loaded = int(rows[-1]["seq"])
            if len(self._recent) > 2 * KEEP_IN_MEMORY:
                del self._recent[:-KEEP_IN_MEMORY]

    def after(self, seq: int, limit: int = MAX_BATCH) -> list[StoredEvent]:
        """Events after ``seq``, oldest first: from memory, or the table when far behind."""
        self._load()
        with self._lock:
            recent = self._recent
            first_in_memory = recent[0].seq if recent else self._loaded + 1
            if seq + 1 >= first_in_memory:
                start = bisect.bisect_right(recent, seq, key=lambda e: e.seq)
                return recent[start : start + limit]
        rows = self._db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [_stored(row) for row in rows]

    def wake(self) -> None:
        """Called after a commit that wrote events (from any thread, or on a change another
        process made)."""
        with self._lock:
            self._dirty = True
            waiting, self._waiting = self._waiting, {}
        for loop, waiters in waiting.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve_all, waiters)

    async def wait(self, seq: int, seconds: float) -> None:
        """Return once the log holds something after ``seq``, or after ``seconds``.

        Each reader waits on a future of its own (so one that is cancelled, its client
        gone, cancels no one else), woken with every other reader of its loop by one call.
        A wait of ``SHARED_TIMER_S`` or more (a stream's keepalive, a long poll) ends on
        the loop's shared tick, up to ``TICK_S`` late: a timer of its own, armed and
        cancelled by every stream at every event, was a tenth of the server's time per
        event with hundreds of streams open (issue 19).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        shared = seconds >= SHARED_TIMER_S
        with self._lock:
            self._waiting.setdefault(loop, {})[waiter] = loop.time() + seconds
            if shared and loop not in self._tickers:
                self._tickers[loop] = loop.call_later(TICK_S, self._tick, loop)
        if self.head() > seq:
            self._forget(loop, waiter)
            return
        timer = None if shared else loop.call_later(max(seconds, 0.0), _resolve, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._forget(loop, waiter)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the waits that are due; tick again while any reader still waits."""
        now = loop.time()
        with self._lock:
            waiters = self._waiting.get(loop, {})
            due = [waiter for waiter, deadline in waiters.items() if deadline <= now]
            for waiter in due:
                del waiters[waiter]
            if waiters:
                self._tickers[loop] = loop.call_later(TICK_S, self._tick, loop)
            else:
                del self._tickers[loop]
        for waiter in due:
            _resolve(waiter)

    def _forget(self, loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None]) -> None:
        with self._lock:
            waiters = self._waiting.get(loop)
            if waiters is not None:
                waiters.pop(waiter, None)


def _resolve_all(waiters: dict[asyncio.Future[None], float]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
