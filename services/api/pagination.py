"""Async iterators over the contract's three paging styles.

- conversations: the last row's ``lastMessageDate`` as ``startAfterDate``, its id as
  ``startAfterId`` (the tiebreak for equal dates);
- messages: the page's ``lastMessageId`` (its oldest message) while ``nextPage``;
- contacts: the last contact's opaque ``searchAfter``.

Each stops on a short or empty page, and also when a server hands back the same
cursor twice, so a misbehaving backend cannot make a caller loop forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from services.models import Contact, ConversationSummary, Message

if TYPE_CHECKING:
    from services.api.client import ApiClient


async def iter_conversations(
    api: ApiClient, query: str | None, status: str, page_size: int
) -> AsyncIterator[ConversationSummary]:
    cursor: tuple[int | None, str | None] = (None, None)
    while True:
        page = await api.search_conversations(
            limit=page_size,
            start_after_date=cursor[0],
            start_after_id=cursor[1],
            query=query,
            status=status,
        )
        for row in page.conversations:
            yield row
        if len(page.conversations) < page_size:
            return
        last = page.conversations[-1]
        following = (last.last_message_date, last.id)
        if following == cursor or last.last_message_date is None:
            return
        cursor = following


async def iter_messages(
    api: ApiClient, conversation_id: str, page_size: int
) -> AsyncIterator[Message]:
    before: str | None = None
    while True:
        page = await api.get_messages(conversation_id, limit=page_size, last_message_id=before)
        for message in page.messages:
            yield message
        if not page.next_page or not page.messages or page.last_message_id in (None, before):
            return
        before = page.last_message_id


async def iter_contacts(api: ApiClient, query: str, page_limit: int) -> AsyncIterator[Contact]:
    search_after: Any = None
    while True:
        page = await api.search_contacts(query, page_limit=page_limit, search_after=search_after)
        for contact in page.contacts:
            yield contact
        if len(page.contacts) < page_limit:
            return
        following = page.contacts[-1].search_after
        if following is None or following == search_after:
            return
        search_after = following
