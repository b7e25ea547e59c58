"""The contract (shared/design/backend-contract.md), checked through the service layer's client.

Every endpoint, every group rule the server must refuse, idempotent retries,
the event stream resuming from a cursor, and the STOP story end to end.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.api import ApiClient
from services.api.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
    ValidationError,
)
from services.models import (
    Conversation,
    ConversationSummary,
    DndStatus,
    Event,
    EventType,
    GroupKind,
    MessageStatus,
    ParticipantTag,
)
from services.server import seed, seed_media
from services.server.embedded import EmbeddedTransport
from tests.services.server.conftest import BASE, collect_events

pytestmark = pytest.mark.anyio

cid = seed.contact_id
STAFF_GROUP = [cid("Chloe", "Martin"), cid("Marcus", "Johnson"), cid("Hannah", "Nguyen")]
OTHERS = [cid("Noah", "Williams"), cid("Olivia", "Brown"), cid("Liam", "Davis")]


async def by_name(client: ApiClient, name: str) -> ConversationSummary:
    page = await client.search_conversations(limit=100)
    return next(c for c in page.conversations if c.name == name)


# --- who, numbers, contacts --------------------------------------------------------------


async def test_me_tells_admin_from_staff(admin: ApiClient, staff: ApiClient) -> None:
    me = await admin.me()
    assert me.id == seed.ADMIN_ID and me.is_admin and me.location_id == seed.LOCATION
    them = await staff.me()
    assert them.id == seed.STAFF_ID and them.assigned_data_only


async def test_unknown_token_is_401(transport: EmbeddedTransport) -> None:
    async with ApiClient(BASE, "not-a-token", transport=transport) as stranger:
        with pytest.raises(AuthError):
            await stranger.me()


async def test_teammates_and_numbers(admin: ApiClient) -> None:
    users = await admin.teammates()
    assert {u.id for u in users} >= {seed.ADMIN_ID, seed.STAFF_ID, "usr_demo_jordan"}
    numbers = {n.phone_number: n for n in await admin.phone_numbers()}
    assert set(numbers) == {seed.STAFF_NUMBER, seed.ADMIN_NUMBER, seed.SMS_ONLY_NUMBER}
    assert numbers[seed.STAFF_NUMBER].linked_user == seed.STAFF_ID
    assert not numbers[seed.SMS_ONLY_NUMBER].is_group_conversation_enabled


async def test_contact_search_pages_through_everyone_once(admin: ApiClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = await admin.search_contacts(page_limit=7, search_after=after)
        assert page.total == len(seed.CONTACTS)
        if not page.contacts:
            break
        seen += [c.id for c in page.contacts]
        after = page.contacts[-1].search_after
    assert len(seen) == len(set(seen)) == len(seed.CONTACTS)


async def test_contact_search_matches_name_digits_and_email(admin: ApiClient) -> None:
    assert {c.id for c in (await admin.search_contacts("reyes")).contacts} == {
        cid("Tom", "Reyes"),
        cid("Linda", "Reyes"),
    }
    by_digits = await admin.search_contacts("(312) 555-0177")
    assert by_digits.total == 2
    by_email = await admin.search_contacts("chloe.martin@")
    assert [c.id for c in by_email.contacts] == [cid("Chloe", "Martin")]


async def test_staff_sees_only_assigned_contacts(staff: ApiClient) -> None:
    page = await staff.search_contacts(page_limit=100)
    assert page.total == len(page.contacts) > 0
    assert all(c.assigned_to == seed.STAFF_ID for c in page.contacts)
    with pytest.raises(NotFoundError):
        await staff.get_contact(cid("Noah", "Williams"))


async def test_edited_and_deleted_contacts_tag_participants_without_rerouting(
    admin: ApiClient,
) -> None:
    group = await admin.create_group(
        GroupKind.CONTACTS, seed.STAFF_NUMBER, contact_ids=STAFF_GROUP[:2] + OTHERS[:1]
    )
    old = {p.contact_id: p.phone for p in group.participants}
    updated = await admin.update_contact(STAFF_GROUP[0], phone="+1 415 555 0199")
    assert updated.phone == "+14155550199"
    await admin.delete_contact(STAFF_GROUP[1])
    with pytest.raises(NotFoundError):
        await admin.get_contact(STAFF_GROUP[1])
    after = await admin.get_conversation(group.id)
    rows = {p.contact_id: p for p in after.participants}
    assert rows[STAFF_GROUP[0]].tags == [ParticipantTag.UPDATED]
    assert rows[STAFF_GROUP[0]].current_phone == "+14155550199"
    assert rows[STAFF_GROUP[1]].tags == [ParticipantTag.DELETED]
    assert rows[STAFF_GROUP[1]].current_phone is None
    assert rows[OTHERS[0]].tags == []
    assert {k: p.phone for k, p in rows.items()} == old
    sent = await admin.send_message(group.id, "still routed to the snapshot")
    page = await admin.get_messages(group.id, limit=1)
    assert page.messages[0].id == sent.message_id
    assert {r.phone for r in page.messages[0].recipients} == set(old.values())


# --- conversations ---------------------------------------------------------------------------


async def test_conversation_search_pages_by_date_and_id(admin: ApiClient) -> None:
    everything = (await admin.search_conversations(limit=100)).conversations
    paged = [c async for c in admin.iter_conversations(page_size=2)]
    assert [c.id for c in paged] == [c.id for c in everything]
    dates = [c.last_message_date or 0 for c in everything]
    assert dates == sorted(dates, reverse=True)


async def test_conversation_search_by_message_text_and_unread(admin: ApiClient) -> None:
    hits = await admin.search_conversations(query="Jerseys")
    assert [c.name for c in hits.conversations] == ["Sunday league"]
    unread = await admin.search_conversations(status="unread")
    assert unread.conversations and all(c.unread_count for c in unread.conversations)


async def test_staff_sees_only_groups_of_their_contacts(admin: ApiClient, staff: ApiClient) -> None:
    mine = {c.name for c in (await staff.search_conversations(limit=100)).conversations}
    assert "Weekend crew" in mine and "Front desk team" in mine
    assert "Open house – 12 Bay St" not in mine
    hidden = await by_name(admin, "Open house – 12 Bay St")
    with pytest.raises(NotFoundError):
        await staff.get_conversation(hidden.id)


async def test_blocked_group_names_who(admin: ApiClient) -> None:
    league = await admin.get_conversation((await by_name(admin, "Sunday league")).id)
    assert league.blocked
    assert [p.contact_id for p in league.blocking_participants()] == [cid("Evan", "Brooks")]


async def test_mark_read(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    assert crew.unread_count > 0
    await admin.mark_read(crew.id)
    assert (await admin.get_conversation(crew.id)).unread_count == 0


async def test_messages_page_newest_first_without_overlap(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    first = await admin.get_messages(crew.id, limit=4)
    assert first.next_page and first.last_message_id == first.messages[-1].id
    rest = await admin.get_messages(crew.id, limit=100, last_message_id=first.last_message_id)
    ids = [m.id for m in first.messages + rest.messages]
    assert len(ids) == len(set(ids)) == 6 and not rest.next_page
    dates = [m.date_added for m in first.messages + rest.messages]
    assert dates == sorted(dates, reverse=True)


async def test_seeded_history_has_images_and_a_pdf(admin: ApiClient) -> None:
    house = await by_name(admin, "Open house – 12 Bay St")
    page = await admin.get_messages(house.id, limit=100)
    urls = [u for m in page.messages for u in m.attachments]
    assert any(u.endswith(".pdf") for u in urls) and any(u.endswith(".png") for u in urls)
    pdf = await admin.download(next(u for u in urls if u.endswith(".pdf")))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


# --- creating groups: the rules, server side ------------------------------------------------


async def test_create_group_snapshots_participants(admin: ApiClient) -> None:
    group = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=STAFF_GROUP, name="Porch painting"
    )
    assert group.name == "Porch painting" and group.kind is GroupKind.CONTACTS
    assert group.from_number == seed.STAFF_NUMBER and group.created_by == seed.ADMIN_ID
    assert [p.contact_id for p in group.participants] == STAFF_GROUP
    assert group.participants[0].phone == "+14155550111"
    assert group.participants[0].name == "Chloe Martin"
    assert (await admin.get_conversation(group.id)).participant_count == 3


async def test_teammates_group(admin: ApiClient) -> None:
    group = await admin.create_group(
        "teammates", seed.ADMIN_NUMBER, user_ids=[seed.STAFF_ID, "usr_demo_jordan"]
    )
    assert {p.user_id for p in group.participants} == {seed.STAFF_ID, "usr_demo_jordan"}
    with pytest.raises(ValidationError, match="no phone"):
        await admin.create_group(
            "teammates", seed.ADMIN_NUMBER, user_ids=[seed.STAFF_ID, "usr_demo_chris"]
        )


async def test_repeated_idempotency_key_creates_one_group(admin: ApiClient) -> None:
    before = (await admin.search_conversations(limit=100)).total
    first = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=STAFF_GROUP, idempotency_key="k-1"
    )
    again = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=STAFF_GROUP, idempotency_key="k-1"
    )
    assert again.id == first.id
    assert (await admin.search_conversations(limit=100)).total == before + 1


async def test_group_replay_answers_even_when_creation_would_now_be_refused(
    admin: ApiClient,
) -> None:
    first = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=OTHERS, idempotency_key="k-2"
    )
    await admin.update_contact(OTHERS[0], dnd_settings={"SMS": {"status": "active"}})
    again = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=OTHERS, idempotency_key="k-2"
    )
    assert again.id == first.id and not again.blocked  # the original answer
    with pytest.raises(ValidationError, match="Do Not Disturb"):
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=OTHERS)


async def test_ten_participants_is_422(admin: ApiClient) -> None:
    ten = [seed.contact_id(c[0], c[1]) for c in seed.CONTACTS[13:23]]
    with pytest.raises(ValidationError) as refused:
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=ten)
    assert any("at most 9" in m for m in refused.value.messages)


async def test_one_participant_is_422(admin: ApiClient) -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=OTHERS[:1])


@pytest.mark.parametrize(
    ("who", "words"),
    [
        (cid("Oliver", "Bennett"), "outside the US and Canada"),
        (cid("Evan", "Brooks"), "Do Not Disturb"),
        (cid("Megan", "Foster"), "Do Not Disturb"),
        (cid("Grace", "Kim"), "no phone number"),
    ],
)
async def test_a_contact_who_cannot_join_is_422(admin: ApiClient, who: str, words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=[*OTHERS, who])
    assert any(words in m for m in refused.value.messages), refused.value.messages


async def test_two_contacts_sharing_a_number_is_422(admin: ApiClient) -> None:
    pair = [cid("Tom", "Reyes"), cid("Linda", "Reyes")]
    with pytest.raises(ValidationError) as refused:
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=[*OTHERS[:1], *pair])
    assert any("share the number" in m for m in refused.value.messages)


async def test_422_lists_every_broken_rule(admin: ApiClient) -> None:
    bad = [cid("Oliver", "Bennett"), cid("Evan", "Brooks"), cid("Grace", "Kim")]
    with pytest.raises(ValidationError) as refused:
        await admin.create_group("contacts", seed.SMS_ONLY_NUMBER, contact_ids=bad)
    assert len(refused.value.messages) >= 4  # three contacts and the From number


async def test_sms_only_number_is_422(admin: ApiClient) -> None:
    with pytest.raises(ValidationError, match="can't send group texts"):
        await admin.create_group("contacts", seed.SMS_ONLY_NUMBER, contact_ids=OTHERS)


async def test_staff_naming_an_unassigned_contact_is_403(staff: ApiClient) -> None:
    with pytest.raises(ForbiddenError):
        await staff.create_group(
            "contacts", seed.STAFF_NUMBER, contact_ids=[*STAFF_GROUP[:2], OTHERS[0]]
        )


async def test_staff_using_a_number_they_cannot_use_is_403(staff: ApiClient) -> None:
    with pytest.raises(ForbiddenError):
        await staff.create_group("contacts", seed.ADMIN_NUMBER, contact_ids=STAFF_GROUP)


async def test_403_comes_before_422(staff: ApiClient) -> None:
    # Not theirs to use AND a UK number: the contract's precedence says 403.
    with pytest.raises(ForbiddenError):
        await staff.create_group(
            "contacts", seed.ADMIN_NUMBER, contact_ids=[STAFF_GROUP[0], cid("Oliver", "Bennett")]
        )


async def test_unknown_contact_is_404(admin: ApiClient) -> None:
    with pytest.raises(NotFoundError):
        await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=["ct_nobody", *OTHERS])


async def test_staff_creates_a_group_of_their_contacts(staff: ApiClient) -> None:
    group = await staff.create_group("contacts", seed.STAFF_NUMBER, contact_ids=STAFF_GROUP)
    assert group.created_by == seed.STAFF_ID
    assert group.id in {c.id for c in (await staff.search_conversations(limit=100)).conversations}


# --- sending -----------------------------------------------------------------------------------


async def test_send_and_replay_creates_one_message(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    first = await admin.send_message(crew.id, "See you at 9", client_message_id="cm-1")
    again = await admin.send_message(crew.id, "See you at 9", client_message_id="cm-1")
    assert again.message_id == first.message_id and first.status is MessageStatus.QUEUED
    page = await admin.get_messages(crew.id, limit=100)
    assert [m.client_message_id for m in page.messages].count("cm-1") == 1
    summary = await by_name(admin, "Weekend crew")
    assert summary.last_message_body == "See you at 9"


async def test_replay_answers_even_when_the_send_would_now_be_refused(admin: ApiClient) -> None:
    group = await admin.create_group("contacts", seed.STAFF_NUMBER, contact_ids=OTHERS)
    first = await admin.send_message(group.id, "hello", client_message_id="cm-replay")
    await admin.update_contact(OTHERS[0], dnd_settings={"SMS": {"status": "active"}})
    with pytest.raises(ConflictError):
        await admin.send_message(group.id, "new one")
    again = await admin.send_message(group.id, "hello", client_message_id="cm-replay")
    assert again.message_id == first.message_id


async def test_blocked_group_send_is_409_naming_who(admin: ApiClient) -> None:
    league = await by_name(admin, "Sunday league")
    with pytest.raises(ConflictError) as refused:
        await admin.send_message(league.id, "anyone there?")
    assert "Evan Brooks" in refused.value.user_message


async def test_send_without_access_to_the_from_number_is_403(staff: ApiClient) -> None:
    team = await by_name(staff, "Front desk team")  # sends from the admin's number
    with pytest.raises(ForbiddenError):
        await staff.send_message(team.id, "hi team")


async def test_empty_message_is_422(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    with pytest.raises(ValidationError):
        await admin.send_message(crew.id, "   ")


async def test_more_than_ten_attachments_is_413(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    url = await admin.upload(crew.id, "note.txt", b"hello", "text/plain")
    with pytest.raises(TooLargeError):
        await admin.send_message(crew.id, "files", attachments=[url] * 11)


async def test_upload_send_and_download(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    pdf = seed_media.flyer_pdf("Agenda")
    url = await admin.upload(crew.id, "agenda.pdf", pdf, "application/pdf")
    assert url.startswith(BASE) and url.endswith("/agenda.pdf")
    sent = await admin.send_message(crew.id, "", attachments=[url])
    page = await admin.get_messages(crew.id, limit=1)
    assert page.messages[0].id == sent.message_id and page.messages[0].attachments == [url]
    assert await admin.download(url) == pdf


async def test_one_to_one_by_contact(admin: ApiClient) -> None:
    sent = await admin.send_message("", "Hi Noah", contact_id=OTHERS[0])
    conversation = await admin.get_conversation(sent.conversation_id)
    assert conversation.contact_id == OTHERS[0] and conversation.participant_count == 1


# --- the carrier and the event stream ----------------------------------------------------------


def delivered(message_id: str, recipients: int) -> Callable[[list[Event]], bool]:
    def check(events: list[Event]) -> bool:
        done = {
            e.data.get("participantId")
            for e in events
            if e.type is EventType.MESSAGE_STATUS_UPDATED
            and e.data.get("messageId") == message_id
            and e.data.get("status") in ("delivered", "undelivered", "failed")
        }
        return len(done) == recipients

    return check


async def test_each_recipient_goes_queued_sent_delivered(admin: ApiClient) -> None:
    crew = await admin.get_conversation((await by_name(admin, "Weekend crew")).id)
    start = (await admin.events(wait=0)).cursor
    assert start is not None
    sent = await admin.send_message(crew.id, "status check")
    events, _ = await collect_events(
        admin,
        start,
        delivered(sent.message_id, len(crew.participants)),
    )
    steps: dict[str, list[str]] = {}
    for e in events:
        if e.type is EventType.MESSAGE_STATUS_UPDATED:
            steps.setdefault(e.data["participantId"], []).append(e.data["status"])
    assert all(s == ["sent", "delivered"] for s in steps.values()) and len(steps) == 4
    # Each step names itself and the message's status after it, not the whole message again.
    statuses = [e.data for e in events if e.type is EventType.MESSAGE_STATUS_UPDATED]
    assert {tuple(sorted(d)) for d in statuses} == {
        ("conversationId", "error", "message", "messageId", "participantId", "status")
    }
    assert all(d["message"].keys() == {"id", "status"} for d in statuses)
    assert [d["message"]["status"] for d in statuses][-1] == "delivered"
    message = (await admin.get_messages(crew.id, limit=1)).messages[0]
    assert message.status is MessageStatus.DELIVERED
    assert {r.status for r in message.recipients} == {MessageStatus.DELIVERED}
    assert events[0].type is EventType.MESSAGE_CREATED


async def test_media_over_the_carrier_limit_is_undelivered(admin: ApiClient) -> None:
    await admin.sandbox_carrier(max_mms_bytes=100)
    crew = await by_name(admin, "Weekend crew")
    url = await admin.upload(crew.id, "plan.png", seed_media.floor_plan_png(), "image/png")
    start = (await admin.events(wait=0)).cursor or "0"
    sent = await admin.send_message(crew.id, "", attachments=[url])
    await collect_events(admin, start, delivered(sent.message_id, 4))
    message = (await admin.get_messages(crew.id, limit=1)).messages[0]
    assert message.status is MessageStatus.UNDELIVERED
    assert all(r.error and "limit" in r.error for r in message.recipients)


async def test_fail_rate_one_fails_every_recipient(admin: ApiClient) -> None:
    settings = await admin.sandbox_carrier(fail_rate=1.0)
    assert settings["carrier"]["failRate"] == 1.0
    crew = await by_name(admin, "Weekend crew")
    start = (await admin.events(wait=0)).cursor or "0"
    sent = await admin.send_message(crew.id, "doomed")
    await collect_events(admin, start, delivered(sent.message_id, 4))
    message = (await admin.get_messages(crew.id, limit=1)).messages[0]
    assert message.status is MessageStatus.FAILED


async def test_events_resume_from_any_cursor_without_gaps_or_repeats(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    start = (await admin.events(wait=0)).cursor or "0"
    for n in range(3):
        sent = await admin.send_message(crew.id, f"burst {n}")
    all_at_once, end = await collect_events(
        admin,
        start,
        delivered(sent.message_id, 4),
    )
    # Read the same stretch again in small steps, resuming from each answer's cursor.
    pieces: list[Event] = []
    cursor = start
    while len(pieces) < len(all_at_once):
        batch = await admin.events(after=cursor, wait=0)
        pieces += batch.events[:2]
        cursor = batch.events[1].id if len(batch.events) > 1 else (batch.cursor or cursor)
    ids = [e.id for e in pieces[: len(all_at_once)]]
    assert ids == [e.id for e in all_at_once] and len(set(ids)) == len(ids)
    assert [e.id for e in (await admin.events(after=end, wait=0)).events] == []


async def test_events_from_the_beginning_and_from_now(admin: ApiClient) -> None:
    crew = await by_name(admin, "Weekend crew")
    await admin.mark_read(crew.id)
    everything = await admin.events(after="0", wait=0)
    assert any(e.type is EventType.CONVERSATION_UPDATED for e in everything.events)
    now = await admin.events(wait=0)
    assert now.events == [] and now.cursor == everything.cursor


async def test_staff_events_skip_what_they_cannot_see(admin: ApiClient, staff: ApiClient) -> None:
    start = (await staff.events(wait=0)).cursor or "0"
    house = await by_name(admin, "Open house – 12 Bay St")
    await admin.mark_read(house.id)
    crew = await by_name(admin, "Weekend crew")
    await admin.mark_read(crew.id)
    batch = await staff.events(after=start, wait=0)
    assert {e.data["conversationId"] for e in batch.events} == {crew.id}


# --- the STOP story ---------------------------------------------------------------------------


async def test_stop_blocks_and_start_unblocks(admin: ApiClient) -> None:
    group: Conversation = await admin.create_group(
        "contacts", seed.STAFF_NUMBER, contact_ids=OTHERS, name="Board"
    )
    await admin.send_message(group.id, "Meeting moved to 6pm")
    olivia = next(p for p in group.participants if p.contact_id == OTHERS[1])
    others = [p.phone for p in group.participants if p is not olivia]
    start = (await admin.events(wait=0)).cursor or "0"

    await admin.sandbox_inbound(olivia.phone, [seed.STAFF_NUMBER, *others], " stop ")
    blocked = await admin.get_conversation(group.id)
    assert blocked.blocked and blocked.blocked_by == [olivia.id]
    assert (await admin.get_contact(OTHERS[1])).dnd_status is DndStatus.ACTIVE
    with pytest.raises(ConflictError) as refused:
        await admin.send_message(group.id, "are you coming?")
    assert "Olivia Brown" in refused.value.user_message
    events, _ = await collect_events(
        admin,
        start,
        lambda es: (
            any(e.type is EventType.CONTACT_DND_UPDATE for e in es)
            and any(e.type is EventType.CONVERSATION_UPDATED and e.data.get("blocked") for e in es)
        ),
    )
    assert any(e.type is EventType.MESSAGE_CREATED for e in events)  # the STOP itself

    await admin.sandbox_inbound(olivia.phone, [seed.STAFF_NUMBER, *others], "START")
    assert not (await admin.get_conversation(group.id)).blocked
    await admin.send_message(group.id, "welcome back")


async def test_start_does_not_lift_permanent_dnd(admin: ApiClient) -> None:
    megan = await admin.get_contact(cid("Megan", "Foster"))
    assert megan.phone is not None
    await admin.sandbox_inbound(megan.phone, [seed.STAFF_NUMBER], "START")
    assert (await admin.get_contact(megan.id)).dnd_status is DndStatus.PERMANENT


async def test_inbound_routes_by_the_set_of_numbers(admin: ApiClient) -> None:
    crew = await admin.get_conversation((await by_name(admin, "Weekend crew")).id)
    sender, *rest = crew.participants
    answer = await admin.sandbox_inbound(
        sender.phone, [*(p.phone for p in reversed(rest)), seed.STAFF_NUMBER], "On my way"
    )
    assert answer["conversationId"] == crew.id
    latest = (await admin.get_messages(crew.id, limit=1)).messages[0]
    assert latest.participant_id == sender.id and latest.body == "On my way"
    with pytest.raises(NotFoundError):
        await admin.sandbox_inbound(sender.phone, [seed.STAFF_NUMBER, rest[0].phone], "hi")


async def test_inbound_from_a_stranger_makes_a_contact_and_conversation(admin: ApiClient) -> None:
    answer = await admin.sandbox_inbound("+1 (206) 555-0188", [seed.STAFF_NUMBER], "Hello?")
    conversation = await admin.get_conversation(answer["conversationId"])
    assert conversation.contact_id is not None and conversation.unread_count == 1
    contact = await admin.get_contact(conversation.contact_id)
    assert contact.phone == "+12065550188"


# --- new contacts ----------------------------------------------------------------------------


async def test_a_new_contact_is_searchable_and_can_join_a_group(admin: ApiClient) -> None:
    made = await admin.create_contact(first_name="Rosa", last_name="Diaz", phone="(415) 555-0188")
    assert made.phone == "+14155550188" and made.assigned_to is None
    found = await admin.search_contacts("0188")
    assert [c.id for c in found.contacts] == [made.id]
    group = await admin.create_group(
        GroupKind.CONTACTS, seed.STAFF_NUMBER, contact_ids=[made.id, *OTHERS[:1]]
    )
    assert "Rosa Diaz" in [p.name for p in group.participants]


async def test_staff_make_contacts_assigned_to_themselves(staff: ApiClient) -> None:
    made = await staff.create_contact(first_name="Kai", phone="+1 604 555 0177")
    assert made.assigned_to == seed.STAFF_ID
    assert (await staff.get_contact(made.id)).id == made.id


async def test_a_number_already_a_contact_is_409(admin: ApiClient) -> None:
    with pytest.raises(ConflictError, match="already a contact"):
        await admin.create_contact(first_name="Again", phone="+14155550111")


async def test_a_number_that_is_not_one_is_422(admin: ApiClient) -> None:
    with pytest.raises(ValidationError):
        await admin.create_contact(first_name="Nope", phone="12")


async def test_a_number_that_opted_out_keeps_its_dnd_when_added_again(admin: ApiClient) -> None:
    evan = seed.contact_id("Evan", "Brooks")  # replied STOP in "Sunday league"
    old = await admin.get_contact(evan)
    await admin.delete_contact(evan)
    again = await admin.create_contact(first_name="Evan", last_name="B", phone=old.phone or "")
    assert again.dnd_status is DndStatus.ACTIVE
