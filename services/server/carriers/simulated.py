"""The simulated carrier: the demo's and the tests' phone network, behind the same door.

It takes every message it is handed and then reports each recipient's progress
the way a real carrier's webhooks do, as ``DeliveryUpdate`` events into the
server's inbox: ``queued → sent → delivered``, one step per ``latency_ms``; or
``undelivered`` when the message's media exceed the handset carriers' MMS limit
(``max_mms_bytes``, 1 MB by default, as on AT&T and Verizon long codes); or
``failed`` by chance when a failure rate is set. Its progress timers are asyncio
tasks owned here; after a restart, ``resume()`` picks up recipients still on
their way. Inbound texts come from ``POST /sandbox/inbound``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services import limits
from services.rules import format_size
from services.server.carriers.base import (
    Accepted,
    BusinessNumber,
    CarrierGroup,
    CarrierLimits,
    DeliveryUpdate,
    GroupSpec,
    InboundMedia,
    InboundMessage,
    Outbound,
    RecipientStatus,
    WebhookRefused,
    WebhookRequest,
)
from services.server.db import Database

Sink = Callable[[Sequence[InboundMessage | DeliveryUpdate]], None]


@dataclass(frozen=True)
class SimulatedSettings:
    latency_ms: int = 300
    fail_rate: float = 0.0
    max_mms_bytes: int = limits.CARRIER_MAX_MMS_BYTES

    def wire(self) -> dict[str, object]:
        return {
            "latencyMs": self.latency_ms,
            "failRate": self.fail_rate,
            "maxMmsBytes": self.max_mms_bytes,
        }


def carrier_id(message_id: str) -> str:
    return f"SIM{message_id}"


class SimulatedCarrier:
    name = "simulated"

    def __init__(self, db: Database, settings: SimulatedSettings, sink: Sink) -> None:
        self._db = db
        self.settings = settings
        self._sink = sink
        self._tasks: set[asyncio.Task[None]] = set()
        self._random = random.Random()

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
    ) -> SimulatedSettings:
        changes: dict[str, object] = {}
        if latency_ms is not None:
            changes["latency_ms"] = latency_ms
        if fail_rate is not None:
            changes["fail_rate"] = fail_rate
        if max_mms_bytes is not None:
            changes["max_mms_bytes"] = max_mms_bytes
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        return self.settings

    # --- the door ------------------------------------------------------------------------

    async def verify(self) -> None:
        return None

    async def numbers(self) -> list[BusinessNumber]:
        rows = self._db.all("SELECT * FROM numbers ORDER BY phone_number")
        return [
            BusinessNumber(
                phone_number=row["phone_number"],
                friendly_name=row["friendly_name"],
                sms=bool(row["sms"]),
                mms=bool(row["mms"]),
                voice=bool(row["voice"]),
                group_capable=bool(row["group_enabled"]),
            )
            for row in rows
        ]

    async def create_group(self, spec: GroupSpec) -> CarrierGroup:
        return CarrierGroup(ref=None)  # the simulated network needs no set-up

    async def send(self, message: Outbound) -> Accepted:
        media_bytes = sum(f.size for f in message.media)
        self._start(
            message.message_id, {phone: "queued" for phone in message.group.members}, media_bytes
        )
        return Accepted(carrier_message_ids=(carrier_id(message.message_id),))

    async def find_sent(self, message: Outbound, since: datetime) -> Accepted | None:
        # The simulation lives in this process: a send lost in a crash went nowhere.
        return None

    def parse_webhook(self, request: WebhookRequest) -> list[InboundMessage | DeliveryUpdate]:
        raise WebhookRefused("The simulated carrier sends no webhooks.")

    async def fetch_media(self, media: InboundMedia) -> tuple[bytes, str]:
        raise NotImplementedError("simulated inbound media are already URLs")

    async def aclose(self) -> None:
        """Stop reporting; the next ``resume()`` picks up what was left."""
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        here = asyncio.get_running_loop()
        for task in tasks:
            if task.get_loop() is here:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- the simulation ------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks)

    def resume(self) -> None:
        """Report again on recipients still on their way (after a restart or aclose())."""
        rows = self._db.all(
            "SELECT r.message_id, r.phone, r.status, m.attachment_bytes FROM recipients r"
            " JOIN messages m ON m.id = r.message_id"
            " JOIN carrier_messages c ON c.message_id = r.message_id AND c.carrier_message_id"
            " = 'SIM' || r.message_id WHERE r.status IN ('queued', 'sent')"
        )
        waiting: dict[str, tuple[dict[str, str], int]] = {}
        for row in rows:
            states, _ = waiting.setdefault(row["message_id"], ({}, row["attachment_bytes"]))
            states[row["phone"]] = row["status"]
        for message_id, (states, media_bytes) in waiting.items():
            self._start(message_id, states, media_bytes)

    def _start(self, message_id: str, states: dict[str, str], media_bytes: int) -> None:
        task = asyncio.get_running_loop().create_task(self._run(message_id, states, media_bytes))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, message_id: str, states: dict[str, str], media_bytes: int) -> None:
        queued = [phone for phone, status in states.items() if status == "queued"]
        sent = [phone for phone, status in states.items() if status == "sent"]
        if queued:
            await self._pause()
            outcomes = {phone: self._outcome(media_bytes) for phone in queued}
            self._report(message_id, outcomes)
            sent += [p for p, (status, _) in outcomes.items() if status is RecipientStatus.SENT]
        if sent:
            await self._pause()
            self._report(message_id, {p: (RecipientStatus.DELIVERED, None) for p in sent})

    async def _pause(self) -> None:
        await asyncio.sleep(max(self.settings.latency_ms, 0) / 1000)

    def _outcome(self, media_bytes: int) -> tuple[RecipientStatus, str | None]:
        limit = self.settings.max_mms_bytes
        if media_bytes > limit:
            return RecipientStatus.UNDELIVERED, (
                f"The carrier refused the media: {format_size(media_bytes)} is over its "
                f"{format_size(limit)} limit. Compress the files and send again."
            )
        if self.settings.fail_rate > 0 and self._random.random() < self.settings.fail_rate:
            return RecipientStatus.FAILED, "The carrier could not deliver this message. Try again."
        return RecipientStatus.SENT, None

    def _report(
        self, message_id: str, outcomes: dict[str, tuple[RecipientStatus, str | None]]
    ) -> None:
        sid = carrier_id(message_id)
        self._sink(
            [
                DeliveryUpdate(
                    event_id=f"{sid}:{phone}:{status}",
                    carrier_message_id=sid,
                    phone=phone,
                    status=status,
                    error=error,
                )
                for phone, (status, error) in outcomes.items()
            ]
        )
