"""The wizard on the fake session: clicks reach the rules, the screen shows the reasons."""

from __future__ import annotations

import flet as ft
import pytest

from app.state.new_group import NewGroupVM
from app.views.new_group import NewGroupView
from services.store import Store
from tests.app.conftest import FakeSession, find, settle
from tests.app.fakes import FakeClient
from tests.factories import make_admin, make_contact, make_contacts, make_number


@pytest.mark.anyio
async def test_picking_updates_counter_reasons_and_the_create_button(fake_session: FakeSession):
    people = [*make_contacts(2), make_contact(first_name="Dee", dnd="active")]
    vm = NewGroupVM(
        client=FakeClient(people),
        store=Store(":memory:"),
        me=make_admin(id="admin"),
        numbers=[make_number("+14155550100"), make_number("+14155550101")],
    )
    created: list[str] = []

    async def on_created(cid: str) -> None:
        created.append(cid)

    view = NewGroupView(vm, page=fake_session.page, on_created=on_created, on_back=None)
    fake_session.register()
    fake_session.page.add(view.root)
    await view.start()
    create = view.create
    assert create.disabled

    async def tap(ident: str) -> None:
        tile = find(view.root, ident).content
        await fake_session.event(tile, "click")

    await tap(f"pick-{people[0].id}")
    assert view.counter.value == "1 of 2–9 selected"
    assert view.counter.color == ft.Colors.ERROR
    await tap(f"pick-{people[2].id}")  # Do Not Disturb: refused, said, not selected
    assert view.notice_box.visible and "Do Not Disturb" in view.notice.value
    assert vm.count == 1
    await tap(f"pick-{people[1].id}")
    assert view.counter.color is None
    assert create.disabled and view.reasons.value == "Choose a number to send from."
    fake_session.session.apply_patch(view.from_group._i, {"value": "+14155550101"})
    await fake_session.event(view.from_group, "change")
    assert not create.disabled and view.reasons.value == ""
    await fake_session.event(create, "click")
    await settle()
    assert len(created) == 1
    assert vm.client.created[0]["from"] == "+14155550101"
