"""The durable queue of work for the carrier: nothing lost, nothing doubled on the way out.

A message is stored and its job written in the same transaction as the send's
answer, so once a client has its 201 the message will reach the carrier, across
crashes and restarts. One worker (an asyncio task owned here) hands due jobs to
the carrier door, at most ``CONCURRENCY`` at a time and never two of one
conversation at once: a conversation's jobs go out in the order they were made
(the group first, then its messages), because only the oldest unfinished job of
a conversation is ``ready``.

What happens after a failure depends on what the carrier said:
- retryable (5xx, 429, a timeout, a dropped connection): again after a backoff
  (1 s doubling to 10 min, or the carrier's Retry-After), for up to a day;
- lost answer (the request may have reached the carrier) and any job that was
  running when the server stopped: before sending again, ask the carrier
  whether it has the message (``Carrier.find_sent``), so no one is texted twice;
- opted out: those contacts get Do Not Disturb, the group is blocked, the
  message fails with the reason, and it is never retried;
- permanent: the message fails with the carrier's reason.

Finding the next job is one indexed lookup (``carrier_jobs_due``), so it costs
the same with 3 jobs queued or 30,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.backoff import Backoff
from services.server import deliveries, optouts
from services.server.carriers.base import (
    Accepted,
    CarrierError,
    CarrierGroup,
    ErrorKind,
    GroupSpec,
    MediaFile,
    Outbound,
)
from services.server.db import Row, loads
from services.server.wakeup import Wakeup

if TYPE_CHECKING:
    from services.server.core import MessagingServer

log = logging.getLogger(__name__)

CONCURRENCY = 8
BACKOFF = Backoff(base=1.0, cap=600.0)
GIVE_UP_AFTER_S = 24 * 3600
IDLE_WAIT_S = 30.0
# How long a graceful stop waits for sends already handed to the carrier.
DRAIN_S = 10.0


# The next step: one lookup in the partial index carrier_jobs_due, whatever is queued.
NEXT_DUE = (
    "SELECT * FROM carrier_jobs WHERE state = 'queued' AND ready = 1 AND next_at <= ?"
    " ORDER BY next_at LIMIT 1"
)
# The next steps, as many as there is room for: claimed together, in one transaction.
NEXT_DUE_MANY = NEXT_DUE.replace("LIMIT 1", "LIMIT ?")


@dataclass(frozen=True)
class Job:
    id: int
    kind: str  # "group" | "send"
    conversation_id: str
    message_id: str | None
    attempts: int
    first_try_at: int | None  # ms
    answer_lost: bool


def enqueue(
    conn: sqlite3.Connection,
    kind: str,
    conversation_id: str,
    message_id: str | None = None,
    *,
    now_ms: int,
) -> bool:
    """Add a job inside the caller's transaction; ready at once when its conversation is
    idle (True). Otherwise the job before it readies it when it finishes: the worker
    needs no wake-up for it."""
    busy = conn.execute(
        "SELECT 1 FROM carrier_jobs WHERE conversation_id = ? AND state IN ('queued', 'running')"
        " LIMIT 1",
        (conversation_id,),
    ).fetchone()
    conn.execute(
        "INSERT INTO carrier_jobs (kind, conversation_id, message_id, state, ready, next_at)"
        " VALUES (?, ?, ?, 'queued', ?, ?)",
        (kind, conversation_id, message_id, 0 if busy else 1, now_ms),
    )
    return busy is None


class CarrierQueue:
    def __init__(
        self,
        server: MessagingServer,
        *,
        clock: Callable[[], float] = time.time,
        backoff: Backoff = BACKOFF,
    ) -> None:
        self._server = server
        self._clock = clock
        self._backoff = backoff
        self._worker: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        # Jobs that, finishing, claimed every due job there was room for: nothing is left
        # for the worker to look for when they end (two reads saved a send under load).
        self._handed_over: set[asyncio.Task[None] | None] = set()
        self._wake = Wakeup()
        self._recovered = False

    # --- the worker's life -----------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def start(self) -> None:
        """Run the worker on the current loop (lazily: ASGITransport runs no lifespan)."""
        if self._worker is not None and not self._worker.done():
            return
        if not self._recovered:
            self._recover()
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="carrier-queue")

    def wake(self) -> None:
        """A job was added or became due: look now rather than at the next timer."""
        self._wake.set()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    async def aclose(self, drain_s: float = 0.0) -> None:
        """Stop; with ``drain_s``, first let the sends already at the carrier finish."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                if worker.get_loop() is asyncio.get_running_loop():
                    await worker
        running = [t for t in self._running if t.get_loop() is asyncio.get_running_loop()]
        if running and drain_s > 0:
            await asyncio.wait(running, timeout=drain_s)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # What was cut short runs again (after a look at the carrier) on the next start.
        self._recovered = False

    def _recover(self) -> None:
        """Jobs a previous run left running may have reached the carrier: look before resending."""
        with self._server.write() as conn:
            conn.execute(
                "UPDATE carrier_jobs SET state = 'queued', next_at = ?,"
                " answer_lost = CASE WHEN kind = 'send' THEN 1 ELSE answer_lost END"
                " WHERE state = 'running'",
                (self.now_ms(),),
            )
        self._recovered = True

    async def _run(self) -> None:
        while True:
            room = CONCURRENCY - len(self._running)
            self._spawn(self._claim(room) if room > 0 else [])
            await self._wake.wait(self._idle_wait())

    def _spawn(self, jobs: list[Job]) -> None:
        for job in jobs:
            task = asyncio.get_running_loop().create_task(self._process(job))
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if task in self._handed_over:
            self._handed_over.discard(task)
            return
        self._wake.set()

    def _idle_wait(self) -> float:
        if len(self._running) >= CONCURRENCY:
            return IDLE_WAIT_S
        due = self._server.db.scalar(
            "SELECT next_at FROM carrier_jobs WHERE state = 'queued' AND ready = 1"
            " ORDER BY next_at LIMIT 1"
        )
        if due is None:
            return IDLE_WAIT_S
        return max(0.0, min(IDLE_WAIT_S, (int(due) - self.now_ms()) / 1000))

    def _claim(self, room: int) -> list[Job]:
        """Up to ``room`` due jobs, marked running in one transaction: under load a send
        costs one claim's share, not a write of its own (nor an empty one after it, issue 19).
        Nothing due is found by a read, without taking the write lock."""
        now = self.now_ms()
        if self._server.db.one(NEXT_DUE, (now,)) is None:
            return []
        with self._server.write() as conn:
            # Read again under the lock: another process (server) may have claimed them.
            return self._claim_in(conn, room)

    def _claim_in(self, conn: sqlite3.Connection, room: int) -> list[Job]:
        """Up to ``room`` due jobs, marked running in the caller's transaction."""
        now = self.now_ms()
        rows = conn.execute(NEXT_DUE_MANY, (now, room)).fetchall() if room > 0 else []
        conn.executemany(
            "UPDATE carrier_jobs SET state = 'running',"
            " first_try_at = COALESCE(first_try_at, ?) WHERE id = ?",
            [(now, row["id"]) for row in rows],
        )
        return [
            Job(
                id=row["id"],
                kind=row["kind"],
                conversation_id=row["conversation_id"],
                message_id=row["message_id"],
                attempts=row["attempts"],
                first_try_at=row["first_try_at"] or now,
                answer_lost=bool(row["answer_lost"]),
            )
            for row in rows
        ]

    # --- one job ---------------------------------------------------------------------------

    async def _process(self, job: Job) -> None:
        try:
            if job.kind == "group":
                await self._create_group(job)
            else:
                await self._send(job)
        except CarrierError as error:
            self._failed(job, error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours must not stop the queue
            log.exception("carrier job %s (%s) failed", job.id, job.kind)
            self._failed(job, CarrierError(ErrorKind.RETRYABLE, f"Internal error: {exc}."))

    async def _create_group(self, job: Job) -> None:
        spec = group_spec(self._server, job.conversation_id)
        made = await self._server.carrier.create_group(spec)
        with self._server.write() as conn:
            _store_group(conn, job.conversation_id, made)
            self._finish(conn, job)

    async def _send(self, job: Job) -> None:
        assert job.message_id is not None
        outbound = self._outbound(job)
        if outbound is None:  # the message is gone: nothing to send
            with self._server.write() as conn:
                self._finish(conn, job)
            return
        if not outbound.group_ready:
            # Made before this carrier was in use, or its group job failed: make it now
            # (create_group finds a group made by an earlier try rather than a second one).
            made = await self._server.carrier.create_group(outbound.group)
            with self._server.write() as conn:
                _store_group(conn, job.conversation_id, made)
            outbound = self._outbound(job)
            assert outbound is not None
        accepted: Accepted | None = None
        if job.answer_lost:
            since = datetime.fromtimestamp((job.first_try_at or 0) / 1000, UTC)
            accepted = await self._server.carrier.find_sent(outbound.message, since)
        if accepted is None:
            accepted = await self._server.carrier.send(outbound.message)
        with self._server.write() as conn:
            deliveries.accepted(conn, job.message_id, accepted)
            self._finish(conn, job)
            following, all_due = self._following(conn)
        if all_due:  # committed, every due job claimed: the worker has nothing to find
            self._handed_over.add(asyncio.current_task())
        self._spawn(following)

    def _following(self, conn: sqlite3.Connection) -> tuple[list[Job], bool]:
        """The conversation's next message (ready now), claimed in the transaction that
        records this one: under load, a conversation's sends cost one write each here, not
        two. Also whether that was every due job. A failed claim costs nothing recorded
        (the worker claims them instead)."""
        room = CONCURRENCY - len(self._running) + 1
        try:
            jobs = self._claim_in(conn, room)
        except sqlite3.Error:
            log.exception("claiming the next carrier jobs failed; the worker will")
            return [], False
        return jobs, len(jobs) < room

    def _outbound(self, job: Job) -> _Prepared | None:
        db = self._server.db
        message = db.one("SELECT * FROM messages WHERE id = ?", (job.message_id,))
        conversation = db.one("SELECT * FROM conversations WHERE id = ?", (job.conversation_id,))
        if message is None or conversation is None:
            return None
        members = _members(self._server, job.conversation_id)
        refs = {row["phone"]: row["carrier_ref"] for row in members if row["carrier_ref"]}
        outbound = Outbound(
            message_id=message["id"],
            group=_spec(conversation, members),
            carrier_group=CarrierGroup(ref=conversation["carrier_ref"], member_refs=refs),
            body=message["body"],
            media=tuple(self._media(message)),
        )
        return _Prepared(outbound, bool(conversation["carrier_ready"]))

    def _media(self, message: Row) -> list[MediaFile]:
        files = []
        for path in loads(message["attachments"]) or []:
            row = self._server.attachment_for(path)
            if row is None:
                continue
            files.append(
                MediaFile(
                    name=row["name"],
                    mime=row["mime"],
                    size=row["size"],
                    path=str(self._server.files_dir / row["path"]),
                    public_url=self._server.public_url_for(path),
                )
            )
        return files

    # --- outcomes --------------------------------------------------------------------------

    def _finish(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute("UPDATE carrier_jobs SET state = 'done' WHERE id = ?", (job.id,))
        _ready_next(conn, job.conversation_id)

    def _failed(self, job: Job, error: CarrierError) -> None:
        now = self.now_ms()
        gave_up = now - (job.first_try_at or now) > GIVE_UP_AFTER_S * 1000
        if error.kind is ErrorKind.RETRYABLE and not gave_up:
            delay = error.retry_after or self._backoff.delay(job.attempts + 1)
            log.info("carrier job %s will retry in %.1f s: %s", job.id, delay, error.message)
            with self._server.write() as conn:
                conn.execute(
                    "UPDATE carrier_jobs SET state = 'queued', attempts = attempts + 1,"
                    " next_at = ?, last_error = ?, answer_lost = MAX(answer_lost, ?) WHERE id = ?",
                    (now + int(delay * 1000), error.message, int(error.answer_lost), job.id),
                )
            return
        reason = error.message
        if gave_up:
            reason = f"The carrier could not be reached for a day. {error.message}"
        log.warning("carrier job %s failed for good (%s): %s", job.id, error.kind, reason)
        with self._server.write() as conn:
            conn.execute(
                "UPDATE carrier_jobs SET state = 'failed', last_error = ? WHERE id = ?",
                (reason, job.id),
            )
            if error.kind is ErrorKind.OPTED_OUT:
                for phone in error.opted_out:
                    optouts.opt_out(conn, self._server.db, phone)
            if job.kind == "send" and job.message_id:
                deliveries.refused(conn, job.message_id, reason, error.opted_out)
            else:
                self._fail_waiting_sends(conn, job, reason)
            _ready_next(conn, job.conversation_id)

    def _fail_waiting_sends(self, conn: sqlite3.Connection, job: Job, reason: str) -> None:
        """The group could not be made: its queued messages can't go out either."""
        rows = conn.execute(
            "SELECT id, message_id FROM carrier_jobs WHERE conversation_id = ? AND kind = 'send'"
            " AND state = 'queued'",
            (job.conversation_id,),
        ).fetchall()
        for row in rows:
            conn.execute(
                "UPDATE carrier_jobs SET state = 'failed', last_error = ? WHERE id = ?",
                (reason, row["id"]),
            )
            deliveries.refused(conn, row["message_id"], reason, ())


@dataclass(frozen=True)
class _Prepared:
    message: Outbound
    group_ready: bool

    @property
    def group(self) -> GroupSpec:
        return self.message.group


def _store_group(conn: sqlite3.Connection, conversation_id: str, made: CarrierGroup) -> None:
    conn.execute(
        "UPDATE conversations SET carrier_ref = ?, carrier_ready = 1 WHERE id = ?",
        (made.ref, conversation_id),
    )
    for phone, ref in made.member_refs.items():
        conn.execute(
            "UPDATE participants SET carrier_ref = ? WHERE conversation_id = ? AND phone = ?",
            (ref, conversation_id, phone),
        )


def _ready_next(conn: sqlite3.Connection, conversation_id: str) -> None:
    # The IN term is the partial index's own: without it SQLite can't use the index and
    # scans every job ever queued, one more each send (issue 19).
    conn.execute(
        "UPDATE carrier_jobs SET ready = 1 WHERE id = (SELECT id FROM carrier_jobs"
        " WHERE conversation_id = ? AND state IN ('queued', 'running') AND state = 'queued'"
        " ORDER BY id LIMIT 1)",
        (conversation_id,),
    )


def group_spec(server: MessagingServer, conversation_id: str) -> GroupSpec:
    row = server.db.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    assert row is not None
    return _spec(row, _members(server, conversation_id))


def _members(server: MessagingServer, conversation_id: str) -> list[Row]:
    return server.db.all(
        "SELECT phone, carrier_ref FROM participants WHERE conversation_id = ? ORDER BY position",
        (conversation_id,),
    )


def _spec(conversation: Row, members: list[Row]) -> GroupSpec:
    return GroupSpec(
        conversation_id=conversation["id"],
        name=conversation["name"],
        business_number=conversation["from_number"],
        members=tuple(m["phone"] for m in members),
    )
