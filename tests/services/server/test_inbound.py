"""Inbound texts: routing by the set of numbers, and the opt-out keywords."""

from __future__ import annotations

import pytest

from services.api import ApiClient
from services.api.errors import ValidationError
from services.models import DndStatus
from services.server import seed, seed_media
from services.server.optouts import keyword

pytestmark = pytest.mark.anyio

cid = seed.contact_id
TRIO = [cid("Noah", "Williams"), cid("Olivia", "Brown"), cid("Liam", "Davis")]


@pytest.mark.parametrize(
    ("body", "word"),
    [("stop", "STOP"), ("  Stop. ", "STOP"), ("opt   out", "OPT OUT"), ("Start!", "START")],
)
def test_keywords_are_trimmed_and_case_insensitive(body: str, word: str) -> None:
    assert keyword(body) == word


async def test_the_most_recently_active_of_identical_groups_gets_it(admin: ApiClient) -> None:
    older = await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=TRIO, name="A")
    newer = await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=TRIO, name="B")
    await admin.send_message(older.id, "bump A")  # now A is the most recent
    phones = [p.phone for p in older.participants]
    answer = await admin.sandbox_inbound(phones[0], [seed.STAFF_NUMBER, *phones[1:]], "which?")
    assert answer["conversationId"] == older.id != newer.id


async def test_same_people_on_another_business_number_is_another_thread(admin: ApiClient) -> None:
    group = await admin.create_group("contacts", seed.ADMIN_NUMBER, contact_ids=TRIO)
    phones = [p.phone for p in group.participants]
    answer = await admin.sandbox_inbound(phones[1], [seed.ADMIN_NUMBER, phones[0], phones[2]], "x")
    assert answer["conversationId"] == group.id


async def test_to_must_name_one_business_number(admin: ApiClient) -> None:
    with pytest.raises(ValidationError):
        await admin.sandbox_inbound("+14155550120", ["+12125550121"], "hello")


async def test_inbound_media_and_unread(admin: ApiClient) -> None:
    group = await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=TRIO)
    phones = [p.phone for p in group.participants]
    url = await admin.upload(group.id, "pic.png", seed_media.floor_plan_png(), "image/png")
    await admin.sandbox_inbound(phones[2], [seed.STAFF_NUMBER, *phones[:2]], "look", [url])
    latest = (await admin.get_messages(group.id, limit=1)).messages[0]
    assert latest.attachments == [url] and latest.from_ == phones[2]
    assert (await admin.get_conversation(group.id)).unread_count == 1


async def test_stop_from_a_shared_number_blocks_both_contacts(admin: ApiClient) -> None:
    await admin.sandbox_inbound("+13125550177", [seed.STAFF_NUMBER], "UNSUBSCRIBE")
    for who in (cid("Tom", "Reyes"), cid("Linda", "Reyes")):
        assert (await admin.get_contact(who)).dnd_status is DndStatus.ACTIVE


async def test_stop_reaches_a_contact_through_their_routing_number(admin: ApiClient) -> None:
    group = await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=TRIO)
    old_phone = group.participants[0].phone
    await admin.update_contact(TRIO[0], phone="+14155550198")
    others = [p.phone for p in group.participants[1:]]
    await admin.sandbox_inbound(old_phone, [seed.STAFF_NUMBER, *others], "STOP")
    assert (await admin.get_contact(TRIO[0])).dnd_status is DndStatus.ACTIVE
    assert (await admin.get_conversation(group.id)).blocked


async def test_other_words_change_nothing(admin: ApiClient) -> None:
    await admin.sandbox_inbound("+14155550120", [seed.STAFF_NUMBER], "please stop by at noon")
    assert (await admin.get_contact(TRIO[0])).dnd_status is DndStatus.INACTIVE


async def test_an_empty_inbound_text_is_422(admin: ApiClient) -> None:
    with pytest.raises(ValidationError):
        await admin.sandbox_inbound("+14155550120", [seed.STAFF_NUMBER], "   ")
