"""The conversation list without a query: pages built alone still add up to the whole list."""

from __future__ import annotations

import contextlib

import pytest

from services import rules
from services.api import ApiClient
from services.api.errors import NotFoundError
from services.server import seed

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


async def test_staff_list_is_exactly_what_the_rules_let_them_see(
    admin: ApiClient, staff: ApiClient
) -> None:
    # The staff list skips conversations with someone else's contact before the full
    # check; that shortcut must agree with rules.can_view_conversation everywhere.
    await admin.update_contact(seed.contact_id("Chloe", "Martin"), assigned_to=seed.ADMIN_ID)
    me = await staff.me()
    expected = []
    for summary in (await admin.search_conversations(limit=100)).conversations:
        conv = await admin.get_conversation(summary.id)
        ids = {p.contact_id for p in conv.participants if p.contact_id}
        if conv.contact_id:
            ids.add(conv.contact_id)
        contacts = {}
        for contact_id in ids:
            with contextlib.suppress(NotFoundError):
                contacts[contact_id] = await admin.get_contact(contact_id)
        if rules.can_view_conversation(conv, me, contacts):
            expected.append(conv.id)
    assert expected  # some are visible, some hidden: the comparison means something
    seen = await staff.search_conversations(limit=100)
    assert [c.id for c in seen.conversations] == expected
    assert seen.total == len(expected)
