"""The frame on Flet's diff engine: side by side when wide, one screen with a bottom bar
when narrow, keyboard shortcuts, and back navigation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import flet as ft
import pytest

from app import backend as backend_mod
from app.backend import Backend
from app.config import AppConfig
from app.views.shell import Shell
from services.store import Store
from tests.app.conftest import FakeSession, settle, walk
from tests.app.fakes import FakeClient, FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number


@pytest.fixture
def demo(tmp_path: Path):
    me = make_admin(id="admin", name="Dana Admin")
    people = make_contacts(4)
    store = Store(":memory:")
    conv = make_conversation(contacts=people[:3], name="Weekend crew")
    store.put_conversation(conv)
    store.put_messages(conv.id, [make_message(conv, body=f"m{i}") for i in range(3)])
    cfg = AppConfig(data_dir=tmp_path)
    b = Backend(cfg, FakeClient(people), store, FakeSync(store, me), me, [make_number()], [me])
    backend_mod._backends[(None, "demo-admin")] = b
    yield cfg, b, conv
    backend_mod._backends.clear()


async def start(fake: FakeSession, cfg: AppConfig, width: int) -> Shell:
    fake.register(width=width, height=800)
    shell = Shell(fake.page, cfg)
    await shell.start()
    await settle()
    return shell


def has(root: ft.BaseControl, kind: type) -> bool:
    return any(isinstance(c, kind) for c in walk(root))


def key(shell: Shell, k: str, ctrl: bool = False) -> ft.KeyboardEvent:
    return ft.KeyboardEvent(
        name="keyboard_event",
        control=shell.page,
        key=k,
        shift=False,
        ctrl=ctrl,
        alt=False,
        meta=False,
    )


@pytest.mark.anyio
async def test_wide_shows_list_and_thread_side_by_side(fake_session: FakeSession, demo):
    cfg, _b, conv = demo
    shell = await start(fake_session, cfg, 1280)
    assert has(shell.root, ft.NavigationRail) and not has(shell.root, ft.NavigationBar)
    await shell.open_thread(conv.id)
    assert shell.thread_view is not None
    root = shell.root.content
    assert any(c is shell.conv_view.root for c in walk(root))
    assert any(c is shell.thread_view.root for c in walk(root))
    assert not shell.thread_view.back.visible  # no back on a desktop
    shell.open_participants()
    assert any(c is shell.participants_view.root for c in walk(shell.root.content))
    shell.open_participants()  # a second tap (a double click) keeps it open
    assert shell.panel_open
    await shell._on_key(key(shell, "Escape"))
    assert not shell.panel_open
    # Tapping the open conversation's row again keeps the same thread (and its typing).
    view = shell.thread_view
    await shell.open_thread(conv.id)
    assert shell.thread_view is view


@pytest.mark.anyio
async def test_the_first_paint_holds_the_screen_s_rows_and_the_page_follows(
    fake_session: FakeSession, demo
):
    cfg, b, _conv = demo
    b.store.put_conversations([make_conversation(name=f"Group {i}") for i in range(40)])
    fake_session.register(width=390, height=844)
    shell = Shell(fake_session.page, cfg)
    await shell.start()
    # What went out with the first layout: the rows a 844-pixel phone shows, and one more.
    assert len(shell.conv_view.tiles) == 15
    assert shell.settings_view is None  # made when first opened
    await settle()
    assert len(shell.conv_view.tiles) == 30
    shell.route = "settings"
    shell.layout()
    assert shell.settings_view is not None
    assert any(c is shell.settings_view.root for c in walk(shell.root.content))


@pytest.mark.anyio
async def test_narrow_shows_one_screen_with_a_bottom_bar_and_back(fake_session, demo):
    cfg, _b, conv = demo
    shell = await start(fake_session, cfg, 390)
    assert has(shell.root, ft.NavigationBar) and not has(shell.root, ft.NavigationRail)
    await shell.open_thread(conv.id)
    root = shell.root.content
    assert not has(root, ft.NavigationBar)  # the thread has the whole screen
    assert not any(c is shell.conv_view.root for c in walk(root))
    assert shell.thread_view.back.visible
    await shell._on_key(key(shell, "Escape"))  # back to the list
    assert shell.route == "list" and has(shell.root, ft.NavigationBar)


@pytest.mark.anyio
async def test_a_phone_s_hidden_list_waits_and_shows_what_changed_when_back(fake_session, demo):
    cfg, b, conv = demo
    shell = await start(fake_session, cfg, 390)
    await shell.open_thread(conv.id)
    await settle()
    fake_session.mark()
    # A text arrives while the thread has the whole screen: only the thread is patched.
    b.store.put_conversation(conv.model_copy(update={"last_message_body": "Running late"}))
    b.store.put_messages(conv.id, [make_message(conv, body="Running late")])
    await settle()
    in_list = {c._i for c in walk(shell.conv_view.root)}
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    assert patched and not patched & in_list  # nothing for the list the client dropped
    assert shell.conv_view.tiles[conv.id].row.preview.endswith("Running late")
    # Back on the list, the page brings it whole, with the new preview.
    fake_session.mark()
    shell.go_list()
    await settle()
    assert "Running late" in repr([m.body for m in fake_session.messages_since_mark()])


@pytest.mark.anyio
async def test_ctrl_n_opens_the_wizard_and_escape_closes_it(fake_session, demo):
    cfg, _b, _ = demo
    shell = await start(fake_session, cfg, 1280)
    await shell._on_key(key(shell, "N", ctrl=True))
    assert shell.route == "new" and shell.new_view is not None
    await settle()
    assert shell.new_view.vm.contacts  # the picker loaded contacts
    await shell._on_key(key(shell, "Escape"))
    assert shell.route == "list"


@pytest.mark.anyio
async def test_a_sign_in_failure_is_a_sentence_with_try_again(fake_session, tmp_path):
    cfg = AppConfig(backend_url="http://127.0.0.1:9", token="bad", data_dir=tmp_path)

    async def refuse(_cfg):
        from services.api.errors import AuthError

        raise AuthError("401")

    import app.views.shell as shell_mod

    original = shell_mod.connect
    shell_mod.connect = refuse
    try:
        shell = await start(fake_session, cfg, 1280)
    finally:
        shell_mod.connect = original
    words = " ".join(c.value for c in walk(shell.root) if isinstance(c, ft.Text) and c.value)
    assert "Couldn't sign in" in words
    assert any(isinstance(c, ft.FilledButton) for c in walk(shell.root))


@pytest.mark.anyio
async def test_an_unread_change_sends_the_badge_and_title_not_the_page(fake_session, demo):
    cfg, b, conv = demo
    shell = await start(fake_session, cfg, 1280)
    page_bytes = fake_session.total_bytes()
    layouts: list[None] = []
    shell.layout = lambda: layouts.append(None)  # type: ignore[method-assign]
    fake_session.mark()
    b.store.put_conversation(conv.model_copy(update={"unread_count": 3}))
    await settle()
    assert fake_session.page.title == "(3) Group Chat for SMS"
    chat = (ft.Icons.CHAT_BUBBLE_OUTLINE, ft.Icons.CHAT_BUBBLE)
    icons = [c for c in walk(shell.root) if isinstance(c, ft.Icon) and c.icon in chat]
    assert [i.badge for i in icons] == ["3", "3"]
    assert layouts == []  # the page is not rebuilt for a number
    sent = fake_session.bytes_since_mark()
    # The badge, the title and the changed row of the list: a sliver of the page.
    assert 0 < sent < page_bytes / 4
    # Patched: the two badge icons, the page (its title), and the row in the list. Nothing else.
    patched = {m.body.id for m in fake_session.messages_since_mark()}
    in_list = {c._i for c in walk(shell.conv_view.root)}
    assert {i._i for i in icons} | {fake_session.page._i} <= patched
    assert patched - in_list <= {i._i for i in icons} | {fake_session.page._i}
    fake_session.mark()
    b.store.put_conversation(conv.model_copy(update={"unread_count": 0}))
    await settle()
    assert fake_session.page.title == "Group Chat for SMS"
    assert [i.badge for i in icons] == [None, None]


async def press(fake: FakeSession, k: str, *, ctrl: bool = False, meta: bool = False) -> None:
    """A key as the client sends it: a keyboard_event on the page."""
    data = {"key": k, "shift": False, "ctrl": ctrl, "alt": False, "meta": meta}
    await fake.event(fake.page, "keyboard_event", data)
    await settle(20)


@pytest.mark.anyio
@pytest.mark.parametrize(("web", "pasted"), [(False, True), (True, False)])
async def test_ctrl_v_attaches_the_clipboard_picture_in_the_desktop_client_only(
    fake_session: FakeSession, demo, web: bool, pasted: bool
):
    from tests.services import attachment_files as files

    cfg, _b, conv = demo
    fake_session.page.web = web
    fake_session.page.platform = ft.PagePlatform.WINDOWS
    shell = await start(fake_session, cfg, 1280)
    fake_session.conn.answers["get_image"] = files.transparent_png()
    await press(fake_session, "V", ctrl=True)  # no thread open: nothing to paste into
    assert "get_image" not in fake_session.conn.invoked
    await shell.open_thread(conv.id)
    assert shell.thread_view is not None
    await press(fake_session, "V", meta=True)  # Cmd+V on a Mac
    for _ in range(500):  # checked in a worker thread
        if not shell.thread_view.vm.tray.checking:
            break
        await asyncio.sleep(0.01)
    names = [f.name for f in shell.thread_view.vm.tray.files]
    assert names == (["pasted-picture.png"] if pasted else [])
    assert ("get_image" in fake_session.conn.invoked) is pasted


@pytest.mark.anyio
async def test_ctrl_v_with_text_on_the_clipboard_says_nothing(fake_session: FakeSession, demo):
    cfg, _b, conv = demo
    fake_session.page.web = False
    fake_session.page.platform = ft.PagePlatform.LINUX
    shell = await start(fake_session, cfg, 1280)
    await shell.open_thread(conv.id)
    fake_session.mark()
    await press(fake_session, "V", ctrl=True)  # the client answers: no picture
    assert "get_image" in fake_session.conn.invoked
    assert shell.thread_view is not None and shell.thread_view.vm.tray.files == []
    assert not any(isinstance(c, ft.SnackBar) for c in fake_session.page._dialogs.controls)
    # The paste button, by contrast, says why nothing was attached.
    await fake_session.event(shell.thread_view.paste_button, "click")
    assert any(isinstance(c, ft.SnackBar) for c in fake_session.page._dialogs.controls)


@pytest.mark.anyio
async def test_the_start_leaves_its_objects_out_of_the_collector_once_drawn(
    fake_session: FakeSession, demo, monkeypatch: pytest.MonkeyPatch
):
    from app import collector
    from app.views.conversations import ConversationTile

    rows_then: list[int] = []

    def kept() -> None:
        rows_then.append(sum(isinstance(c, ConversationTile) for c in walk(fake_session.page)))

    monkeypatch.setattr(collector, "keep_what_started", kept)
    cfg, _, _ = demo
    await start(fake_session, cfg, 1280)
    assert rows_then == [1]  # once, with the list's row already on the page
