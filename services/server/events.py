"""The event log: every change is a row, and its row number is the cursor.

Events are written in the same transaction as the change they describe, so a
reader that asks for "everything after cursor N" can neither miss a change
nor see one twice: sequence numbers are handed out in commit order by the one
connection. Waiting readers (long-poll and SSE) are woken after each commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from services.server import clock
from services.server.db import Database, dumps, loads

MAX_BATCH = 200


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    type: str
    date_added: str
    conversation_id: str | None
    contact_id: str | None
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.seq),
            "type": self.type,
            "dateAdded": self.date_added,
            "data": self.data,
        }


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


class EventHub:
    """Reads the log and lets readers wait for the next commit, on any event loop."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def head(self) -> int:
        return int(self._db.scalar("SELECT COALESCE(MAX(seq), 0) FROM events"))

    def after(self, seq: int, limit: int = MAX_BATCH) -> list[StoredEvent]:
        rows = self._db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [
            StoredEvent(
                seq=row["seq"],
                type=row["type"],
                date_added=row["date_added"],
                conversation_id=row["conversation_id"],
                contact_id=row["contact_id"],
                data=loads(row["data"]) or {},
            )
            for row in rows
        ]

    def wake(self) -> None:
        """Called after a commit that wrote events."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, seq: int, seconds: float) -> None:
        """Return once the log holds something after ``seq``, or after ``seconds``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters.append((loop, future))
        try:
            if self.head() > seq:
                return
            await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            return
        finally:
            with self._lock:
                self._waiters = [w for w in self._waiters if w[1] is not future]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
