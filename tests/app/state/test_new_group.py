"""The wizard explains every refusal before the server sees the request."""

from __future__ import annotations

import pytest

from app.state.new_group import NO_FROM_NUMBERS, NewGroupVM
from services.api.errors import ValidationError
from services.models import GroupKind, GroupLimits
from services.store import Store
from tests.app.fakes import FakeClient
from tests.factories import make_admin, make_contact, make_contacts, make_number, make_user


def wizard(contacts, me=None, numbers=None, teammates=(), client=None):
    me = me or make_admin(id="admin")
    numbers = numbers if numbers is not None else [make_number("+14155550100")]
    return NewGroupVM(
        client=client or FakeClient(contacts),
        store=Store(":memory:"),
        me=me,
        numbers=numbers,
        teammates=teammates,
    )


@pytest.mark.anyio
async def test_counter_is_red_until_two_and_create_enabled_only_when_all_rules_hold():
    people = make_contacts(3)
    vm = wizard(people)
    await vm.search()
    assert vm.counter == "0 of 2–9 selected" and not vm.counter_ok
    assert not vm.can_create
    assert any("at least 2" in r for r in vm.reasons)
    vm.toggle(people[0].id)
    assert not vm.counter_ok and not vm.can_create
    vm.toggle(people[1].id)
    assert vm.counter == "2 of 2–9 selected" and vm.counter_ok
    assert vm.can_create and vm.reasons == []


@pytest.mark.anyio
async def test_a_tenth_participant_is_refused_with_the_reason():
    people = make_contacts(10)
    vm = wizard(people)
    await vm.search()
    for c in people[:9]:
        assert vm.toggle(c.id)
    assert vm.count == 9 and vm.can_create
    assert not vm.toggle(people[9].id)
    assert vm.notice == "A group can have at most 9 people."
    assert vm.count == 9


TELNYX = GroupLimits(
    max_participants=8,
    max_media_bytes=999_999,
    why="Telnyx delivers a group MMS to at most 8 people besides the business number.",
)


@pytest.mark.anyio
async def test_on_telnyx_the_wizard_says_at_most_8_and_why():
    people = make_contacts(9)
    vm = wizard(people, numbers=[make_number("+14155550100", group_limits=TELNYX)])
    await vm.search()
    assert vm.counter == "0 of 2–8 selected"
    for c in people[:8]:
        assert vm.toggle(c.id)
    assert vm.can_create
    assert not vm.toggle(people[8].id)
    assert vm.notice == (
        "A group can have at most 8 people. Telnyx delivers a group MMS to at most 8 people "
        "besides the business number."
    )
    vm.add_unchecked(people[8])
    assert not vm.can_create and any("Telnyx" in r for r in vm.reasons)


@pytest.mark.anyio
async def test_ten_selected_by_prefill_turn_the_counter_red_and_say_why():
    people = make_contacts(10)
    vm = wizard(people)
    for c in people:
        vm.add_unchecked(c)
    assert not vm.counter_ok and not vm.can_create
    assert any("at most 9" in r for r in vm.reasons)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"dnd": "active"}, "Do Not Disturb"),
        ({"dnd": "permanent"}, "Do Not Disturb"),
        ({"phone": None}, "No phone number"),
        ({"phone": "+447911123456"}, "outside"),
        ({"phone": "12"}, "valid"),
    ],
)
async def test_contacts_that_cannot_join_are_shown_disabled_with_the_reason(fields, reason):
    bad = make_contact(first_name="Pat", **fields)
    vm = wizard([bad, *make_contacts(2)])
    await vm.search()
    row = next(r for r in vm.rows() if r.id == bad.id)
    assert row.disabled
    assert reason.lower() in (row.reason or "").lower()
    assert not vm.toggle(bad.id)
    assert vm.notice and "Pat" in vm.notice
    assert vm.count == 0


@pytest.mark.anyio
async def test_uk_number_reason_names_us_and_canada():
    uk = make_contact(first_name="Olivia", phone="+447911123456")
    vm = wizard([uk])
    await vm.search()
    (row,) = vm.rows()
    assert "US/Canada" in (row.reason or "") or "US and Canada" in (row.reason or "")


