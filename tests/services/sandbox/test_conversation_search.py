"""The conversation list without a query: pages built alone still add up to the whole list."""

from __future__ import annotations

import pytest

from services.api import ApiClient

pytestmark = pytest.mark.anyio


async def test_small_pages_walk_the_same_list_as_one_big_page(admin: ApiClient) -> None:
    whole = await admin.search_conversations(limit=100)
    assert "Front desk team" in {c.name for c in whole.conversations}  # a teammates group
    seen: list[str] = []
    after: tuple[int | None, str | None] = (None, None)
    for _ in range(20):
        page = await admin.search_conversations(
            limit=2, start_after_date=after[0], start_after_id=after[1]
        )
        assert page.total == whole.total == len(whole.conversations)
        if not page.conversations:
            break
        seen += [c.id for c in page.conversations]
        last = page.conversations[-1]
        after = (last.last_message_date, last.id)
    assert seen == [c.id for c in whole.conversations]


async def test_unread_filter_counts_only_unread(admin: ApiClient) -> None:
    unread = await admin.search_conversations(limit=100, status="unread")
    read = await admin.search_conversations(limit=100, status="read")
    everyone = await admin.search_conversations(limit=100)
    assert unread.total and all(c.unread_count for c in unread.conversations)
    assert unread.total + read.total == everyone.total
