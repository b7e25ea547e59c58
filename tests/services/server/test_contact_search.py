"""Contact search answers from an index that follows every change to the contacts."""

from __future__ import annotations

import pytest

from services.api import ApiClient
from services.server import contact_search, seed
from services.server.embedded import EmbeddedTransport

pytestmark = pytest.mark.anyio

cid = seed.contact_id


async def ids(client: ApiClient, query: str) -> list[str]:
    return [c.id for c in (await client.search_contacts(query, page_limit=100)).contacts]


async def test_a_renamed_contact_is_found_by_the_new_name_at_once(admin: ApiClient) -> None:
    chloe = cid("Chloe", "Martin")
    assert await ids(admin, "zelda") == []  # the index now exists
    await admin.update_contact(chloe, first_name="Zelda")
    assert await ids(admin, "zelda mar") == [chloe]


async def test_a_deleted_contact_leaves_the_answers(admin: ApiClient) -> None:
    noah = cid("Noah", "Williams")
    before = await admin.search_contacts("")
    assert noah in await ids(admin, "noah")
    await admin.delete_contact(noah)
    assert noah not in await ids(admin, "noah")
    assert (await admin.search_contacts("")).total == before.total - 1


async def test_a_stranger_texting_in_becomes_searchable_by_number(admin: ApiClient) -> None:
    assert await ids(admin, "(415) 555-0142") == []
    await admin.sandbox_inbound("+14155550142", [seed.STAFF_NUMBER], "Hi, is this the studio?")
    assert len(await ids(admin, "415.555.0142")) == 1


async def test_words_match_the_start_of_names_and_numbers_any_format(admin: ApiClient) -> None:
    assert set(await ids(admin, "rey")) == {cid("Tom", "Reyes"), cid("Linda", "Reyes")}
    assert await ids(admin, "linda re") == [cid("Linda", "Reyes")]
    assert len(await ids(admin, "312.555.01")) >= 2


async def test_staff_search_counts_only_their_contacts(admin: ApiClient, staff: ApiClient) -> None:
    everyone = await admin.search_contacts("", page_limit=100)
    theirs = await staff.search_contacts("", page_limit=100)
    assigned = [c.id for c in everyone.contacts if c.assigned_to == seed.STAFF_ID]
    assert [c.id for c in theirs.contacts] == assigned
    assert theirs.total == len(assigned) < everyone.total


async def test_the_index_reads_the_contacts_a_chunk_at_a_time(
    admin: ApiClient, transport: EmbeddedTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading all rows at once held ~20 MB of rows beside the index being built.
    whole = await admin.search_contacts("", page_limit=100)
    transport.server.contact_search.invalidate()
    monkeypatch.setattr(contact_search, "_CHUNK", 3)
    chunked = await admin.search_contacts("", page_limit=100)
    assert [c.id for c in chunked.contacts] == [c.id for c in whole.contacts]
    assert chunked.total == whole.total > 3 * contact_search._CHUNK
