"""The wizard on the fake session: clicks reach the rules, the screen shows the reasons."""

from __future__ import annotations

import flet as ft
import pytest

from app.state.new_group import PAGE, NewGroupVM
from app.views.new_group import NewGroupView
from services.store import Store
from tests.app.conftest import FakeSession, find, settle, walk
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


@pytest.mark.anyio
async def test_a_keystroke_sends_only_the_rows_that_changed(fake_session: FakeSession):
    # 20 Marias and 20 Marcos; a page shows 25.
    people = [make_contact(first_name="Maria") for _ in range(20)]
    people += [make_contact(first_name="Marco") for _ in range(20)]
    vm = NewGroupVM(
        client=FakeClient(people),
        store=Store(":memory:"),
        me=make_admin(id="admin"),
        numbers=[make_number()],
    )

    async def on_created(cid: str) -> None:
        pass

    view = NewGroupView(vm, page=fake_session.page, on_created=on_created, on_back=None)
    fake_session.register()
    fake_session.page.add(view.root)
    await view.start()
    outside = {c._i for c in walk(view.root)} - {c._i for c in walk(view.rows)}
    small = {view.counter, view.notice_box, view.more, view.reasons, view.create}
    small_ids = {c._i for s in small for c in walk(s)}

    async def keystroke(text: str) -> tuple[int, set[int]]:
        fake_session.mark()
        await fake_session.type_into(view.search, text)
        patched = {m.body.id for m in fake_session.messages_since_mark()}
        # Nothing outside the results list but the counter, notices and the Create button.
        assert patched & outside <= small_ids, patched & outside
        return fake_session.bytes_since_mark(), patched

    assert len(view.rows.controls) == PAGE  # the first 25: 20 Marias and 5 Marcos
    await keystroke("marco")  # 20 Marcos: the 5 shown stay
    replaced, patched = await keystroke("maria")  # 20 Marias, all new: what a row costs
    assert view.rows._i in patched and len(view.rows.controls) == 20
    per_row = replaced / 20
    kept = {id(c) for c in view.rows.controls}
    same, patched = await keystroke("mari")  # the same 20: the list is not even updated
    assert view.rows._i not in patched
    widened, _ = await keystroke("mar")  # 5 Marcos join: 5 new rows, the 20 stay
    assert len(view.rows.controls) == PAGE and kept <= {id(c) for c in view.rows.controls}
    narrowed, _ = await keystroke("maria")  # 20 of the 25 stay: only removals go out
    assert same < per_row and narrowed < per_row
    assert 2 * per_row < widened < 8 * per_row


@pytest.mark.anyio
async def test_a_typed_number_becomes_a_new_contact_and_is_chosen(fake_session: FakeSession):
    client = FakeClient(make_contacts(2))
    vm = NewGroupVM(
        client=client, store=Store(":memory:"), me=make_admin(id="admin"), numbers=[make_number()]
    )

    async def on_created(cid: str) -> None:
        pass

    view = NewGroupView(vm, page=fake_session.page, on_created=on_created, on_back=None)
    fake_session.register()
    fake_session.page.add(view.root)
    await view.start()
    assert not view.offer.visible
    fake_session.session.apply_patch(view.search._i, {"value": "(415) 555-0188"})
    await fake_session.event(view.search, "change")
    assert view.offer.visible
    assert view.offer_text.value == "Add (415) 555-0188 as a new contact"
    await fake_session.event(view.offer.content, "click")
    dialog = fake_session.page._dialogs.controls[-1]
    assert isinstance(dialog, ft.AlertDialog)
    first = find(dialog, "new-contact-first").content
    fake_session.session.apply_patch(first._i, {"value": "Rosa"})
    await fake_session.event(find(dialog, "new-contact-save").content, "click")
    await settle()
    assert client.created[-1] == {"first_name": "Rosa", "last_name": "", "phone": "+14155550188"}
    assert [name for _, name in vm.chips] == ["Rosa"]
    assert not view.offer.visible  # the number is a contact now