@pytest.mark.anyio
async def test_two_contacts_sharing_a_number_are_refused_as_duplicate():
    a = make_contact(first_name="Ann", phone="+14155551234")
    b = make_contact(first_name="Bob", phone="(415) 555-1234")
    vm = wizard([a, b, make_contact()])
    await vm.search()
    assert vm.toggle(a.id)
    assert not vm.toggle(b.id)
    assert vm.notice and "share the number" in vm.notice
    vm.add_unchecked(b)  # e.g. prefilled: the rule still shows and blocks Create
    assert any("share the number" in r for r in vm.reasons)
    assert not vm.can_create


@pytest.mark.anyio
async def test_staff_see_only_assigned_contacts_absent_not_disabled():
    staff = make_user(id="staff", assigned_data_only=True)
    mine = make_contacts(2, assigned_to="staff")
    theirs = make_contacts(3, assigned_to="someone_else")
    vm = wizard([*mine, *theirs], me=staff, numbers=[make_number(linked_user="staff")])
    await vm.search()
    assert {r.id for r in vm.rows()} == {c.id for c in mine}


def test_from_numbers_are_filtered_to_usable_group_capable_ones():
    staff = make_user(id="staff", assigned_data_only=True)
    numbers = [
        make_number("+14155550100", linked_user="staff"),
        make_number("+14155550101", linked_user="other"),  # no access
        make_number("+14155550102", linked_user="staff", mms=False),  # SMS only
        make_number("+14155550103", linked_user="staff", group=False),  # not group-enabled
        make_number("+18005550104", linked_user="staff"),  # toll-free
    ]
    vm = wizard([], me=staff, numbers=numbers)
    assert [o.number for o in vm.from_options] == ["+14155550100"]
    assert vm.from_number == "+14155550100"  # the only choice is preselected
    assert vm.from_empty_state is None


def test_no_usable_from_number_shows_a_clear_empty_state_and_create_stays_disabled():
    staff = make_user(id="staff")
    vm = wizard([], me=staff, numbers=[make_number(linked_user="other")])
    assert vm.from_options == []
    assert vm.from_empty_state == NO_FROM_NUMBERS
    assert "Choose a number to send from." in vm.reasons


@pytest.mark.anyio
async def test_admin_with_several_numbers_must_choose_one():
    people = make_contacts(2)
    vm = wizard(people, numbers=[make_number("+14155550100"), make_number("+14155550101")])
    await vm.search()
    for c in people:
        vm.toggle(c.id)
    assert vm.from_number is None and not vm.can_create
    vm.set_from("+14155550101")
    assert vm.can_create


@pytest.mark.anyio
async def test_create_sends_the_choices_and_caches_the_new_group():
    people = make_contacts(3)
    vm = wizard(people)
    await vm.search()
    for c in people:
        vm.toggle(c.id)
    vm.set_name("  Smith family ")
    cid = await vm.create()
    assert cid is not None
    assert vm.client.created == [
        {
            "kind": "contacts",
            "from": "+14155550100",
            "contacts": [c.id for c in people],
            "name": "Smith family",
        }
    ]
    assert vm.store.conversation(cid).name == "Smith family"


@pytest.mark.anyio
async def test_a_server_refusal_is_said_in_a_sentence():
    people = make_contacts(2)
    err = ValidationError("422", messages=["Pat has Do Not Disturb on."])
    vm = wizard(people, client=FakeClient(people, errors={"create_group": err}))
    said = []
    vm.listen(lambda what, payload: said.append((what, payload)))
    await vm.search()
    for c in people:
        vm.toggle(c.id)
    assert await vm.create() is None
    assert vm.error and vm.error == err.user_message
    assert ("error", vm.error) in said


@pytest.mark.anyio
async def test_search_failure_is_said_not_swallowed():
    from services.api.errors import NetworkError

    vm = wizard([], client=FakeClient([], errors={"search_contacts": NetworkError("down")}))
    await vm.search("ann")
    assert vm.error == NetworkError("down").user_message


