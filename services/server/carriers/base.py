"""The server's one door to the phone network: what every carrier offers, in our terms.

Three carriers stand behind it: ``simulated`` (the demo and the tests), ``twilio``
(Conversations group texting) and ``telnyx`` (group MMS). Nothing else in the server
knows which one is in use: it hands the door a group to create or a message to send,
and gets back carrier-neutral events (an inbound text, a recipient's delivery state)
from the carrier's webhooks, already verified and parsed.

Errors are ``CarrierError`` with a ``kind`` that tells the durable queue what to do:
retry later, give up, or (``OPTED_OUT``) block the recipients who opted out and never
retry. Every message is in words a business owner could act on; no secret appears in
any message, repr or log line.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

# --- what the carrier allows ---------------------------------------------------------------


@dataclass(frozen=True)
class CarrierLimits:
    """The carrier's limits for one group message, sent to clients through the contract."""

    max_participants: int  # contacts in a group, the business number not counted
    max_media_bytes: int  # all attachments of one message together
    max_media_files: int
    max_body_chars: int
    why: (
        str  # one sentence a user can read, e.g. "Telnyx delivers a group MMS to at most 8 people."
    )


@dataclass(frozen=True)
class BusinessNumber:
    """A number the carrier account holds, with what it can do."""

    phone_number: str  # E.164
    friendly_name: str
    sms: bool
    mms: bool
    voice: bool
    # +1 local long code with SMS and MMS: the only kind group MMS works with.
    group_capable: bool


# --- what the server asks of it ------------------------------------------------------------


@dataclass(frozen=True)
class GroupSpec:
    """A group to set up at the carrier: its roster and From number, fixed for good."""

    conversation_id: str  # ours; a carrier that names groups uses it (e.g. Twilio UniqueName)
    name: str | None
    business_number: str  # E.164, the From number
    members: tuple[str, ...]  # E.164 numbers of the participants, in the group's order


@dataclass(frozen=True)
class CarrierGroup:
    """What the carrier made of a group; stored with the conversation."""

    ref: str | None  # the carrier's id (Twilio CH…); None where the group is the number set
    # member number → the carrier's id for that member (Twilio MB…), where it has one;
    # delivery updates may name the member by it.
    member_refs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaFile:
    """One stored attachment of an outbound message."""

    name: str
    mime: str
    size: int
    path: str  # the file on this server's disk (Twilio uploads the bytes)
    public_url: str  # where the carrier can fetch it (Telnyx fetches by URL)


@dataclass(frozen=True)
class Outbound:
    """One message to hand to the carrier."""

    message_id: str  # ours: carried in the carrier's metadata where it has any
    group: GroupSpec
    carrier_group: CarrierGroup
    body: str
    media: tuple[MediaFile, ...] = ()


class RecipientStatus(enum.StrEnum):
    """Our recipient states (the contract's message statuses)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Accepted:
    """The carrier took the message."""

    # The carrier's id(s) for it: a carrier that takes one file per message (Twilio
    # Conversations) sends one carrier message per file, and updates may name any of them.
    carrier_message_ids: tuple[str, ...]
    # Each member number's state as the carrier answered it, where it said.
    recipients: Mapping[str, RecipientStatus] = field(default_factory=dict)


class ErrorKind(enum.StrEnum):
    RETRYABLE = "retryable"  # 5xx, 429, timeouts, a dropped connection: try again later
    PERMANENT = "permanent"  # the carrier refused it for good: fail the message, say why
    OPTED_OUT = "opted_out"  # recipients opted out: block them, never retry
    CONFIG = "config"  # credentials or account wrong: the server cannot work until fixed


class CarrierError(Exception):
    """A carrier call that did not succeed, with what the queue should do about it."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        opted_out: tuple[str, ...] = (),
        answer_lost: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message  # a sentence for staff: what happened and what to do
        self.code = code  # the carrier's own error code, e.g. "21610" or "40300"
        self.retry_after = retry_after  # seconds the carrier asked us to wait (429)
        self.opted_out = opted_out  # E.164 numbers that opted out (kind OPTED_OUT)
        # The request may have reached the carrier (timeout after sending, connection
        # dropped before the answer): look with find_sent() before sending again.
        self.answer_lost = answer_lost


# --- what the carrier tells the server (from webhooks, or the simulation) -----------------


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    event_id: str  # the carrier's id for this delivery of the event: applied once


class InboundMedia(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ref: str  # what fetch_media() takes: a URL, or the carrier's media id
    mime: str | None = None
    size: int | None = None
    name: str | None = None


class InboundMessage(_Event):
    """A participant's phone texted a business number."""

    type: Literal["inbound"] = "inbound"
    sender: str  # E.164
    # Every number the message was addressed to: the business number and, in a group,
    # the other participants. Sender + these pick the thread.
    to: tuple[str, ...]
    body: str = ""
    media: tuple[InboundMedia, ...] = ()
    carrier_group_ref: str | None = None  # the carrier's group id when it says (Twilio CH…)
    carrier_message_id: str | None = None


class DeliveryUpdate(_Event):
    """One recipient's state of one outbound message, as the carrier last said it."""

    type: Literal["delivery"] = "delivery"
    carrier_message_id: str
    # The recipient, by number or by the carrier's member id (at least one is set).
    phone: str | None = None
    member_ref: str | None = None
    status: RecipientStatus
    error_code: str | None = None
    error: str | None = None  # a sentence for staff when it failed
    opted_out: bool = False  # the carrier refused it because this recipient opted out


CarrierEvent = Annotated[InboundMessage | DeliveryUpdate, Field(discriminator="type")]


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as it reached us: the raw bytes are what the signature covers."""

    url: str  # the public URL the carrier called (this server's --public-url + path + query)
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    received_at: datetime


class WebhookRefused(Exception):
    """Unsigned, forged or stale: answered 403 and nothing is stored."""


# --- the door ------------------------------------------------------------------------------


@runtime_checkable
class Carrier(Protocol):
    """Everything the server asks of a carrier. Implementations: simulated, twilio, telnyx."""

    name: str  # "simulated" | "twilio" | "telnyx"

    @property
    def limits(self) -> CarrierLimits: ...

    async def verify(self) -> None:
        """Prove the credentials with one cheap call; CarrierError(CONFIG) in a sentence."""

    async def numbers(self) -> list[BusinessNumber]:
        """The business numbers the account holds, with their capabilities."""

    async def create_group(self, spec: GroupSpec) -> CarrierGroup:
        """Set the group up at the carrier. Safe to call again for the same conversation
        after a lost answer: it finds the group made the first time instead of a second."""

    async def send(self, message: Outbound) -> Accepted:
        """Hand one message to the carrier; CarrierError says what went wrong."""

    async def find_sent(self, message: Outbound, since: datetime) -> Accepted | None:
        """After a lost answer: the carrier's record of this message if it took it (sent at
        or after ``since``), else None. Sending again is safe only after None."""

    def parse_webhook(self, request: WebhookRequest) -> list[InboundMessage | DeliveryUpdate]:
        """Verify the signature (WebhookRefused when unsigned, forged or stale) and turn
        the carrier's payload into our events. Events we don't need parse to []."""

    async def fetch_media(self, media: InboundMedia) -> tuple[bytes, str]:
        """The bytes and MIME type of an inbound attachment."""

    async def aclose(self) -> None: ...
