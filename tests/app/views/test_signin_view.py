"""Sign-in, sign-out and a lost sign-in (401) on Flet's diff engine, no browser.

The token is checked against the real sandbox in-process; the shell's signed-in
backend is a fake client and sync over a real file-backed Store, so a draft
really goes through SQLite between two sign-ins.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import flet as ft
import pytest
from flet.messaging.session import Session

from app import backend as backend_mod
from app.backend import Backend, who_am_i
from app.config import LAST_BACKEND_FILE, AppConfig
from app.state.features import GROUP_READ_ONLY, GROUPS_UNSUPPORTED
from app.state.signin import TOKEN_REFUSED
from app.views import account as account_mod
from app.views.account import SIGNED_OUT_ELSEWHERE, SIGNED_OUT_EXPIRED
from app.views.shell import Shell
from services import paths
from services.api.client import ApiClient
from services.credentials import KeyringStore, Secret
from services.server.embedded import embedded_transport
from services.store import Store
from tests.app.conftest import FakeSession, RecordingConnection, find, settle, texts
from tests.app.fakes import FakeClient, FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number
from tests.memory_keyring import MemoryKeyring

URL = "http://127.0.0.1:8765"
LOCATION = "loc_demo"


class StoppableSync(FakeSync):
    async def stop(self) -> None:
        return None


class ClosableClient(FakeClient):
    async def aclose(self) -> None:
        return None


class GrouplessClient(ClosableClient):
    """A LeadConnector-like backend: no group create, no sending into groups."""

    supports_groups = False


@pytest.fixture
def keyring_store(monkeypatch):
    MemoryKeyring.vault.clear()
    store = KeyringStore(MemoryKeyring())
    monkeypatch.setattr(account_mod, "store_factory", lambda: store)
    yield store
    MemoryKeyring.vault.clear()


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch):
    """verify_token asks the real sandbox (in-process) whether the token is good."""
    transport = embedded_transport(str(tmp_path / "sandbox.sqlite3"), seed="demo")

    async def verify(cfg: AppConfig):
        client = ApiClient(
            cfg.backend_url or "", cfg.token, transport=transport, location_id=cfg.location_id
        )
        try:
            return await who_am_i(client, cfg)
        finally:
            await client.aclose()

    monkeypatch.setattr(backend_mod, "verify_token", verify)
    yield transport
    await transport.aclose()
    backend_mod._backends.clear()


@pytest.fixture
def people():
    return make_contacts(4)


def signed_in(cfg: AppConfig, people, conv, *, client=None) -> Backend:
    """What app.backend.connect would build for cfg: registered so connect() returns it."""
    me = make_admin(id="usr_demo_staff", name="Sam Staff")
    account = paths.account_dir(cfg.data_dir, cfg.backend_name, LOCATION, me.id)
    store = Store(str(paths.cache_db_path(account)))
    if store.conversation(conv.id) is None:
        store.put_conversation(conv)
        store.put_messages(conv.id, [make_message(conv, body="hello")])
    b = Backend(
        cfg,
        client or ClosableClient(people),
        store,
        StoppableSync(store, me),
        me,
        [make_number()],
        [me],
        account=account,
    )
    backend_mod._backends[(cfg.backend_url, cfg.token)] = b
    return b


async def start(fake: FakeSession, cfg: AppConfig) -> Shell:
    fake.register(width=1280, height=800)
    shell = Shell(fake.page, cfg)
    await shell.start()
    await settle()
    return shell


async def submit(fake: FakeSession, shell: Shell, url: str, location: str, token: str) -> None:
    view = shell.account.signin_view
    assert view is not None, "the sign-in screen is not showing"
    await fake.type_into(view.url, url)
    await fake.type_into(view.location, location)
    await fake.type_into(view.token, token)
    await fake.event(view.submit, "click")
    await until(lambda: not view.vm.busy and (shell.backend or view.error.value))


async def until(check, seconds: float = 10) -> None:
    """Let the app's tasks run (the keyring works in a thread) until check() holds."""
    for _ in range(int(seconds * 100)):
        if check():
            await settle()
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the app never got there")


