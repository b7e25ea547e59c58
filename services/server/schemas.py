"""The contract's shapes, as pydantic models: request bodies and answers.

FastAPI validates every request body with these models and publishes them in
``/openapi.json``, so the document can't drift from what the routes accept and
answer. Bodies are strict (a string is not a number, unknown fields are
refused), except that a whole number written as ``66.0`` is 66, as JSON means.
Answers describe exactly what ``views.py`` builds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

MAX_MESSAGE_CHARS = 1600
MAX_NAME_CHARS = 100
MAX_ID_CHARS = 200


def _whole(value: Any) -> Any:
    # JSON has one number type: 66.0 is the integer 66 (JSON Schema agrees); 66.5 is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_whole)]


class Body(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True
    )


# --- request bodies ------------------------------------------------------------------------


class ContactSearch(Body):
    location_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    query: str = Field(default="", max_length=200)
    page_limit: Int = Field(default=20, ge=1, le=100)
    search_after: list[str | Int] | None = Field(default=None, max_length=2)


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
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=50)


class ContactCreate(Body):
    location_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    first_name: str = Field(default="", max_length=MAX_NAME_CHARS)
    last_name: str = Field(default="", max_length=MAX_NAME_CHARS)
    phone: str = Field(min_length=1, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    assigned_to: str | None = Field(default=None, max_length=MAX_ID_CHARS)


class MarkRead(Body):
    unread_count: Int = Field(ge=0, le=0)


class DeviceRegister(Body):
    platform: Literal["ios", "android", "web", "desktop"]
    push_id: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The push service's id of this device (OneSignal: the subscription id).",
    )
    app_version: str = Field(default="", max_length=50)


class NotificationPrefsBody(Body):
    push_staff_messages: bool = Field(
        description="Also push messages that other staff send (off unless asked for)."
    )


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
    attachments: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )
    client_message_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)
    from_: str = Field(alias="from", max_length=40)
    to: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=12)
    body: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    media_urls: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, alias="mediaUrls", max_length=10
    )


class CarrierTune(Body):
    latency_ms: Int | None = Field(default=None, ge=0, le=60_000)
    fail_rate: float | None = Field(default=None, ge=0, le=1)
    max_mms_bytes: Int | None = Field(default=None, ge=0, le=100 * 1024 * 1024)


# --- answers -------------------------------------------------------------------------------


class Out(BaseModel):
    """An answer's shape: camelCase on the wire, every field always present."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Problem(BaseModel):
    """Every refusal: the status again, a sentence (or, for 422, a list of them), its name."""

    statusCode: int
    message: str | list[str]
    error: str


class Roles(Out):
    role: Literal["admin", "user"]


class Permissions(Out):
    assigned_data_only: bool


class UserOut(Out):
    id: str
    name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    location_id: str
    roles: Roles
    permissions: Permissions


class Capabilities(Out):
    sms: bool
    mms: bool
    voice: bool


class GroupLimits(Out):
    """What the carrier allows in one group message, so clients refuse before sending."""

    max_participants: int
    max_media_bytes: int
    max_media_files: int
    max_body_chars: int
    why: str


class NumberOut(Out):
    phone_number: str
    friendly_name: str
    capabilities: Capabilities
    is_group_conversation_enabled: bool
    linked_user: str | None
    linked_ring_all_users: list[str]
    group_limits: GroupLimits


class DndOut(Out):
    status: str


class DndSettingsOut(BaseModel):
    SMS: DndOut


class ContactOut(Out):
    id: str
    location_id: str
    first_name: str | None
    last_name: str | None
    name: str | None
    phone: str | None
    email: str | None
    assigned_to: str | None
    dnd_settings: DndSettingsOut
    date_updated: str
    tags: list[str]


class FoundContact(ContactOut):
    search_after: list[str] = Field(description="Send back as searchAfter for the next page.")


class ParticipantOut(Out):
    id: str
    contact_id: str | None
    user_id: str | None
    name: str
    phone: str
    current_name: str | None
    current_phone: str | None
    tags: list[Literal["updated", "deleted"]]
    dnd: bool


