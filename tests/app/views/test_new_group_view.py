"""The wizard on the fake session: clicks reach the rules, the screen shows the reasons."""

from __future__ import annotations

from typing import Any

import flet as ft
import pytest

from app.state.new_group import PAGE, NewGroupVM
from app.views.new_group import NewGroupView, _PickTile
from services.models import Contact
from services.store import Store
from tests.app.conftest import FakeSession, find, settle, walk
from tests.app.fake_session import encode
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


async def _wizard(fake_session: FakeSession, people: list[Contact]) -> NewGroupView:
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
    return view


def _shown(view: NewGroupView) -> list[tuple[str, Any]]:
    """Each visible row's identifier and its list tile's key, in order."""
    return [(t.identifier, t.content.key) for t in view.rows.controls[:-1] if t.visible]


@pytest.mark.anyio
async def test_a_keystroke_reuses_the_rows_and_sends_only_what_changed(
    fake_session: FakeSession, monkeypatch: pytest.MonkeyPatch
):
    made: list[object] = []
    tile_init = _PickTile.__init__

    def counted(self: _PickTile, *args: Any) -> None:
        made.append(self)
        tile_init(self, *args)

    monkeypatch.setattr(_PickTile, "__init__", counted)
    # 20 Marias and 20 Marcos; a page shows 25.
    people = [make_contact(first_name="Maria") for _ in range(20)]
    people += [make_contact(first_name="Marco") for _ in range(20)]
    view = await _wizard(fake_session, people)
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

    assert len(made) == PAGE  # the first 25: 20 Marias and 5 Marcos
    pool = list(view.rows.controls)
    marcos = {t.row.id: t for t in pool[20:PAGE]}
    new_row = len(encode(pool[0]))  # what a row costs when it is made

    await keystroke("marco")  # 20 Marcos: the 5 shown keep their rows, 15 take others
    assert [(c.id, c.id) for c in people[20:]] == [
        (i.removeprefix("pick-"), k) for i, k in _shown(view)
    ]
    now = {t.row.id: t for t in view.rows.controls[:-1] if t.row is not None}
    assert all(now[i] is t for i, t in marcos.items())
    assert {id(t) for t in view.rows.controls} == {id(t) for t in pool}  # moved, not made
    pool = list(view.rows.controls)
    replaced, patched = await keystroke("maria")  # 20 Marias in the first 20 rows, 5 hidden
    assert len(made) == PAGE and all(a is b for a, b in zip(view.rows.controls, pool, strict=True))
    assert [f"pick-{c.id}" for c in people[:20]] == [i for i, _ in _shown(view)]
    # Each row sends the values that differ, not a row made anew. Handed to another contact
    # a row changes nearly every value it shows (name, number, label, initials, colour, key,
    # identifier): what reuse saves is the rest of the control, measured against new rows
    # made now (made earlier, a row's control ids were smaller: the bound moved with the
    # tests that ran before this one).
    fresh = []
    for tile in view.rows.controls[:20]:
        made_now = _PickTile.__new__(_PickTile)
        tile_init(made_now, lambda _: None)
        made_now.show(tile.row)
        fresh.append(len(encode(made_now)))
    assert replaced < 0.6 * sum(fresh), (replaced, sum(fresh))
    same, patched = await keystroke("mari")  # the same 20: nothing of the list is sent
    assert same == 0 and not patched
    widened, _ = await keystroke("mar")  # 5 Marcos join in the 5 hidden rows
    assert len(made) == PAGE and len(_shown(view)) == PAGE
    assert widened < 5 * new_row
    narrowed, _ = await keystroke("maria")  # the 5 rows are hidden again
    assert narrowed < widened
    assert len(made) == PAGE


@pytest.mark.anyio
async def test_a_row_handed_to_another_contact_gets_a_new_key_and_identifier(
    fake_session: FakeSession,
):
    # The browser rebuilds a tile whose key changed: that is how its semantics node comes
    # to carry the new contact's identifier (Flutter sent the old one otherwise).
    people = [make_contact(first_name=n, last_name="Stone") for n in ("Ada", "Amy", "Bea", "Bob")]
    view = await _wizard(fake_session, people)
    first = [t for t in view.rows.controls[:-1] if t.visible]
    ada, _, bea, bob = people
    await fake_session.type_into(view.search, "b")  # Bea and Bob keep their rows, moved up
    assert _shown(view) == [(f"pick-{bea.id}", bea.id), (f"pick-{bob.id}", bob.id)]
    assert view.rows.controls[0] is first[2] and view.rows.controls[1] is first[3]
    await fake_session.type_into(view.search, "ada")
    await fake_session.type_into(view.search, "bob")  # Ada's row is Bob's now
    assert _shown(view) == [(f"pick-{bob.id}", bob.id)]
    assert view.rows.controls[0] is first[2]
    await fake_session.type_into(view.search, "ada")
    assert _shown(view) == [(f"pick-{ada.id}", ada.id)] and view.rows.controls[0] is first[2]
    hidden = [t for t in view.rows.controls[:-1] if not t.visible]
    assert len(hidden) == 3 and all(t.identifier == "pick" for t in hidden)
    await fake_session.type_into(view.search, "zz")
    assert _shown(view) == [] and view.empty.visible and view.empty.value == "No contacts match."
    await fake_session.type_into(view.search, "")
    assert not view.empty.visible and len(_shown(view)) == 4


@pytest.mark.anyio
async def test_rows_past_a_page_are_let_go_when_the_results_narrow(fake_session: FakeSession):
    people = [make_contact(first_name="Maria") for _ in range(PAGE + 10)]
    people.append(make_contact(first_name="Zed"))
    view = await _wizard(fake_session, people)
    await fake_session.event(view.more, "click")
    assert len(_shown(view)) == PAGE + 11
    await fake_session.type_into(view.search, "zed")
    assert len(_shown(view)) == 1 and len(view.rows.controls) == PAGE + 1  # the pool and "empty"


@pytest.mark.anyio
async def test_a_pick_sends_its_row_not_the_list(fake_session: FakeSession):
    people = make_contacts(5)
    view = await _wizard(fake_session, people)
    tile = find(view.root, f"pick-{people[1].id}")
    fake_session.mark()
    await fake_session.event(tile.content, "click")
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert tile._i in patched and view.rows._i not in patched
    assert view.vm.count == 1


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
