"""Typed models for every resource of the messaging contract.

The wire speaks camelCase JSON (LeadConnector's style); Python code uses
snake_case attributes. Every model ignores fields it does not know, and every
enum decodes a value it does not know to its ``UNKNOWN`` member instead of
raising: a newer backend must never crash an older app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from services import limits


class _TolerantEnum(StrEnum):
    """A string enum whose unknown values decode to ``UNKNOWN``."""

    @classmethod
    def _missing_(cls, value: object) -> _TolerantEnum:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return cls("unknown")


class Wire(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        # A model's validator is built when first used, not at import: the cold start
        # imports every model and uses a few before the list is painted (issue 19).
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


# --- users and business numbers -------------------------------------------------


class UserRole(_TolerantEnum):
    ADMIN = "admin"
    USER = "user"
    UNKNOWN = "unknown"


class Roles(Wire):
    role: UserRole = UserRole.USER


class Permissions(Wire):
    assigned_data_only: bool = False


class User(Wire):
    id: str
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    location_id: str | None = None
    roles: Roles = Field(default_factory=Roles)
    permissions: Permissions = Field(default_factory=Permissions)

    @property
    def is_admin(self) -> bool:
        return self.roles.role is UserRole.ADMIN

    @property
    def assigned_data_only(self) -> bool:
        return self.permissions.assigned_data_only and not self.is_admin

    @property
    def display_name(self) -> str:
        return self.name or f"{self.first_name} {self.last_name}".strip() or self.id


class Capabilities(Wire):
    sms: bool = False
    mms: bool = False
    voice: bool = False


class GroupLimits(Wire):
    """What the carrier behind a number allows in one group message (the server says).

    The defaults are group MMS's own (10 phones: the business number and 9 people; 10
    files and 5 MB a message): what a backend that doesn't say (LeadConnector) gets.
    """

    max_participants: int = limits.MAX_PARTICIPANTS
    max_media_bytes: int = limits.MAX_ATTACHMENT_TOTAL_BYTES
    max_media_files: int = limits.MAX_ATTACHMENTS
    max_body_chars: int = 1600
    why: str = ""


class PhoneNumber(Wire):
    """A business phone number of the location (a possible "Send from")."""

    phone_number: str
    friendly_name: str = ""
    capabilities: Capabilities = Field(default_factory=Capabilities)
    is_group_conversation_enabled: bool = False
    linked_user: str | None = None
    linked_ring_all_users: list[str] = Field(default_factory=list)
    group_limits: GroupLimits = Field(default_factory=GroupLimits)

    @field_validator("linked_ring_all_users", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    @field_validator("friendly_name", mode="before")
    @classmethod
    def _none_is_blank(cls, value: object) -> object:
        # LeadConnector's phone-system answer has "friendlyName": null for unnamed numbers.
        return "" if value is None else value


# --- contacts --------------------------------------------------------------------


class DndStatus(_TolerantEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


class DndChannel(Wire):
    status: DndStatus = DndStatus.INACTIVE


class DndSettings(Wire):
    model_config = ConfigDict(
        alias_generator=None, populate_by_name=True, extra="ignore", defer_build=True
    )

    sms: DndChannel | None = Field(default=None, alias="SMS")


class Contact(Wire):
    id: str
    location_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    assigned_to: str | None = None
    dnd_settings: DndSettings | None = None
    date_updated: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    # Opaque cursor of a search answer: sent back to get the next page.
    search_after: Any = None
    # LeadConnector's "dnd": Do Not Disturb on every channel, SMS included.
    dnd_all_channels: bool | None = Field(default=None, alias="dnd")

    @model_validator(mode="before")
    @classmethod
    def _names_from_lower_case(cls, data: Any) -> Any:
        """LeadConnector's contact search may carry only the lower-case name fields."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for key in ("firstName", "lastName"):
            lower = data.get(f"{key}LowerCase")
            if not data.get(key) and isinstance(lower, str) and lower:
                filled[key] = lower.title()
        return filled

    @property
    def display_name(self) -> str:
        full = f"{self.first_name or ''} {self.last_name or ''}".strip()
        return self.name or full or self.phone or "Unknown contact"

    @property
    def dnd_status(self) -> DndStatus:
        if self.dnd_settings is None or self.dnd_settings.sms is None:
            return DndStatus.INACTIVE
        return self.dnd_settings.sms.status

    @property
    def dnd(self) -> bool:
        """SMS Do Not Disturb is on; an unknown status errs on the side of not texting."""
        if self.dnd_all_channels:
            return True
        return self.dnd_status in (DndStatus.ACTIVE, DndStatus.PERMANENT, DndStatus.UNKNOWN)


# --- conversations ---------------------------------------------------------------


class ConversationType(_TolerantEnum):
    GROUP_SMS = "TYPE_GROUP_SMS"
    PHONE = "TYPE_PHONE"
    UNKNOWN = "unknown"


# LeadConnector answers GET /conversations/{id} with a numeric type.
_NUMERIC_TYPES = {1: ConversationType.PHONE, 5: ConversationType.GROUP_SMS}


