"""Request bodies of the contract, validated strictly: wrong types and unknown fields are 422."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

MAX_MESSAGE_CHARS = 1600
MAX_NAME_CHARS = 100
MAX_ID_CHARS = 200
Id = str


class Body(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True
    )


class ContactSearch(Body):
    location_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    query: str = Field(default="", max_length=200)
    page_limit: int = Field(default=20, ge=1, le=100)
    search_after: list[str | int] | None = Field(default=None, max_length=2)


class DndChannel(Body):
    status: Literal["active", "inactive", "permanent"]


class DndSettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    SMS: DndChannel | None = None


class ContactPatch(Body):
    first_name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    last_name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    assigned_to: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    dnd_settings: DndSettingsBody | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class MarkRead(Body):
    unread_count: int = Field(ge=0, le=0)


class ParticipantRef(Body):
    contact_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    user_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)

    @model_validator(mode="after")
    def _exactly_one(self) -> ParticipantRef:
        if (self.contact_id is None) == (self.user_id is None):
            raise ValueError("each participant needs exactly one of contactId or userId")
        return self


class GroupCreate(Body):
    location_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    kind: Literal["contacts", "teammates"]
    from_number: str = Field(max_length=40)
    participants: list[ParticipantRef] = Field(max_length=50)
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class SendMessage(Body):
    type: Literal["SMS"] = "SMS"
    conversation_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    # LeadConnector's one-to-one form: the contact (and optionally the numbers) instead.
    contact_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    from_number: str | None = Field(default=None, max_length=40)
    to_number: str | None = Field(default=None, max_length=40)
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    attachments: list[str] = Field(default_factory=list, max_length=50)
    client_message_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)
    from_: str = Field(alias="from", max_length=40)
    to: list[str] = Field(min_length=1, max_length=12)
    body: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    media_urls: list[str] = Field(default_factory=list, alias="mediaUrls", max_length=10)


class CarrierTune(Body):
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    fail_rate: float | int | None = Field(default=None, ge=0, le=1)
    max_mms_bytes: int | None = Field(default=None, ge=0, le=100 * 1024 * 1024)
