"""The simulated carrier: per-recipient delivery of outbound messages.

Each outbound message gets one asyncio task, owned here and cancelled on
shutdown, that moves every recipient ``queued → sent → delivered`` (or to
``undelivered`` when the message's media exceed the carrier's MMS limit, or
``failed`` by chance when a failure rate is set), one step per ``latency_ms``.
Every change is an event. Tasks start lazily on first use, because the
in-process transport runs no ASGI lifespan; after a restart, unfinished
deliveries resume on the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from services import limits
from services.rules import format_size
from services.server import events, views
from services.server.carriers.base import CarrierLimits

if TYPE_CHECKING:
    from services.server.core import MessagingServer

FINAL = ("delivered", "undelivered", "failed")


@dataclass(frozen=True)
class CarrierSettings:
    latency_ms: int = 300
    fail_rate: float = 0.0
    max_mms_bytes: int = 1024 * 1024

    def wire(self) -> dict[str, object]:
        return {
            "latencyMs": self.latency_ms,
            "failRate": self.fail_rate,
            "maxMmsBytes": self.max_mms_bytes,
        }


class Carrier:
    def __init__(self, server: MessagingServer, settings: CarrierSettings) -> None:
        self._server = server
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed = False
        self._random = random.Random()

    name = "simulated"

    @property
    def limits(self) -> CarrierLimits:
        return CarrierLimits(
            max_participants=limits.MAX_PARTICIPANTS,
            max_media_bytes=limits.MAX_ATTACHMENT_TOTAL_BYTES,
            max_media_files=limits.MAX_ATTACHMENTS,
            max_body_chars=1600,
            why="A group MMS holds at most 10 phones: the business number and 9 people.",
        )

    def tune(
        self,
        latency_ms: int | None = None,
        fail_rate: float | None = None,
        max_mms_bytes: int | None = None,
    ) -> CarrierSettings:
        changes: dict[str, object] = {}
        if latency_ms is not None:
            changes["latency_ms"] = latency_ms
        if fail_rate is not None:
            changes["fail_rate"] = fail_rate
        if max_mms_bytes is not None:
            changes["max_mms_bytes"] = max_mms_bytes
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        return self.settings

    def resume(self) -> None:
        """Pick up deliveries a previous run left unfinished (once per instance)."""
        if self._resumed:
            return
        self._resumed = True
        rows = self._server.db.all(
            "SELECT DISTINCT message_id FROM recipients WHERE status IN ('queued', 'sent')"
        )
        for row in rows:
            self.deliver(row["message_id"])

    def deliver(self, message_id: str) -> None:
        """Start delivering a committed outbound message in the background."""
        task = asyncio.get_running_loop().create_task(self._run(message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def _run(self, message_id: str) -> None:
        await self._pause()
        self._step(message_id, "queued")
        await self._pause()
        self._step(message_id, "sent")

    async def _pause(self) -> None:
        await asyncio.sleep(max(self.settings.latency_ms, 0) / 1000)

    def _step(self, message_id: str, current: str) -> None:
        with self._server.write() as conn:
            message = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
            if message is None:
                return
            rows = conn.execute(
                "SELECT * FROM recipients WHERE message_id = ? AND status = ? ORDER BY position",
                (message_id, current),
            ).fetchall()
            for row in rows:
                status, error = self._outcome(current, message["attachment_bytes"])
                conn.execute(
                    "UPDATE recipients SET status = ?, error = ? WHERE message_id = ?"
                    " AND participant_id = ?",
                    (status, error, message_id, row["participant_id"]),
                )
                _refresh_status(conn, message_id)
                wire = views.load_message(self._server.db, message_id)
                events.record(
                    conn,
                    "MessageStatusUpdated",
                    {
                        "conversationId": message["conversation_id"],
                        "messageId": message_id,
                        "participantId": row["participant_id"],
                        "status": status,
                        "error": error,
                        "message": wire,
                    },
                    conversation_id=message["conversation_id"],
                )

    def _outcome(self, current: str, media_bytes: int) -> tuple[str, str | None]:
        if current != "queued":
            return "delivered", None
        limit = self.settings.max_mms_bytes
        if media_bytes > limit:
            return "undelivered", (
                f"The carrier refused the media: {format_size(media_bytes)} is over its "
                f"{format_size(limit)} limit. Compress the files and send again."
            )
        if self.settings.fail_rate > 0 and self._random.random() < self.settings.fail_rate:
            return "failed", "The carrier could not deliver this message. Try again."
        return "sent", None

    async def aclose(self) -> None:
        """Stop delivering; the next request resumes what was left (a shared transport
        outlives any one of its clients)."""
        self._resumed = False
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        here = asyncio.get_running_loop()
        for task in tasks:
            if task.get_loop() is here:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _refresh_status(conn: sqlite3.Connection, message_id: str) -> None:
    statuses = [
        row[0]
        for row in conn.execute("SELECT status FROM recipients WHERE message_id = ?", (message_id,))
    ]
    conn.execute("UPDATE messages SET status = ? WHERE id = ?", (overall(statuses), message_id))


def overall(statuses: list[str]) -> str:
    """One status for a message from its recipients' (the worst news wins once final)."""
    if not statuses:
        return "delivered"
    for waiting in ("queued", "sent"):
        if waiting in statuses:
            return waiting
    for bad in ("undelivered", "failed"):
        if bad in statuses:
            return bad
    return "delivered"
