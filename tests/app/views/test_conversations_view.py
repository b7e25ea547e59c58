"""The conversation list on the fake session: rows are reused, so a change sends one row."""

from __future__ import annotations

import flet as ft
import pytest

from app.components.connection import ConnectionIndicator
from app.state.conversations import ConversationsVM
from app.views.conversations import ConversationsView
from services.models import ConversationSummary, ConversationType, Direction, Message, MessageStatus
from services.store import Store
from tests.app.conftest import FakeSession
from tests.app.fakes import T0, FakeSync


def summaries(n: int) -> list[ConversationSummary]:
    return [
        ConversationSummary(
            id=f"conv_{i:03d}",
            type=ConversationType.GROUP_SMS,
            name=f"Group {i}",
            last_message_body=f"last message of group {i}",
            last_message_date=int(T0.timestamp() * 1000) + i * 60_000,
        )
        for i in range(n)
    ]


@pytest.mark.anyio
async def test_one_conversation_changing_sends_one_row(fake_session: FakeSession):
    store = Store(":memory:")
    store.put_conversations(summaries(30))
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)
    store.subscribe(vm.on_store_change)
    opened: list[str] = []

    async def on_open(cid: str) -> None:
        opened.append(cid)

    async def on_new() -> None:
        return None

    view = ConversationsView(vm, on_open=on_open, on_new=on_new, indicator=ConnectionIndicator())
    fake_session.register()
    fake_session.page.add(view.root)
    vm.refresh()
    whole = fake_session.total_bytes()
    assert len(view.tiles) == 30
    fake_session.mark()
    store.update_conversation("conv_010", unread_count=3)
    assert view.tiles["conv_010"].row.unread == 3
    assert 0 < fake_session.bytes_since_mark() < whole / 5
    await fake_session.event(view.tiles["conv_005"].content, "click")
    assert opened == ["conv_005"]


@pytest.mark.anyio
async def test_search_shows_matches_and_says_when_none(fake_session: FakeSession):
    store = Store(":memory:")
    store.put_conversations(summaries(5))
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)

    async def noop(*_: object) -> None:
        return None

    view = ConversationsView(vm, on_open=noop, on_new=noop, indicator=ConnectionIndicator())
    fake_session.register()
    fake_session.page.add(view.root)
    vm.refresh()
    await fake_session.type_into(view.search, "Group 3")
    assert list(view.tiles) == ["conv_003"]
    await fake_session.type_into(view.search, "zzz")
    assert view.empty.visible and "No conversations match" in view.empty.content.value


@pytest.mark.anyio
async def test_a_search_previews_the_matching_message_with_its_words_marked(
    fake_session: FakeSession,
):
    store = Store(":memory:")
    store.put_conversations(summaries(5))
    store.put_messages(
        "conv_002",
        [
            Message(
                id="m1",
                conversation_id="conv_002",
                direction=Direction.INBOUND,
                body="Practice moved to Saturday, bring water",
                date_added=T0,
                status=MessageStatus.DELIVERED,
            )
        ],
    )
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)

    async def noop(*_: object) -> None:
        return None

    view = ConversationsView(vm, on_open=noop, on_new=noop, indicator=ConnectionIndicator())
    fake_session.register()
    fake_session.page.add(view.root)
    vm.refresh()
    await fake_session.type_into(view.search, "practice sat")
    assert list(view.tiles) == ["conv_002"]
    preview = view.tiles["conv_002"].preview
    assert "".join(span.text for span in preview.spans) == "Practice moved to Saturday, bring water"
    marked = [span.text for span in preview.spans if span.style is not None]
    assert marked == ["Practice", "Saturday"]
    await fake_session.type_into(view.search, "")  # no search: the plain last message again
    assert view.tiles["conv_002"].preview.spans is None
    assert view.tiles["conv_002"].preview.value == "last message of group 2"


def _list_of(store: Store, fake_session: FakeSession) -> ConversationsView:
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)
    store.subscribe(vm.on_store_change)

    async def noop(*_: object) -> None:
        return None

    view = ConversationsView(vm, on_open=noop, on_new=noop, indicator=ConnectionIndicator())
    fake_session.register()
    fake_session.page.add(view.root)
    vm.refresh()
    return view


@pytest.mark.anyio
async def test_a_conversation_moving_to_the_top_sends_that_row_and_the_order(fake_session):
    store = Store(":memory:")
    store.put_conversations(summaries(30))
    view = _list_of(store, fake_session)
    vm = view.vm
    oldest = summaries(1)[0]
    assert vm.rows[-1].id == oldest.id
    fake_session.mark()
    newest = int(T0.timestamp() * 1000) + 3_600_000
    store.put_conversations(
        [oldest.model_copy(update={"last_message_body": "moved", "last_message_date": newest})]
    )
    assert vm.rows[0].id == oldest.id and view.list.controls[0] is view.tiles[oldest.id]
    # The list's new order and the moved row's new words; the 29 other tiles are not
    # diffed or sent, nor the rest of the moved one (its look did not change).
    tile = view.tiles[oldest.id]
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched == {view.list._i, tile.preview._i, tile.time_text._i}
    assert tile.preview.value == "moved"
    # The tile changes its texts in place: a few values, not a new tile (~1 KB).
    assert fake_session.bytes_since_mark() < 600


@pytest.mark.anyio
async def test_a_new_text_sends_the_rows_words_and_a_new_look_sends_the_row(fake_session):
    store = Store(":memory:")
    store.put_conversations(summaries(5))
    view = _list_of(store, fake_session)
    top = summaries(5)[-1]
    tile = view.tiles[top.id]
    assert view.list.controls[0] is tile
    later = int(T0.timestamp() * 1000) + 3_600_000
    fake_session.mark()
    store.put_conversations(
        [top.model_copy(update={"last_message_body": "see you at 6", "last_message_date": later})]
    )
    # Read, it stays as it looked: its preview and time alone go, not the tile around them.
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched == {tile.preview._i, tile.time_text._i}
    assert (tile.preview.value, tile.time_text.value) == ("see you at 6", view.vm.rows[0].time)
    fake_session.mark()
    store.update_conversation(top.id, unread_count=2)
    # Unread: the title and the preview turn bold and a count appears beside the time.
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched == {tile._i}
    assert tile.trailing.controls == [tile.time_text, tile.unread_box]
    assert tile.unread_text.value == "2" and tile.title_text.weight == ft.FontWeight.W_700
    fake_session.mark()
    store.update_conversation(top.id, unread_count=3)
    # One more unread: its count and the title's spoken label ("3 unread").
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched == {tile.title_text._i, tile.unread_text._i}
    assert tile.title_text.semantics_label == "Group Group 4, 3 unread"
    fake_session.mark()
    store.update_conversation(top.id, unread_count=3)
    assert fake_session.messages_since_mark() == []  # nothing it shows changed
