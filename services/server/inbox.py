"""What the carrier told us, stored first and applied once, in the order it arrived.

A webhook is answered as soon as its events are in the ``carrier_inbox`` table
(the carrier must hear back within seconds or it retries), and the same event
delivered twice is stored once: its id at the carrier is unique per carrier.
One task owned here applies the stored events in order: an inbound text lands
in its thread (with its media fetched from the carrier and kept here), a
recipient's delivery state is updated, an opt-out blocks the contact's groups.
An event that fails to apply (the carrier's media host down, say) is tried
again with a backoff, and set aside after ``MAX_ATTEMPTS`` with its reason in
the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from services.backoff import Backoff
from services.server import clock, deliveries, inbound, optouts
from services.server.carriers.base import CarrierEvent, DeliveryUpdate, InboundMessage
from services.server.wakeup import Wakeup

if TYPE_CHECKING:
    from services.server.core import MessagingServer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF = Backoff(base=1.0, cap=300.0)
_EVENT: TypeAdapter[InboundMessage | DeliveryUpdate] = TypeAdapter(CarrierEvent)


class CarrierInbox:
    def __init__(self, server: MessagingServer) -> None:
        self._server = server
        self._task: asyncio.Task[None] | None = None
        self._wake = Wakeup()

    def store(self, carrier: str, events: Sequence[InboundMessage | DeliveryUpdate]) -> int:
        """Keep the events (each once); how many were new."""
        added = 0
        with self._server.db.tx() as conn:
            for event in events:
                added += conn.execute(
                    "INSERT OR IGNORE INTO carrier_inbox (carrier, event_id, payload,"
                    " received_at, state) VALUES (?, ?, ?, ?, 'new')",
                    (carrier, event.event_id, event.model_dump_json(), clock.iso(clock.now())),
                ).rowcount
        if added:
            self.wake()
        return added

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="carrier-inbox")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            if task.get_loop() is asyncio.get_running_loop():
                await task

    async def _run(self) -> None:
        while True:
            row = self._server.db.one(
                "SELECT * FROM carrier_inbox WHERE state = 'new' ORDER BY id LIMIT 1"
            )
            if row is None:
                await self._wake.wait(30)
                continue
            try:
                await self._apply(_EVENT.validate_python(json.loads(row["payload"])))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(row["id"], row["attempts"] + 1, exc)
                continue
            with self._server.db.tx() as conn:
                conn.execute("UPDATE carrier_inbox SET state = 'done' WHERE id = ?", (row["id"],))

    async def _failed(self, row_id: int, attempts: int, exc: Exception) -> None:
        gave_up = attempts >= MAX_ATTEMPTS
        log.warning(
            "carrier event %s could not be applied (try %d)%s: %s",
            row_id,
            attempts,
            ", set aside" if gave_up else "",
            exc,
        )
        with self._server.db.tx() as conn:
            conn.execute(
                "UPDATE carrier_inbox SET attempts = ?, last_error = ?, state = ? WHERE id = ?",
                (attempts, str(exc)[:500], "failed" if gave_up else "new", row_id),
            )
        if not gave_up:
            await asyncio.sleep(BACKOFF.delay(attempts))

    async def _apply(self, event: InboundMessage | DeliveryUpdate) -> None:
        server = self._server
        if isinstance(event, DeliveryUpdate):
            with server.write() as conn:
                message_id = deliveries.update(conn, event)
                if message_id is not None and event.opted_out and event.phone:
                    optouts.opt_out(conn, server.db, event.phone)
                elif message_id is not None and event.opted_out and event.member_ref:
                    phone = server.db.scalar(
                        "SELECT phone FROM participants WHERE carrier_ref = ?", (event.member_ref,)
                    )
                    if phone:
                        optouts.opt_out(conn, server.db, phone)
            return
        media = [await inbound.keep_media(server, m) for m in event.media]
        inbound.receive_from_carrier(server, event, media)
