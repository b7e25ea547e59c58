"""The shell's part in live updates (issue 6): window visibility, notices, unread."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import backend as backend_mod
from app.backend import Backend, InAppNotifier
from app.config import AppConfig
from app.views.shell import TITLE, Shell
from services.store import Store
from tests.app.conftest import FakeSession, settle, walk
from tests.app.fakes import FakeClient, FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number


@pytest.fixture
def demo(tmp_path: Path):
    me = make_admin(id="admin", name="Dana Admin")
    people = make_contacts(4)
    store = Store(":memory:")
    convs = [
        make_conversation(contacts=people[:3], name="Weekend crew"),
        make_conversation(contacts=people[1:4], name="Front desk"),
    ]
    for conv in convs:
        store.put_conversation(conv)
        store.put_messages(conv.id, [make_message(conv, body="hello")])
    cfg = AppConfig(data_dir=tmp_path)
    sync = FakeSync(store, me)
    b = Backend(cfg, FakeClient(people), store, sync, me, [make_number()], [me], InAppNotifier())
    backend_mod._backends[(None, "demo-admin")] = b
    yield cfg, b, convs
    backend_mod._backends.clear()


async def start(fake: FakeSession, cfg: AppConfig) -> Shell:
    fake.register(width=1280, height=800)
    shell = Shell(fake.page, cfg)
    await shell.start()
    await settle()
    return shell


async def lifecycle(fake: FakeSession, state: str) -> None:
    await fake.session.dispatch_event(fake.page._i, "app_lifecycle_state_change", {"state": state})
    await settle()


@pytest.mark.anyio
async def test_a_hidden_window_is_not_reading_and_showing_it_marks_the_thread_read(
    fake_session, demo
):
    cfg, b, convs = demo
    shell = await start(fake_session, cfg)
    await shell.open_thread(convs[0].id)
    await settle()
    b.sync.read.clear()
    assert b.sync.windows == [shell.window]
    await lifecycle(fake_session, "hide")
    assert shell.window.visible is False
    assert b.sync.read == []
    await lifecycle(fake_session, "show")
    assert shell.window.visible is True
    assert b.sync.read == [convs[0].id]
    await lifecycle(fake_session, "inactive")  # lost focus but still on screen
    assert shell.window.visible is True


@pytest.mark.anyio
async def test_unread_shows_in_the_title_and_a_system_notification_click_opens_the_thread(
    fake_session, demo
):
    cfg, b, convs = demo
    shell = await start(fake_session, cfg)
    b.store.update_conversation(convs[1].id, unread_count=3)
    await settle()
    assert fake_session.page.title == f"(3) {TITLE}"
    b.notifier.open(convs[1].id)
    await settle()
    assert shell.thread_vm is not None and shell.thread_vm.conversation_id == convs[1].id
    assert shell.window.conversation_id == convs[1].id
    shell._detach()
    assert b.notifier.openers == [] and b.notifier.listeners == []
    assert b.sync.windows == []  # a closed window reads nothing


@pytest.mark.anyio
async def test_back_online_the_open_thread_is_fetched_again_and_marked_read(fake_session, demo):
    from services.api.errors import NetworkError
    from services.store_types import ConnectionChanged, ConnectionState

    cfg, b, convs = demo
    shell = await start(fake_session, cfg)
    b.sync.errors["load_conversation"] = NetworkError("down")  # opened offline
    await shell.open_thread(convs[0].id)
    await settle()
    assert b.sync.read == []  # the cache shows; nothing could be marked read
    del b.sync.errors["load_conversation"]
    b.store.emit(ConnectionChanged(ConnectionState.CONNECTED))
    await settle()
    assert b.sync.read == [convs[0].id]
    assert shell.indicator.word.value == "Live"


@pytest.mark.anyio
async def test_a_phone_thread_says_offline_under_its_header_only_while_offline(fake_session, demo):
    from services.store_types import ConnectionChanged, ConnectionState

    cfg, b, convs = demo
    fake_session.register(width=390, height=844)
    shell = Shell(fake_session.page, cfg)
    await shell.start()
    await settle()
    await shell.open_thread(convs[0].id)
    await settle()
    assert not shell.connection_bar.visible
    b.store.emit(ConnectionChanged(ConnectionState.OFFLINE))
    await settle()
    assert shell.connection_bar.visible and "Offline" in shell.connection_bar.word.value
    assert any(c is shell.connection_bar for c in walk(shell.root.content))
    b.store.emit(ConnectionChanged(ConnectionState.CONNECTED))
    await settle()
    assert not shell.connection_bar.visible
