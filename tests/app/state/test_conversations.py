"""The conversation list: newest first, search, windowed paging, row wording."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.state.conversations import ConversationsVM
from services.models import ConversationSummary, ConversationType, Direction
from services.store import Store
from tests.app.fakes import T0, FakeSync


def summary(i: int, **fields) -> ConversationSummary:
    values = {
        "id": f"conv_{i:03d}",
        "type": ConversationType.GROUP_SMS,
        "name": f"Group {i}",
        "last_message_body": f"last {i}",
        "last_message_date": int(T0.timestamp() * 1000) + i * 60_000,
        "participant_count": 3,
    }
    values.update(fields)
    return ConversationSummary(**values)


def vm_with(n: int) -> ConversationsVM:
    store = Store(":memory:")
    store.put_conversations([summary(i) for i in range(n)])
    return ConversationsVM(store, FakeSync(store), now=lambda: T0)


def test_newest_first_and_only_a_window():
    vm = vm_with(75)
    vm.refresh()
    assert [r.title for r in vm.rows[:2]] == ["Group 74", "Group 73"]
    assert len(vm.rows) == 30 and vm.has_more
    assert vm.show_more() and len(vm.rows) == 60
    assert vm.show_more() and len(vm.rows) == 75 and not vm.has_more
    assert not vm.show_more()


def test_a_first_window_the_screen_s_size_grows_to_a_page_once():
    store = Store(":memory:")
    store.put_conversations([summary(i) for i in range(75)])
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0, first=13)
    vm.refresh()
    assert len(vm.rows) == 13 and vm.has_more
    vm.fill()
    assert len(vm.rows) == 30 and vm.limit == vm.PAGE
    vm.show_more()
    vm.fill()  # a window already a page or more stays as it is
    assert len(vm.rows) == 60
    tall = ConversationsVM(store, FakeSync(store), now=lambda: T0, first=45)
    assert tall.limit == tall.PAGE  # never more than a page at first


def test_a_change_to_one_conversation_makes_only_its_row_again_until_the_day_turns():
    store = Store(":memory:")
    store.put_conversations([summary(i) for i in range(40)])
    now = [T0]
    vm = ConversationsVM(store, FakeSync(store), now=lambda: now[0])
    vm.refresh()
    before = list(vm.rows)
    made: list[str] = []
    make_row = vm._make_row

    def counted(s: ConversationSummary, conversation: object) -> object:
        made.append(s.id)
        return make_row(s, conversation)

    vm._make_row = counted  # type: ignore[method-assign]
    store.update_conversation("conv_020", last_message_body="moved on")
    vm.refresh()
    assert made == ["conv_020"]
    assert [r.preview for r in vm.rows if r.id == "conv_020"] == ["moved on"]
    assert all(a is b for a, b in zip(before, vm.rows, strict=True) if a.id != "conv_020")
    now[0] = T0 + timedelta(days=1)  # a time shown as 9:41 AM yesterday reads "Yesterday"
    vm.refresh()
    assert len(made) == 1 + len(vm.rows)
    assert {r.time for r in vm.rows} == {"Yesterday"}


def test_search_filters_and_resets_the_window():
    vm = vm_with(40)
    vm.refresh()
    vm.show_more()
    vm.set_query("Group 37")
    assert {r.title for r in vm.rows} == {"Group 37"}
    assert vm.limit == vm.PAGE


def test_row_wording_unread_blocked_and_outbound_preview():
    store = Store(":memory:")
    store.put_conversations(
        [
            summary(1, unread_count=2, blocked=True),
            summary(2, last_message_direction=Direction.OUTBOUND, last_message_body="hi"),
            summary(3, type=ConversationType.PHONE, name="Chloe Martin"),
        ]
    )
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)
    vm.refresh()
    rows = {r.id: r for r in vm.rows}
    assert rows["conv_001"].unread == 2 and rows["conv_001"].blocked
    assert rows["conv_001"].title_label == "Group Group 1, 2 unread, blocked by Do Not Disturb"
    assert rows["conv_002"].preview == "You: hi"
    assert rows["conv_003"].initials == "CM" and not rows["conv_003"].is_group


def test_a_new_group_says_no_messages_yet_and_a_picture_alone_says_attachment():
    store = Store(":memory:")
    store.put_conversations(
        [
            summary(1, last_message_body=None),  # just created: a date, no message
            summary(2, last_message_body="", last_message_direction=Direction.INBOUND),
            summary(3, last_message_body="", last_message_direction=Direction.OUTBOUND),
        ]
    )
    vm = ConversationsVM(store, FakeSync(store), now=lambda: T0)
    vm.refresh()
    previews = {r.id: r.preview for r in vm.rows}
    assert previews == {
        "conv_001": "No messages yet",
        "conv_002": "Attachment",
        "conv_003": "You: Attachment",
    }


@pytest.mark.anyio
async def test_a_failed_refresh_is_said_but_offline_is_left_to_the_indicator():
    from services.api.errors import NetworkError, ServerError

    vm = vm_with(1)
    vm.sync.errors["refresh_conversations"] = NetworkError("down")
    await vm.reload()
    assert vm.error is None  # the connection indicator says Offline; the cache shows
    assert len(vm.rows) == 1  # the cached list still shows
    vm.sync.errors["refresh_conversations"] = ServerError("boom")
    await vm.reload()
    assert vm.error == ServerError("boom").user_message


def listening(vm: ConversationsVM) -> tuple[list[str], list[tuple[str, object]], object]:
    """The summaries the view-model reads from here on ("window" for a whole window), what
    it says, and how to stop."""
    read: list[str] = []
    said: list[tuple[str, object]] = []
    summary, conversations = vm.store.summary, vm.store.conversations
    vm.store.summary = lambda cid: read.append(cid) or summary(cid)
    vm.store.conversations = lambda **kw: read.append("window") or conversations(**kw)
    vm.listen(lambda what, payload: said.append((what, payload)))
    return read, said, vm.store.subscribe(vm.on_store_change)


def in_store_order(vm: ConversationsVM) -> list[str]:
    return [s.id for s in Store.conversations(vm.store, limit=vm.limit)]


def test_a_text_in_the_top_conversation_makes_its_row_alone():
    vm = vm_with(40)
    vm.refresh()
    before = list(vm.rows)
    read, said, stop = listening(vm)
    top = summary(39, last_message_body="Running late", last_message_date=10**13)
    vm.store.put_conversations([top])
    assert read == ["conv_039"]  # no other row is read again
    assert said == [("row", 0)]  # the view updates that tile alone
    assert vm.rows[0].preview == "Running late" and vm.rows[1:] == before[1:]
    stop()


def test_one_commit_moving_two_conversations_shows_the_store_s_order():
    vm = vm_with(40)
    vm.refresh()
    read, said, stop = listening(vm)
    # The 4th and the 3rd newest take the top in one commit, the 3rd above the 4th: each
    # change moves its row to where the store's order puts it.
    with vm.store._tx():
        vm.store.put_conversations([summary(36, last_message_date=10**13)])
        vm.store.put_conversations([summary(37, last_message_date=10**14)])
    assert [r.id for r in vm.rows] == in_store_order(vm)
    assert [r.id for r in vm.rows[:4]] == ["conv_037", "conv_036", "conv_039", "conv_038"]
    assert sorted(read) == ["conv_036", "conv_037"] and ("rows", None) in said
    stop()


def test_a_conversation_from_outside_the_window_reads_the_window_again():
    vm = vm_with(40)
    vm.refresh()
    assert "conv_003" not in {r.id for r in vm.rows}
    vm.store.subscribe(vm.on_store_change)
    vm.store.put_conversations([summary(3, last_message_date=10**13)])
    assert [r.id for r in vm.rows] == in_store_order(vm)
    assert vm.rows[0].id == "conv_003" and len(vm.rows) == 30 and vm.has_more


def test_a_text_outside_the_window_changes_nothing_shown():
    vm = vm_with(40)
    vm.refresh()
    before = list(vm.rows)
    read, said, stop = listening(vm)
    vm.store.put_conversations([summary(2, last_message_body="Old news")])
    assert vm.rows == before and said == [] and read == []
    stop()


def test_a_new_day_or_a_search_reads_the_window_again():
    now = [T0]
    store = Store(":memory:")
    store.put_conversations([summary(i) for i in range(5)])
    vm = ConversationsVM(store, FakeSync(store), now=lambda: now[0])
    vm.refresh()
    store.subscribe(vm.on_store_change)
    today = [r.time for r in vm.rows]
    now[0] = T0 + timedelta(days=1)  # every row's time label says another day now
    store.put_conversations([summary(4, last_message_body="Next day")])
    fresh = ConversationsVM(store, FakeSync(store), now=lambda: now[0])
    fresh.refresh()
    assert vm.rows == fresh.rows and [r.time for r in vm.rows] != today
    vm.set_query("Group 3")
    store.put_conversations([summary(3, last_message_body="Found")])
    assert [r.id for r in vm.rows] == ["conv_003"] and vm.rows[0].preview == "Found"
