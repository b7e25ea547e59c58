"""Chat Participants: search by name or number fragment, routing number, tags."""

from __future__ import annotations

from app.state.participants import IMMUTABLE_NOTE, ParticipantsVM
from services.models import ParticipantTag
from tests.factories import make_contact, make_conversation


def conv():
    people = [
        make_contact(first_name="Hannah", last_name="Nguyen", phone="+16045550113"),
        make_contact(first_name="Marcus", last_name="Johnson", phone="+14155550112"),
        make_contact(first_name="Chloe", last_name="Martin", phone="+14155550111"),
    ]
    c = make_conversation(contacts=people)
    p = c.participants
    return c.model_copy(
        update={
            "participants": [
                p[0].model_copy(
                    update={"tags": [ParticipantTag.UPDATED], "current_phone": "+16045550199"}
                ),
                p[1].model_copy(
                    update={"tags": [ParticipantTag.DELETED], "current_phone": None, "dnd": True}
                ),
                p[2],
            ]
        }
    )


def test_find_a_participant_by_a_fragment_of_their_number():
    vm = ParticipantsVM(conv())
    vm.set_query("0113")
    assert len(vm.rows()) == 1 and "Hannah" in vm.rows()[0].name
    vm.set_query("(604) 555")
    assert len(vm.rows()) == 1
    vm.set_query("marcus")
    assert [r.tags for r in vm.rows()] == [("Deleted", "DND")]
    vm.set_query("nobody")
    assert vm.rows() == []


def test_rows_show_the_routing_number_and_the_current_one_when_it_changed():
    vm = ParticipantsVM(conv())
    hannah = vm.rows()[0]
    assert hannah.phone == "(604) 555-0113"
    assert hannah.current_phone == "(604) 555-0199"
    assert hannah.tags == ("Updated",)
    assert vm.from_line == "Messages go out from (415) 555-0100"
    assert vm.note == IMMUTABLE_NOTE


def test_new_group_with_these_participants_can_leave_someone_out():
    c = conv()
    vm = ParticipantsVM(c)
    assert len(vm.member_ids()) == 3
    assert vm.member_ids({c.participants[1].id}) == [
        c.participants[0].contact_id,
        c.participants[2].contact_id,
    ]
