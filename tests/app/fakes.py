"""Small fakes of the documented service interfaces, for view-model and view tests.

The store is the real ``services.store.Store`` in memory; these stand in for
the client and the sync loop, which would need a backend. Example data comes
from tests/factories.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services import phones
from services.models import (
    Contact,
    ContactPage,
    Conversation,
    Direction,
    GroupKind,
    Message,
    MessageStatus,
    Recipient,
    User,
)
from services.sync import Window
from tests.factories import make_contact, make_conversation, make_participant

_seq = itertools.count(1)
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def make_message(conversation: Conversation, **fields: Any) -> Message:
    n = next(_seq)
    values: dict[str, Any] = {
        "id": f"msg_{n}",
        "conversation_id": conversation.id,
        "direction": Direction.OUTBOUND,
        "body": f"Message {n}",
        "date_added": T0 + timedelta(minutes=n),
        "status": MessageStatus.DELIVERED,
        "recipients": [
            Recipient(participant_id=p.id, phone=p.phone, status=MessageStatus.DELIVERED)
            for p in conversation.participants
        ],
    }
    values.update(fields)
    return Message(**values)


class FakeClient:
    """Contacts search and group creation over in-memory lists."""

    def __init__(
        self, contacts: Sequence[Contact] = (), errors: dict[str, Exception] | None = None
    ):
        self.contacts = list(contacts)
        self.errors = errors or {}
        self.created: list[dict[str, Any]] = []

    def _maybe_fail(self, name: str) -> None:
        if name in self.errors:
            raise self.errors[name]

    async def search_contacts(
        self, query: str = "", page_limit: int = 50, search_after: Any = None
    ) -> ContactPage:
        self._maybe_fail("search_contacts")
        q = query.lower()
        found = [
            c
            for c in self.contacts
            if not q
            or q in c.display_name.lower()
            or (phones.digits(q) and phones.digits(q) in phones.digits(c.phone))
        ]
        start = int(search_after or 0)
        page = [
            c.model_copy(update={"search_after": start + i + 1})
            for i, c in enumerate(found[start : start + page_limit])
        ]
        return ContactPage(contacts=page, total=len(found))

    async def download(self, url: str) -> bytes:
        self._maybe_fail("download")
        return b""

    async def get_contact(self, contact_id: str) -> Contact:
        self._maybe_fail("get_contact")
        for c in self.contacts:
            if c.id == contact_id:
                return c
        raise LookupError(contact_id)

    async def create_contact(
        self, *, first_name: str, last_name: str = "", phone: str, **fields: Any
    ) -> Contact:
        self._maybe_fail("create_contact")
        self.created.append({"first_name": first_name, "last_name": last_name, "phone": phone})
        contact = make_contact(first_name=first_name, last_name=last_name, phone=phone)
        self.contacts.append(contact)
        return contact

    async def create_group(
        self,
        kind: str,
        from_number: str | None,
        contact_ids: Sequence[str] = (),
        user_ids: Sequence[str] = (),
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> Conversation:
        self._maybe_fail("create_group")
        self.created.append(
            {"kind": kind, "from": from_number, "contacts": list(contact_ids), "name": name}
        )
        chosen = [c for c in self.contacts if c.id in contact_ids]
        return make_conversation(
            contacts=chosen,
            from_number=from_number or "",
            name=name,
            kind=GroupKind(kind),
        )


class FakeSync:
    """The sync's actions, writing to the real store as the outbox would."""

    def __init__(
        self, store: Any, me: User | None = None, errors: dict[str, Exception] | None = None
    ):
        self.store, self.me = store, me
        self.errors = errors or {}
        self.sent: list[tuple[str, str]] = []
        self.read: list[str] = []
        self.older: dict[str, list[Message]] = {}
        self.connection_state = "connected"
        self.windows: list[Window] = []

    def window(self) -> Window:
        self.windows.append(Window())
        return self.windows[-1]

    def close_window(self, window: Window) -> None:
        self.windows.remove(window)

    def _maybe_fail(self, name: str) -> None:
        if name in self.errors:
            raise self.errors[name]

    async def refresh_conversations(self) -> None:
        self._maybe_fail("refresh_conversations")

    async def load_conversation(self, conversation_id: str) -> None:
        self._maybe_fail("load_conversation")

    async def load_older(self, conversation_id: str) -> bool:
        self._maybe_fail("load_older")
        page = self.older.pop(conversation_id, [])
        self.store.put_messages(conversation_id, page)
        return bool(page)

    async def mark_read(self, conversation_id: str) -> None:
        self.read.append(conversation_id)

    async def send(self, conversation_id: str, body: str, attachments: Sequence[Any] = ()) -> Any:
        self._maybe_fail("send")
        self.sent.append((conversation_id, body))
        local_id = f"local_{next(_seq)}"
        return self.store.add_outgoing(
            conversation_id, body, local_id=local_id, user_id=self.me.id if self.me else None
        )

    async def retry(self, local_id: str) -> None:
        self._maybe_fail("retry")

    async def discard(self, local_id: str) -> None:
        self._maybe_fail("discard")
        self.store.outbox_remove(local_id)


__all__ = ["FakeClient", "FakeSync", "make_message", "make_participant"]
