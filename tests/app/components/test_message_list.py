"""The thread's message list on Flet's real diff engine: a new message costs the same at any
window size, and sends only the newest chunk. Work is counted in diffed controls and bytes,
never in time."""

from __future__ import annotations

import gc
import weakref

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
    # The chunks' isolation alone: no window bound releasing rows (tested below).
    monkeypatch.setattr(ThreadVM, "WINDOW", 10_000)
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
    # walked every bubble: ~13x more at this size), but for the one list update when a
    # chunk starts, which compares each chunk once (isolated: never their bubbles).
    chunks = len(long[3].message_list.chunks)
    assert work["long"] - work["short"] <= 30 * chunks, (work, chunks)
    # Bubbles are isolated too: a chunk's update compares its bubbles, never walks them;
    # 25 arrivals in the short thread walked ~2,700 controls before (issue 19).
    assert work["short"] < 1000, work


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
async def test_older_pages_removals_and_separators_keep_the_order(
    fake_session: FakeSession, monkeypatch: pytest.MonkeyPatch
):
    fake_session.register()
    monkeypatch.setattr(ThreadVM, "WINDOW", 10_000)  # the order alone; the bound is below
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


class LiveBubbles:
    """Counts the bubbles still alive (weak references): what the window really holds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refs: list[weakref.ref[MessageBubble]] = []
        inner = MessageBubble.__init__

        def init(bubble: MessageBubble, *args, **kwargs) -> None:
            inner(bubble, *args, **kwargs)
            self.refs.append(weakref.ref(bubble))

        monkeypatch.setattr(MessageBubble, "__init__", init)

    def alive(self, fake: FakeSession) -> int:
        # The fake connection keeps every message it "sent" (and the controls in them); a
        # socket encodes and drops them.
        fake.conn.sent.clear()
        gc.collect()
        return sum(ref() is not None for ref in self.refs)


@pytest.mark.anyio
async def test_rows_leaving_the_window_are_released(
    fake_session: FakeSession, monkeypatch: pytest.MonkeyPatch
):
    """A thread open while 2,000 texts arrive holds at most a window of rows: the bubbles
    that leave it are freed (counted by weak references, not timed), and the ones shown are
    the newest, in order, each day under its separator."""
    fake_session.register()
    live = LiveBubbles(monkeypatch)
    store, conv, vm, view = thread(fake_session, 60)
    for i in range(2000):
        incoming(store, conv, f"arrival {i}")
        assert len(vm.messages) <= ThreadVM.WINDOW
    assert live.alive(fake_session) <= ThreadVM.WINDOW
    assert len(live.refs) > 2000  # every arrival was drawn once
    assert len(view.bubbles) == len(vm.messages)
    assert view.message_list.rows() == vm.rows
    assert bodies(view)[-1] == "arrival 1999"
    assert bodies(view) == [m.body for m in vm.messages]
    assert not isinstance(vm.rows[0], MessageItem)  # the top row is its day's separator
    assert view.older in view.list.controls  # released rows come back on scroll-up

    # Scrolling back up rebuilds them from the store, in order, and the window says so.
    first = vm.messages[0].body
    await view.load_older()
    shown = bodies(view)
    assert shown[shown.index(first) - 1] == f"arrival {int(first.split()[1]) - 1}"
    assert view.message_list.rows() == vm.rows
    # Closed (as the shell does: off the page, no longer told of changes), its rows go too.
    vm.close()
    fake_session.page.controls.clear()
    fake_session.page.update()
    store._listeners.clear()
    del view, vm
    assert live.alive(fake_session) == 0


@pytest.mark.anyio
async def test_arrivals_while_reading_older_wait_below(fake_session: FakeSession):
    """Scrolled up, new texts are not drawn under the reader: a "Show newer messages" button
    appears, and scrolling back down brings them from the store."""
    fake_session.register()
    store, conv, vm, view = thread(fake_session, 60)
    await view.load_older()
    vm.set_following(False)  # the user scrolled away from the bottom
    shown = bodies(view)
    for i in range(40):
        incoming(store, conv, f"while away {i}")
    assert bodies(view) == shown
    assert vm.has_newer and view.newer in view.list.controls
    vm.set_following(True)
    while vm.has_newer:
        await view.load_newer()
    assert bodies(view)[-1] == "while away 39"
    assert bodies(view) == [m.body for m in vm.messages]
    assert view.newer not in view.list.controls
    assert view.message_list.rows() == vm.rows
    assert len(vm.messages) <= ThreadVM.WINDOW
