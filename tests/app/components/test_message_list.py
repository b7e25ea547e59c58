"""The thread's message list on Flet's real diff engine: a new message costs the same at any
window size, and sends only the newest chunk. Work is counted in diffed controls and bytes,
never in time."""

from __future__ import annotations

import pytest
from flet.controls.object_patch import DiffBuilder

from app.components.bubble import MessageBubble
from app.components.message_list import CHUNK
from app.state.thread import MessageItem, ThreadVM
from app.views.thread import ThreadView
from services.models import Direction
from services.store import Store
from tests.app.conftest import FakeSession, walk
from tests.app.fakes import FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number


def thread(fake: FakeSession, n_messages: int):
    me = make_admin(id="admin")
    store = Store(":memory:")
    conv = make_conversation(contacts=make_contacts(3), name="Soccer parents")
    store.put_conversation(conv)
    store.put_messages(conv.id, [make_message(conv, body=f"hello {i}") for i in range(n_messages)])
    sync = FakeSync(store, me)
    vm = ThreadVM(store=store, sync=sync, me=me, numbers=[make_number()], conversation_id=conv.id)
    store.subscribe(vm.on_store_change)
    view = ThreadView(
        vm,
        page=fake.page,
        cache=None,
        on_back=None,
        on_participants=lambda: None,
        on_recreate=lambda: None,
        pick_files=lambda: None,
        download=lambda url: None,
    )
    fake.page.add(view.root)
    return store, conv, vm, view


def incoming(store: Store, conv, body: str) -> None:
    message = make_message(
        conv, body=body, direction=Direction.INBOUND, participant_id=conv.participants[0].id
    )
    store.put_messages(conv.id, [message])


class DiffCounter:
    """How many controls Flet's diff compares: the work of an update, independent of time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.visits = 0
        inner = DiffBuilder._compare_dataclasses

        def counted(patch, *args, **kwargs):
            self.visits += 1
            return inner(patch, *args, **kwargs)

        monkeypatch.setattr(DiffBuilder, "_compare_dataclasses", counted)


def bodies(view: ThreadView) -> list[str]:
    """Message bodies in screen order, top (oldest) to bottom."""
    out = []
    for chunk in reversed(view.message_list.chunks):
        out += [c.item.body for c in chunk.controls if isinstance(c, MessageBubble)]
    return out


@pytest.mark.anyio
async def test_a_new_message_costs_the_same_at_400_rows_as_at_30(
    fake_session: FakeSession, monkeypatch: pytest.MonkeyPatch
):
    fake_session.register()
    short = thread(fake_session, 30)
    long = thread(fake_session, 420)
    for _ in range(13):  # the user scrolled up thirteen pages
        await long[3].load_older()
    assert len(long[2].rows) > 400
    counter = DiffCounter(monkeypatch)
    work = {}
    for name, (store, conv, _vm, view) in {"short": short, "long": long}.items():
        counter.visits = 0
        # A whole chunk's worth of arrivals: every fill level of the newest chunk once, and
        # one new chunk started, whatever the window held before.
        for i in range(CHUNK):
            fake_session.mark()
            incoming(store, conv, f"{name} new {i}")
            assert fake_session.bytes_since_mark() < 4096
            head = view.message_list.chunks[0]
            patched = {m.body.id for m in fake_session.messages_since_mark()}
            # Only the newest chunk, or the list when a chunk starts: no other bubble is sent.
            assert patched <= {head._i, view.list._i}, patched
        work[name] = counter.visits
        assert bodies(view)[-1] == f"{name} new {CHUNK - 1}"
    # The diff walks the same controls whether 30 or 400 rows are shown (the old flat list
    # walked every bubble: ~13x more at this size).
    assert work["long"] <= work["short"] * 1.2, work


@pytest.mark.anyio
async def test_the_network_refresh_of_an_unchanged_page_sends_nothing_for_the_list(
    fake_session: FakeSession,
):
    fake_session.register()
    _store, _conv, vm, view = thread(fake_session, 60)
    chunks = list(view.message_list.chunks)
    list_ids = {c._i for c in walk(view.list)}
    fake_session.mark()
    await vm.open()  # the server's newest page is the cached one
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert not patched & list_ids
    assert view.message_list.chunks == chunks  # the same controls, not redrawn


@pytest.mark.anyio
async def test_older_pages_removals_and_separators_keep_the_order(fake_session: FakeSession):
    fake_session.register()
    store, conv, vm, view = thread(fake_session, 3000)  # ~2 days: day separators inside
    for _ in range(5):
        await view.load_older()
    incoming(store, conv, "newest")
    assert view.message_list.rows() == vm.rows
    shown = bodies(view)
    assert shown == [m.body for m in vm.messages]
    assert shown[-1] == "newest" and len(shown) == 181
    assert all(len(c.rows) <= CHUNK for c in view.message_list.chunks)
    assert view.older in view.list.controls  # more history to load
    victim = next(r for r in vm.rows if isinstance(r, MessageItem) and r.body == "hello 2900")
    vm._removed(victim.key)
    assert "hello 2900" not in bodies(view)
    assert view.message_list.rows() == vm.rows