class MatchOut(Out):
    """Where a search matched a message: its text around the match, and the character
    ranges [start, end) of the matching words, for the list to highlight."""

    text: str
    highlights: list[list[int]]


class ConversationSummaryOut(Out):
    id: str
    type: Literal["TYPE_GROUP_SMS", "TYPE_PHONE"]
    name: str
    contact_id: str | None
    last_message_body: str | None
    last_message_date: int
    last_message_direction: Literal["inbound", "outbound"] | None
    unread_count: int
    participant_count: int
    blocked: bool
    match: MatchOut | None = Field(
        default=None, description="Only in answers to a search with a query."
    )


class ConversationOut(ConversationSummaryOut):
    from_number: str
    created_by: str | None
    date_added: str
    kind: Literal["contacts", "teammates"] | None
    location_id: str
    participants: list[ParticipantOut]
    blocked_by: list[str]


class RecipientOut(Out):
    participant_id: str
    phone: str
    status: str
    error: str | None = None


class MessageOut(Out):
    id: str
    conversation_id: str
    direction: Literal["inbound", "outbound"]
    message_type: Literal["TYPE_SMS"]
    body: str
    attachments: list[str]
    date_added: str
    status: str
    user_id: str | None
    participant_id: str | None
    from_: str | None = Field(alias="from")
    recipients: list[RecipientOut]
    client_message_id: str | None


class MessagesPageOut(Out):
    last_message_id: str | None
    next_page: bool
    messages: list[MessageOut]


class EventOut(Out):
    id: str
    type: str
    date_added: str
    data: dict[str, Any]


# The top-level answers, one per operation.


class DeviceOut(Out):
    id: str
    platform: str
    push_id: str
    app_version: str
    created_at: str
    last_seen: str


class DeviceAnswer(Out):
    device: DeviceOut


class DevicesAnswer(Out):
    devices: list[DeviceOut]


class NotificationSettingsOut(Out):
    push_staff_messages: bool
    muted_conversation_ids: list[str]


class UserAnswer(Out):
    user: UserOut


class UsersAnswer(Out):
    users: list[UserOut]


class NumbersAnswer(Out):
    numbers: list[NumberOut]


class ContactAnswer(Out):
    contact: ContactOut


class ContactsAnswer(Out):
    contacts: list[FoundContact]
    total: int


class DeletedAnswer(Out):
    succeded: bool = Field(description="LeadConnector's spelling.")


class ConversationsAnswer(Out):
    conversations: list[ConversationSummaryOut]
    total: int


class ConversationAnswer(Out):
    conversation: ConversationOut


class MarkedRead(Out):
    success: bool
    conversation: ConversationOut


class MessagesAnswer(Out):
    messages: MessagesPageOut


class SendAnswer(Out):
    conversation_id: str
    message_id: str
    status: str


class UploadAnswer(Out):
    uploaded_files: dict[str, str] = Field(description="The file's name and its URL.")


class EventsAnswer(Out):
    events: list[EventOut]
    cursor: str
    log_id: str = Field(
        description="Which event log the cursor belongs to. Another one (a database made"
        " anew or restored behind the same address) numbers its events again: a client"
        " that kept a cursor of another log starts from the new log's end and fetches"
        " what it shows anew."
    )


class InboundAnswer(Out):
    conversation_id: str
    message_id: str
    message: MessageOut


class CarrierSettingsOut(Out):
    latency_ms: int
    fail_rate: float
    max_mms_bytes: int


class CarrierAnswer(Out):
    carrier: CarrierSettingsOut


class WebhookAnswer(Out):
    received: int = Field(description="Events in this delivery.")
    new: int = Field(description="Of those, the ones not seen before (a repeat is kept once).")


class HealthAnswer(Out):
    status: Literal["ok", "unavailable"]
    database: str = Field(description="ok, or why the database does not answer")
    carrier: str = Field(description="ok, or why the carrier does not answer")
