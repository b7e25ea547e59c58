"""Who a token signs in, quickly, and not a moment longer than it should.

Every request is signed in by its token's hash, from a cache so a busy client costs
no query per request; the cache is dropped whenever the database was changed by
anyone else (the admin command revoking a token or disabling a user runs in its own
process), which ``ChangeWatch`` notices within half a second through SQLite's
``data_version``. When that happens, the open event streams whose token no longer
signs anyone in are closed, so their next reconnect meets its 401.

Failed sign-ins are counted per client address: after ``MAX_FAILURES`` within
``FAILURE_WINDOW_S`` that address is refused (429) until the window passes, so a
token can't be guessed by trying many.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from services.server import accounts
from services.server.accounts import SignedIn
from services.server.db import Database, token_hash

MAX_FAILURES = 20
FAILURE_WINDOW_S = 600.0
LAST_USED_EVERY_S = 60.0
WATCH_EVERY_S = 0.5


class Auth:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, SignedIn | None] = {}
        self._noted: dict[str, float] = {}  # token id → when its last use was written
        self._failures: dict[str, deque[float]] = {}
        self.max_failures = MAX_FAILURES
        # Open event streams: token hash → the events that close them.
        self._streams: dict[str, set[asyncio.Event]] = {}

    # --- signing in ----------------------------------------------------------------------

    def sign_in(self, token: str) -> SignedIn | None:
        digest = token_hash(token)
        now = self._clock()
        with self._lock:
            known = digest in self._cache
            cached = self._cache.get(digest)
        if not known:
            cached = accounts.sign_in(self._db, token, _at(now))
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()  # many unknown tokens tried: don't grow for ever
                self._cache[digest] = cached
        if cached is None or _expired(cached, now):
            return None
        self._note_used(cached, now)
        return cached

    def _note_used(self, signed: SignedIn, now: float) -> None:
        # A write per request would cost more than the request: once a minute is plenty.
        with self._lock:
            if now - self._noted.get(signed.token_id, 0.0) < LAST_USED_EVERY_S:
                return
            self._noted[signed.token_id] = now
        with self._db.tx() as conn:
            accounts.note_used(conn, signed.token_id, _at(now))

    def invalidate(self) -> None:
        """Tokens or users changed: sign everyone in afresh, and close streams that lost theirs."""
        with self._lock:
            self._cache.clear()
        self.close_revoked_streams()

    # --- failed sign-ins -----------------------------------------------------------------

    def locked_out(self, address: str) -> int:
        """Seconds this address must wait before trying a token again (0: it may)."""
        now = self._clock()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) < self.max_failures:
                return 0
            return max(1, math.ceil(failures[0] + FAILURE_WINDOW_S - now))

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent(address, now).append(now)

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - FAILURE_WINDOW_S:
            failures.popleft()
        if not failures and len(self._failures) > 10_000:
            self._failures.pop(address, None)  # forget quiet addresses
            failures = self._failures.setdefault(address, deque())
        return failures

    # --- open event streams --------------------------------------------------------------

    def watch_stream(self, signed: SignedIn) -> asyncio.Event:
        """An event set when this stream's token stops signing its user in."""
        closed = asyncio.Event()
        with self._lock:
            self._streams.setdefault(signed.token_hash, set()).add(closed)
        return closed

    def forget_stream(self, signed: SignedIn, closed: asyncio.Event) -> None:
        with self._lock:
            events = self._streams.get(signed.token_hash)
            if events is not None:
                events.discard(closed)
                if not events:
                    del self._streams[signed.token_hash]

    def close_revoked_streams(self) -> int:
        with self._lock:
            hashes = list(self._streams)
        if not hashes:
            return 0
        valid = accounts.still_valid(self._db, hashes, _at(self._clock()))
        closed = 0
        with self._lock:
            for digest in hashes:
                if digest in valid:
                    continue
                for event in self._streams.pop(digest, set()):
                    event.set()
                    closed += 1
        return closed


class ChangeWatch:
    """Notices, twice a second, a change another process made to the database."""

    def __init__(self, db: Database, on_change: Callable[[], None]) -> None:
        self._db = db
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        # Compared from the start, and across a stop and a restart: a change made before
        # the task first runs, or while it was stopped, is still noticed.
        self._seen = self._version()

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.check()  # what changed while it was stopped counts at once
        self._task = asyncio.get_running_loop().create_task(self._run(), name="change-watch")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            self.check()

    def check(self) -> None:
        version = self._version()
        if version != self._seen:
            self._seen = version
            self._on_change()

    def _version(self) -> int:
        return int(self._db.scalar("PRAGMA data_version"))

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            if task.get_loop() is asyncio.get_running_loop():
                await task


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _expired(signed: SignedIn, now: float) -> bool:
    if not signed.expires_at:
        return False
    return datetime.fromisoformat(signed.expires_at.replace("Z", "+00:00")) <= _at(now)
