"""One adapter per carrier, so the contract cases (test_contract.py) run against each.

A harness owns a fake account (spec-validated), a carrier built by ``make_carrier`` on
top of it, and the few carrier-specific moves a case needs: make a failure happen, sign a
webhook, take the credentials away. A third carrier gets every contract case by adding
a harness here and listing it in ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from services.server.carriers.base import (
    Accepted,
    Carrier,
    CarrierGroup,
    DeliveryUpdate,
    GroupSpec,
    InboundMedia,
    MediaFile,
    Outbound,
    WebhookRequest,
)
from services.server.carriers.config import make_carrier
from tests.services.server.carriers import fake_telnyx, fake_twilio
from tests.services.server.carriers.support import (
    BUSINESS,
    MEMBERS,
    PUBLIC_URL,
    Clock,
    Fault,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def group_spec(members: tuple[str, ...] = MEMBERS, conversation_id: str = "conv_7") -> GroupSpec:
    return GroupSpec(
        conversation_id=conversation_id,
        name="Saturday crew",
        business_number=BUSINESS,
        members=members,
    )


def picture(folder: Path, name: str = "photo.png", content: bytes = PNG) -> MediaFile:
    path = folder / name
    path.write_bytes(content)
    return MediaFile(
        name=name,
        mime="image/png",
        size=len(content),
        path=str(path),
        public_url=f"{PUBLIC_URL}/media/{name}",
    )


def outbound(
    spec: GroupSpec, group: CarrierGroup, body: str, media: tuple[MediaFile, ...] = (), n: int = 1
) -> Outbound:
    return Outbound(
        message_id=f"msg_{n:04d}", group=spec, carrier_group=group, body=body, media=media
    )


class Harness:
    name: str
    send_operation: str  # the operation id of a send, where faults are queued
    names_opted_out_on_send: bool  # the carrier's send error says who opted out
    fake: Any
    clock: Clock
    carrier: Carrier
    http: httpx.AsyncClient

    @property
    def secrets(self) -> tuple[str, ...]:
        raise NotImplementedError

    def fail_next_send(self, fault: Fault) -> None:
        self.fake.faults.add(self.send_operation, fault)

    def opt_out(self, number: str) -> None:
        raise NotImplementedError

    def reply(
        self, spec: GroupSpec, group: CarrierGroup, sender: str, body: str, *, media: bool = False
    ) -> WebhookRequest:
        raise NotImplementedError

    def stale_reply(self, spec: GroupSpec, group: CarrierGroup, sender: str) -> WebhookRequest:
        raise NotImplementedError

    def receipts(
        self, spec: GroupSpec, group: CarrierGroup, accepted: Accepted
    ) -> list[WebhookRequest]:
        raise NotImplementedError

    def recipient(self, update: DeliveryUpdate, group: CarrierGroup) -> str:
        """The member number an update is about, by number or by the carrier's member id."""
        if update.phone:
            return update.phone
        by_ref = {ref: number for number, ref in group.member_refs.items()}
        return by_ref[update.member_ref or ""]

    def break_credentials(self) -> None:
        raise NotImplementedError

    def add_numbers(self) -> None:
        """A local MMS number, a toll-free MMS number and an SMS-only local number."""
        raise NotImplementedError

    def serve_media(self, media: InboundMedia, content: bytes, mime: str) -> None:
        raise NotImplementedError

    def assert_clean(self) -> None:
        self.fake.assert_clean()