class Direction(_TolerantEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    UNKNOWN = "unknown"


class GroupKind(_TolerantEnum):
    CONTACTS = "contacts"
    TEAMMATES = "teammates"
    UNKNOWN = "unknown"


class ParticipantTag(_TolerantEnum):
    UPDATED = "updated"
    DELETED = "deleted"
    UNKNOWN = "unknown"


class Participant(Wire):
    id: str
    contact_id: str | None = None
    user_id: str | None = None
    name: str = ""
    phone: str = ""
    current_name: str | None = None
    current_phone: str | None = None
    tags: list[ParticipantTag] = Field(default_factory=list)
    dnd: bool = False

    @property
    def updated(self) -> bool:
        return ParticipantTag.UPDATED in self.tags

    @property
    def deleted(self) -> bool:
        return ParticipantTag.DELETED in self.tags


class ConversationSummary(Wire):
    id: str
    type: ConversationType = ConversationType.UNKNOWN
    name: str | None = None
    contact_id: str | None = None
    last_message_body: str | None = None
    last_message_date: int | None = None
    last_message_direction: Direction | None = None
    unread_count: int = 0
    participant_count: int = 0
    blocked: bool = False

    @model_validator(mode="before")
    @classmethod
    def _name_from_contact(cls, data: Any) -> Any:
        """LeadConnector names a one-to-one row by its contact (``fullName``/``contactName``)."""
        if not isinstance(data, dict) or data.get("name"):
            return data
        name = data.get("fullName") or data.get("contactName")
        return {**data, "name": name} if isinstance(name, str) and name else data

    @field_validator("type", mode="before")
    @classmethod
    def _numeric_type(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return _NUMERIC_TYPES.get(value, ConversationType.UNKNOWN)
        return value

    @field_validator("last_message_date", mode="before")
    @classmethod
    def _date_to_ms(cls, value: object) -> object:
        # Tolerate an ISO string where milliseconds are expected.
        if isinstance(value, str) and not value.isdigit():
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        return value

    @property
    def is_group(self) -> bool:
        return self.type is ConversationType.GROUP_SMS

    @property
    def last_activity(self) -> datetime | None:
        if self.last_message_date is None:
            return None
        return datetime.fromtimestamp(self.last_message_date / 1000, tz=UTC)


class Conversation(ConversationSummary):
    from_number: str | None = None
    created_by: str | None = None
    date_added: datetime | None = None
    kind: GroupKind | None = None
    participants: list[Participant] = Field(default_factory=list)
    blocked_by: list[str] = Field(default_factory=list)

    def blocking_participants(self) -> list[Participant]:
        blocked = set(self.blocked_by)
        return [p for p in self.participants if p.id in blocked]


# --- messages --------------------------------------------------------------------


class MessageStatus(_TolerantEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    OPT_OUT = "opt_out"
    UNKNOWN = "unknown"


class Recipient(Wire):
    """Delivery of an outbound group message to one participant."""

    participant_id: str
    phone: str = ""
    status: MessageStatus = MessageStatus.PENDING
    error: str | None = None


class Message(Wire):
    id: str
    conversation_id: str
    direction: Direction = Direction.UNKNOWN
    message_type: str = "TYPE_SMS"
    body: str = ""
    attachments: list[str] = Field(default_factory=list)
    date_added: datetime
    status: MessageStatus = MessageStatus.PENDING
    user_id: str | None = None
    participant_id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    recipients: list[Recipient] = Field(default_factory=list)
    client_message_id: str | None = None

    @field_validator("body", mode="before")
    @classmethod
    def _none_body(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("attachments", "recipients", mode="before")
    @classmethod
    def _none_list(cls, value: object) -> object:
        return [] if value is None else value


class MessagesPage(Wire):
    """One page of a thread, newest first; ``last_message_id`` is its oldest message."""

    last_message_id: str | None = None
    next_page: bool = False
    messages: list[Message] = Field(default_factory=list)


class SendResult(Wire):
    conversation_id: str
    message_id: str
    status: MessageStatus = MessageStatus.PENDING


# --- live updates ----------------------------------------------------------------


class EventType(_TolerantEnum):
    MESSAGE_CREATED = "MessageCreated"
    MESSAGE_STATUS_UPDATED = "MessageStatusUpdated"
    CONVERSATION_UPDATED = "ConversationUpdated"
    CONTACT_UPDATED = "ContactUpdated"
    CONTACT_DELETED = "ContactDeleted"
    CONTACT_DND_UPDATE = "ContactDndUpdate"
    UNKNOWN = "unknown"


class Event(Wire):
    id: str
    type: EventType = EventType.UNKNOWN
    date_added: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_str(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class EventBatch(Wire):
    events: list[Event] = Field(default_factory=list)
    cursor: str | None = None
    log_id: str | None = None  # which event log the cursor belongs to (None: not told)


# --- search answers --------------------------------------------------------------


class ContactPage(Wire):
    contacts: list[Contact] = Field(default_factory=list)
    total: int = 0


class ConversationPage(Wire):
    conversations: list[ConversationSummary] = Field(default_factory=list)
    total: int = 0


# --- push notifications [ext] ------------------------------------------------------


class DevicePlatform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"
    DESKTOP = "desktop"


class Device(Wire):
    """A device registered for push notifications: ``push_id`` is the push service's id."""

    id: str
    platform: str
    push_id: str
    app_version: str = ""
    created_at: str | None = None
    last_seen: str | None = None


class NotificationSettings(Wire):
    """What the signed-in user is notified of."""

    push_staff_messages: bool = False
    muted_conversation_ids: list[str] = Field(default_factory=list)