@pytest.mark.anyio
async def test_teammates_group_uses_teammates_and_their_phone_rules():
    me = make_admin(id="admin")
    mates = [make_user(name="Tia"), make_user(name="Ugo"), make_user(name="Vic", phone=None)]
    vm = wizard([], me=me, teammates=[me, *mates])
    vm.set_kind(GroupKind.TEAMMATES)
    await vm.search()
    rows = {r.name: r for r in vm.rows()}
    assert set(rows) == {"Tia", "Ugo", "Vic"}  # not the user themself
    assert rows["Vic"].disabled and rows["Vic"].reason == "No phone number"
    vm.toggle(mates[0].id)
    vm.toggle(mates[1].id)
    assert vm.can_create


@pytest.mark.anyio
async def test_search_by_number_fragment_finds_the_contact():
    target = make_contact(first_name="Zed", phone="+14155559876")
    vm = wizard([target, *make_contacts(5)])
    await vm.search("9876")
    assert [r.name for r in vm.rows()] == [target.display_name]


@pytest.mark.anyio
async def test_prefill_leaves_out_participants_who_cannot_rejoin_and_says_so():
    ok = make_contacts(2)
    dnd = make_contact(dnd="active")
    vm = wizard([*ok, dnd])
    await vm.prefill(GroupKind.CONTACTS, "+14155550100", [c.id for c in ok] + [dnd.id, "gone"])
    assert [c for _, c in vm.chips] == [c.display_name for c in ok]
    assert vm.notice and vm.notice.startswith("2 participant(s)")
    assert vm.can_create


@pytest.mark.anyio
async def test_unselecting_a_chip_updates_the_counter():
    people = make_contacts(3)
    vm = wizard(people)
    await vm.search()
    for c in people:
        vm.toggle(c.id)
    vm.toggle(people[1].id)
    assert vm.count == 2 and [i for i, _ in vm.chips] == [people[0].id, people[2].id]


# --- a new contact from a typed number ----------------------------------------------------------


@pytest.mark.anyio
async def test_a_whole_us_number_no_one_has_is_offered_as_a_new_contact_and_chosen():
    client = FakeClient(make_contacts(2))
    vm = wizard([], client=client)
    await vm.search("(415) 555-0188")
    assert vm.new_contact_offer == "Add (415) 555-0188 as a new contact"
    assert await vm.add_new_contact("Rosa", "Diaz")
    assert [c.display_name for c in vm.selected_contacts] == ["Rosa Diaz"]
    assert client.created[-1]["phone"] == "+14155550188"


@pytest.mark.anyio
@pytest.mark.parametrize("typed", ["0188", "+44 7911 123456", "Rosa", "(800) 555-0199"])
async def test_fragments_names_and_numbers_that_cannot_join_are_not_offered(typed):
    vm = wizard(make_contacts(2))
    await vm.search(typed)
    assert vm.new_contact_offer is None


@pytest.mark.anyio
async def test_a_number_a_shown_contact_has_is_not_offered_again():
    known = make_contact(first_name="Ann", phone="+14155550188")
    vm = wizard([known])
    await vm.search("415 555 0188")
    assert vm.new_contact_offer is None


@pytest.mark.anyio
async def test_a_new_contact_needs_a_name():
    vm = wizard([])
    await vm.search("4155550188")
    assert not await vm.add_new_contact("  ")
    assert vm.notice == "Give the new contact a name."


class _SlowFirstSearch(FakeClient):
    """The first search answers only when told to: after the searches typed later."""

    def __init__(self, contacts):
        super().__init__(contacts)
        import asyncio

        self.release = asyncio.Event()
        self.calls = 0

    async def search_contacts(self, query="", page_limit=50, search_after=None):
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
        return await super().search_contacts(query, page_limit, search_after)


@pytest.mark.anyio
async def test_a_slow_answer_to_an_earlier_keystroke_never_replaces_the_newest_one():
    import asyncio

    people = [make_contact(id="c1", first_name="Pat", last_name="Rivera")] + [
        make_contact(id=f"p{i}", first_name="Pam", last_name=f"Lee{i}") for i in range(3)
    ]
    client = _SlowFirstSearch(people)
    vm = wizard(people, client=client)
    first = asyncio.create_task(vm.search("pa"))  # matches all four, answers last
    await asyncio.sleep(0)
    await vm.search("pat")
    assert [c.id for c in vm.contacts] == ["c1"]
    client.release.set()
    await first
    assert [c.id for c in vm.contacts] == ["c1"], "the older answer was dropped"
    assert vm.query == "pat"