class TwilioHarness(Harness):
    name = "twilio"
    send_operation = "CreateServiceConversationMessage"
    names_opted_out_on_send = False  # Twilio's 21610 text names no number

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.fake = fake_twilio.FakeTwilio(clock)
        self.http = httpx.AsyncClient(transport=self.fake.transport)
        self.carrier = make_carrier("twilio", fake_twilio.ENV, PUBLIC_URL, self.http, clock)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (fake_twilio.AUTH_TOKEN,)

    def opt_out(self, number: str) -> None:
        self.fail_next_send(
            fake_twilio.fault_error(400, 21610, "Attempt to send to unsubscribed recipient")
        )

    def _media(self) -> list[dict[str, Any]]:
        sid = self.fake.sid("ME")
        self.fake.media[sid] = fake_twilio.Media(sid, PNG, "image/png")
        return [{"Sid": sid, "Filename": "IMG_0001.png", "ContentType": "image/png", "Size": 72}]

    def reply(
        self, spec: GroupSpec, group: CarrierGroup, sender: str, body: str, *, media: bool = False
    ) -> WebhookRequest:
        assert group.ref is not None
        params = self.fake.message_added(
            group.ref, sender, body, media=self._media() if media else None
        )
        return self.fake.webhook("/webhooks/twilio", params)

    def stale_reply(self, spec: GroupSpec, group: CarrierGroup, sender: str) -> WebhookRequest:
        assert group.ref is not None
        created = self.clock.now - timedelta(hours=3)
        params = self.fake.message_added(group.ref, sender, "old news", created=created)
        return self.fake.webhook("/webhooks/twilio", params)

    def receipts(
        self, spec: GroupSpec, group: CarrierGroup, accepted: Accepted
    ) -> list[WebhookRequest]:
        assert group.ref is not None
        return [
            self.fake.webhook(
                "/webhooks/twilio",
                self.fake.delivery_updated(
                    group.ref, accepted.carrier_message_ids[0], group.member_refs[m], "delivered"
                ),
            )
            for m in spec.members
        ]

    def break_credentials(self) -> None:
        self.fake.token = "0" * 32  # the account's token was rotated

    def add_numbers(self) -> None:
        self.fake.add_number("+14155550100", sms=True, mms=True, voice=True, name="Main line")
        self.fake.add_number("+18005550199", sms=True, mms=True, voice=True, name="Toll-free")
        self.fake.add_number("+14155550177", sms=True, mms=False, voice=False, name="SMS only")

    def serve_media(self, media: InboundMedia, content: bytes, mime: str) -> None:
        self.fake.media[media.ref] = fake_twilio.Media(media.ref, content, mime)


class TelnyxHarness(Harness):
    name = "telnyx"
    send_operation = "CreateGroupMmsMessage"
    names_opted_out_on_send = True

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.fake = fake_telnyx.FakeTelnyx(clock)
        self.http = httpx.AsyncClient(transport=self.fake.transport)
        self.carrier = make_carrier("telnyx", fake_telnyx.ENV, PUBLIC_URL, self.http, clock)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (fake_telnyx.API_KEY,)

    def opt_out(self, number: str) -> None:
        self.fake.blocked.add(number)

    def reply(
        self, spec: GroupSpec, group: CarrierGroup, sender: str, body: str, *, media: bool = False
    ) -> WebhookRequest:
        others = [m for m in spec.members if m != sender]
        items = []
        if media:
            url = f"https://{fake_telnyx.MEDIA_HOST}/mms/{self.fake.uuid()}.png"
            self.fake.media[url] = (PNG, "image/png")
            items = [{"url": url, "content_type": "image/png", "size": len(PNG)}]
        envelope = self.fake.received(sender, [spec.business_number], others, body, items)
        return self.fake.signed(envelope)

    def stale_reply(self, spec: GroupSpec, group: CarrierGroup, sender: str) -> WebhookRequest:
        envelope = self.fake.received(sender, [spec.business_number], [], "old news")
        return self.fake.signed(envelope, signed_at=self.clock.now - timedelta(minutes=6))

    def receipts(
        self, spec: GroupSpec, group: CarrierGroup, accepted: Accepted
    ) -> list[WebhookRequest]:
        message_id = accepted.carrier_message_ids[0]
        return [
            self.fake.signed(
                self.fake.status(
                    "message.finalized", message_id, spec.business_number, [(m, "delivered")]
                )
            )
            for m in spec.members
        ]

    def break_credentials(self) -> None:
        self.fake.api_key = "KEY_revoked"

    def add_numbers(self) -> None:
        self.fake.add_number("+14155550100", kind="long-code", sms=True, mms=True)
        self.fake.add_number("+18005550199", kind="toll-free", sms=True, mms=True)
        self.fake.add_number("+14155550177", kind="long-code", sms=True, mms=False)

    def serve_media(self, media: InboundMedia, content: bytes, mime: str) -> None:
        self.fake.media[media.ref] = (content, mime)


@dataclass(frozen=True)
class HarnessKind:
    name: str
    make: Callable[[Clock], Harness]


HARNESSES = (HarnessKind("twilio", TwilioHarness), HarnessKind("telnyx", TelnyxHarness))