def api_cfg(tmp_path: Path) -> AppConfig:
    return AppConfig(backend_url=URL, token="", location_id=LOCATION, data_dir=tmp_path)


@pytest.mark.anyio
async def test_no_saved_token_shows_sign_in_and_a_wrong_token_is_refused_in_words(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    shell = await start(fake_session, api_cfg(tmp_path))
    assert shell.backend is None
    find(shell.root, "signin")
    await submit(fake_session, shell, URL, LOCATION, "pit-wrong-4242")
    assert shell.backend is None
    assert TOKEN_REFUSED in texts(shell.root)
    assert MemoryKeyring.vault == {}
    assert not any("pit-wrong-4242" in t for t in texts(shell.root))


@pytest.mark.anyio
async def test_the_right_token_is_saved_and_opens_the_conversations(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    cfg = api_cfg(tmp_path)
    conv = make_conversation(contacts=people[:3], name="Weekend crew")
    signed_in(cfg.with_token("demo-staff"), people, conv)
    shell = await start(fake_session, cfg)
    await submit(fake_session, shell, URL, LOCATION, "demo-staff")
    assert shell.backend is not None and shell.backend.me.id == "usr_demo_staff"
    assert await keyring_store.get(f"{LOCATION}@{URL}") == Secret("demo-staff")
    find(shell.root, "create-new-message")
    remembered = (tmp_path / LAST_BACKEND_FILE).read_text()  # opens again next start
    assert URL in remembered and "demo-staff" not in remembered


@pytest.mark.anyio
async def test_a_saved_token_signs_in_without_the_form(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    cfg = api_cfg(tmp_path)
    await keyring_store.set(cfg.account, Secret("demo-staff"))
    signed_in(cfg.with_token("demo-staff"), people, make_conversation(contacts=people[:2]))
    shell = await start(fake_session, cfg)
    assert shell.backend is not None and shell.account.signin_view is None


@pytest.mark.anyio
async def test_a_401_returns_to_sign_in_and_the_draft_is_back_after_signing_in(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    cfg = api_cfg(tmp_path).with_token("demo-staff")
    await keyring_store.set(cfg.account, Secret("demo-staff"))
    conv = make_conversation(contacts=people[:3], name="Weekend crew")
    first = signed_in(cfg, people, conv)
    shell = await start(fake_session, api_cfg(tmp_path))
    await shell.open_thread(conv.id)
    await settle()
    await fake_session.type_into(shell.thread_view.input, "See you at 6")
    assert first.store.draft(conv.id) == "See you at 6"

    backend_mod._auth_lost(first.config)  # what AuthWatch does on a 401 answer
    await until(lambda: shell.account.signin_view is not None)
    assert shell.backend is None and shell.thread_vm is None
    assert SIGNED_OUT_EXPIRED in texts(shell.root)
    assert (cfg.backend_url, cfg.token) not in backend_mod._backends
    assert first.account is not None and paths.cache_db_path(first.account).exists()
    assert await keyring_store.get(cfg.account) is None  # the refused token is forgotten

    second = signed_in(cfg, people, conv)  # the same user, the same cache file
    await submit(fake_session, shell, URL, LOCATION, "demo-staff")
    assert shell.backend is second
    assert shell.thread_vm is not None and shell.thread_vm.conversation_id == conv.id
    assert shell.thread_view.input.value == "See you at 6"


@pytest.mark.anyio
async def test_sign_out_deletes_the_token_and_the_cache(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    cfg = api_cfg(tmp_path).with_token("demo-staff")
    await keyring_store.set(cfg.account, Secret("demo-staff"))
    b = signed_in(cfg, people, make_conversation(contacts=people[:3]))
    (tmp_path / LAST_BACKEND_FILE).write_text(f'{{"backend": "{URL}", "location_id": "x"}}')
    shell = await start(fake_session, api_cfg(tmp_path))
    await shell._on_nav(_nav_event(shell, 2))
    assert "Token kept in" in " ".join(texts(shell.root))
    button = find(shell.root, "sign-out").content
    await fake_session.event(button, "click")
    await until(lambda: shell.account.signin_view is not None)
    assert shell.backend is None
    find(shell.root, "signin")
    assert await keyring_store.get(cfg.account) is None
    assert b.account is not None and not b.account.exists()
    assert not (tmp_path / LAST_BACKEND_FILE).exists()


@pytest.mark.anyio
async def test_signing_out_in_one_window_takes_the_others_to_sign_in(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    cfg = api_cfg(tmp_path).with_token("demo-staff")
    await keyring_store.set(cfg.account, Secret("demo-staff"))
    b = signed_in(cfg, people, make_conversation(contacts=people[:3]))
    first = await start(fake_session, api_cfg(tmp_path))
    other_window = second_session()
    other = await start(other_window, api_cfg(tmp_path))
    assert first.backend is b and other.backend is b  # two tabs of one user share it
    await first._on_nav(_nav_event(first, 2))
    await fake_session.event(find(first.root, "sign-out").content, "click")
    await until(lambda: other.account.signin_view is not None)
    # The other window did not keep using a backend that is closed and a cache that is gone.
    assert other.backend is None and first.backend is None
    assert SIGNED_OUT_ELSEWHERE in texts(other.root)
    assert SIGNED_OUT_ELSEWHERE not in texts(first.root)
    find(first.root, "signin")


def second_session() -> FakeSession:
    """Another window (browser tab) on the same app process."""
    conn = RecordingConnection()
    conn.loop = asyncio.get_running_loop()
    conn.session = Session(conn)
    return FakeSession(session=conn.session, conn=conn)


@pytest.mark.anyio
async def test_a_backend_without_groups_explains_instead_of_the_wizard(
    fake_session, tmp_path, keyring_store, people
):
    cfg = api_cfg(tmp_path).with_token("pit-lc")
    conv = make_conversation(contacts=people[:3], name="Weekend crew")
    signed_in(cfg, people, conv, client=GrouplessClient(people))
    shell = await start(fake_session, cfg)
    await shell.open_new()
    assert GROUPS_UNSUPPORTED in texts(shell.root)
    assert shell.route == "new"
    await shell.open_thread(conv.id)
    await settle()
    assert GROUP_READ_ONLY in texts(shell.root)
    assert not shell.thread_vm.can_send
    assert not await shell.thread_vm.send("hello")
    assert shell.thread_vm.error == GROUP_READ_ONLY
    backend_mod._backends.clear()


def _nav_event(shell: Shell, index: int) -> ft.Event:
    class Rail:
        selected_index = index

    return ft.Event(name="change", control=Rail())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_open_the_demo_instead_signs_in_to_the_embedded_backend(
    fake_session, tmp_path, keyring_store
):
    shell = await start(fake_session, api_cfg(tmp_path))
    view = shell.account.signin_view
    assert view is not None
    try:
        await fake_session.event(find(view.root, "signin-demo").content, "click")
        await until(lambda: shell.backend is not None, seconds=30)
        assert shell.cfg.embedded and shell.backend.me.is_admin
        assert not (tmp_path / LAST_BACKEND_FILE).exists()
    finally:
        await backend_mod.close_all()
        for transport in backend_mod._transports.values():
            await transport.aclose()
        backend_mod._transports.clear()


@pytest.mark.anyio
async def test_show_token_reveals_and_hides_it_and_says_which(
    fake_session, tmp_path, keyring_store, sandbox, people
):
    shell = await start(fake_session, api_cfg(tmp_path))
    view = shell.account.signin_view
    assert view is not None and view.token.password
    assert view.reveal.icon.semantics_label == "Show token"  # named for a screen reader
    await fake_session.event(view.reveal, "click")
    assert not view.token.password and view.reveal.icon.semantics_label == "Hide token"
    await fake_session.event(view.reveal, "click")
    assert view.token.password and view.reveal.icon.semantics_label == "Show token"
