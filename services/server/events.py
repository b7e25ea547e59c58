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
import contextlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any

from services.server import clock, views
from services.server.db import Database, dumps, loads

MAX_BATCH = 200
KEEP_IN_MEMORY = 5000  # the newest events every stream reads from, without a query
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
        # One future per event loop that every reader of that loop awaits: a commit wakes
        # them all by resolving it, whatever their number.
        self._next: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
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
        """Bring the newest committed events into memory (one query, whoever asks)."""
        with self._lock:
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
        """Called after a commit that wrote events (from any thread)."""
        with self._lock:
            waiting, self._next = self._next, {}
        for loop, future in waiting.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, seq: int, seconds: float) -> None:
        """Return once the log holds something after ``seq``, or after ``seconds``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            future = self._next.get(loop)
            if future is None or future.done():
                future = self._next[loop] = loop.create_future()
        if self.head() > seq:
            return
        # Shielded: one reader timing out must not cancel the others' shared future.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), seconds)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
