"""The conversation list on the fake session: rows are reused, so a change sends one row."""

from __future__ import annotations

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


@pytest.mark.anyio
async def test_a_conversation_moving_to_the_top_sends_that_row_and_the_order(fake_session):
    store = Store(":memory:")
    store.put_conversations(summaries(30))
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)
    store.subscribe(vm.on_store_change)

    async def noop(*_: object) -> None:
        return None

    view = ConversationsView(vm, on_open=noop, on_new=noop, indicator=ConnectionIndicator())
    fake_session.register()
    fake_session.page.add(view.root)
    vm.refresh()
    oldest = summaries(1)[0]
    assert vm.rows[-1].id == oldest.id
    fake_session.mark()
    newest = int(T0.timestamp() * 1000) + 3_600_000
    store.put_conversations(
        [oldest.model_copy(update={"last_message_body": "moved", "last_message_date": newest})]
    )
    assert vm.rows[0].id == oldest.id and view.list.controls[0] is view.tiles[oldest.id]
    # The list's new order and the moved row; the 29 other tiles are not diffed or sent.
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched <= {view.list._i, view.tiles[oldest.id]._i, view.empty._i}
    assert view.list._i in patched and view.tiles[oldest.id]._i in patched
    # The tile changes its texts in place: a few values, not a new tile (~1 KB).
    assert fake_session.bytes_since_mark() < 600
