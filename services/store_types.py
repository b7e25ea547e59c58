"""What the store hands out: local messages and the small change objects it emits.

Listeners get one change object per affected row, so a new message costs the UI
one bubble, never a list reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import Field

from services.models import Message

LocalState = Literal["sending", "failed", "sent"]


class LocalMessage(Message):
    """A message as this device shows it: the server's copy, or an outbox entry.

    ``local_id`` is the clientMessageId this device chose when it wrote the
    message (None for messages written elsewhere without one); ``key`` is the
    identity a view should use, stable across the optimistic → server hand-over.
    """

    local_state: LocalState = "sent"
    local_id: str | None = None
    # Files of an outbox entry that are not uploaded yet: absolute local paths.
    local_files: list[str] = Field(default_factory=list)
    # Why an outbox entry failed, as one sentence for the user.
    error: str | None = None

    @property
    def key(self) -> str:
        return row_key(self.id, self.local_id or self.client_message_id)


def row_key(server_id: str | None, client_message_id: str | None) -> str:
    """The store's primary key of a message: by clientMessageId when there is one."""
    if client_message_id:
        return f"c:{client_message_id}"
    if server_id:
        return f"s:{server_id}"
    raise ValueError("a message needs an id or a clientMessageId")


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    """One conversation's summary (or full record) changed: redraw its row."""

    conversation_id: str


@dataclass(frozen=True, slots=True)
class ConversationsReset:
    """The whole list was replaced (a full refresh): reload the visible page."""


@dataclass(frozen=True, slots=True)
class MessageAdded:
    conversation_id: str
    message: LocalMessage


@dataclass(frozen=True, slots=True)
class MessageUpdated:
    """A message changed in place (status, reconciliation with the server copy)."""

    conversation_id: str
    message: LocalMessage


@dataclass(frozen=True, slots=True)
class MessageRemoved:
    """An outbox entry the user deleted."""

    conversation_id: str
    key: str


@dataclass(frozen=True, slots=True)
class ContactsChanged:
    """Contacts or teammates were added, edited or deleted."""


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    state: ConnectionState


Change = (
    ConversationChanged
    | ConversationsReset
    | MessageAdded
    | MessageUpdated
    | MessageRemoved
    | ContactsChanged
    | ConnectionChanged
)


OutboxState = Literal["queued", "failed"]


@dataclass(slots=True)
class OutboxFile:
    """One attachment of an outbox entry: a copy in the cache folder, then its URL."""

    name: str
    content_type: str
    path: str
    url: str | None = None


@dataclass(slots=True)
class OutboxEntry:
    local_id: str
    conversation_id: str
    body: str
    files: list[OutboxFile]
    state: OutboxState = "queued"
    attempts: int = 0
    error: str | None = None
    seq: int = 0
