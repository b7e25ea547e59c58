"""Sign-in: what was typed is checked in words, and the token is verified before it is saved.

The backend is the real sandbox in-process (httpx.ASGITransport); the token goes
into a real KeyringStore over an in-memory keyring backend.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.backend import who_am_i
from app.config import AppConfig
from app.state.signin import (
    LOCATION_EMPTY,
    TOKEN_EMPTY,
    TOKEN_REFUSED,
    URL_EMPTY,
    URL_NOT_WEB,
    SignInVM,
)
from services.api.client import ApiClient
from services.credentials import (
    NO_SECURE_STORAGE_MESSAGE,
    KeyringStore,
    MemoryStore,
    Secret,
)
from services.server.embedded import embedded_transport
from tests.memory_keyring import MemoryKeyring

URL = "http://127.0.0.1:8765"


@pytest.fixture
def keyring_store():
    MemoryKeyring.vault.clear()
    yield KeyringStore(MemoryKeyring())
    MemoryKeyring.vault.clear()


@pytest.fixture
async def sandbox(tmp_path: Path):
    transport = embedded_transport(str(tmp_path / "sandbox.sqlite3"), seed="demo")
    yield transport
    await transport.aclose()


def vm_for(tmp_path: Path, store, transport=None, notice=None) -> SignInVM:
    calls: list[str] = []

    async def verify(cfg: AppConfig):
        calls.append(cfg.account)
        assert transport is not None, "no request expected"
        client = ApiClient(
            cfg.backend_url or "", cfg.token, transport=transport, location_id=cfg.location_id
        )
        try:
            return await who_am_i(client, cfg)
        finally:
            await client.aclose()

    vm = SignInVM(
        cfg=AppConfig(backend_url=None, data_dir=tmp_path),
        credentials=store,
        verify=verify,
        notice=notice,
    )
    vm.calls = calls  # type: ignore[attr-defined]
    return vm


def test_a_bad_address_is_explained_in_words(tmp_path):
    vm = vm_for(tmp_path, MemoryStore())
    assert vm.check("", "loc", "t")["url"] == URL_EMPTY
    assert vm.check("ftp://example.com", "loc", "t")["url"] == URL_NOT_WEB
    assert vm.check("not a host", "loc", "t")["url"] == URL_NOT_WEB
    assert "user name or password" in vm.check("https://me:pw@api.example.com", "l", "t")["url"]
    assert vm.check("api.example.com", "loc", "t") == {}  # https:// is assumed


def test_plain_http_to_a_remote_host_is_refused_but_loopback_is_fine(tmp_path):
    vm = vm_for(tmp_path, MemoryStore())
    problem = vm.check("http://api.example.com", "loc", "tok")["url"]
    assert problem.startswith("The server address must use https://")
    assert vm.check("http://127.0.0.1:8000", "loc", "tok") == {}
    assert vm.check("http://localhost:8000", "loc", "tok") == {}


def test_location_and_token_are_required(tmp_path):
    vm = vm_for(tmp_path, MemoryStore())
    problems = vm.check("https://api.example.com", " ", "  ")
    assert problems == {"location": LOCATION_EMPTY, "token": TOKEN_EMPTY}
    assert "spaces" in vm.check("https://api.example.com", "loc", "ab cd")["token"]
    assert "letters, digits" in vm.check("https://api.example.com", "loc/../x", "t")["location"]


@pytest.mark.anyio
async def test_nothing_is_sent_while_a_field_is_wrong(tmp_path, keyring_store):
    vm = vm_for(tmp_path, keyring_store)
    seen: list[str] = []
    vm.listen(lambda what, payload: seen.append(what))
    assert await vm.sign_in("http://api.example.com", "loc_demo", "demo-staff") is None
    assert vm.calls == []  # type: ignore[attr-defined]
    assert "errors" in seen and MemoryKeyring.vault == {}


@pytest.mark.anyio
async def test_a_wrong_token_is_refused_by_the_server_and_never_saved(
    tmp_path, keyring_store, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    vm = vm_for(tmp_path, keyring_store, sandbox)
    errors: list[str] = []
    vm.listen(lambda what, payload: errors.append(payload) if what == "error" else None)
    wrong = "pit-wrong-token-4242"
    assert await vm.sign_in(URL, "loc_demo", wrong) is None
    assert vm.calls == [f"loc_demo@{URL}"]  # type: ignore[attr-defined]
    assert errors == [TOKEN_REFUSED]
    assert MemoryKeyring.vault == {}
    assert await keyring_store.get(f"loc_demo@{URL}") is None
    assert wrong not in caplog.text and wrong not in (vm.error or "")
    assert not vm.busy


@pytest.mark.anyio
async def test_the_right_token_is_verified_then_saved_in_the_keyring(
    tmp_path, keyring_store, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    vm = vm_for(tmp_path, keyring_store, sandbox)
    result = await vm.sign_in(URL + "/", " loc_demo ", "demo-staff\n")
    assert result is not None and result.saved
    assert result.user.id and not result.user.is_admin  # the staff user, from GET /users/me
    assert result.cfg.backend_url == URL and result.cfg.location_id == "loc_demo"
    assert await keyring_store.get(result.cfg.account) == Secret("demo-staff")
    assert "demo-staff" not in repr(result.cfg)
    assert "demo-staff" not in caplog.text


@pytest.mark.anyio
async def test_without_secure_storage_sign_in_works_and_says_so(tmp_path, sandbox):
    store = MemoryStore()
    vm = vm_for(tmp_path, store, sandbox)
    assert vm.storage_warning == NO_SECURE_STORAGE_MESSAGE
    result = await vm.sign_in(URL, "loc_demo", "demo-admin")
    assert result is not None and not result.saved
    assert vm.warning == NO_SECURE_STORAGE_MESSAGE
    assert await store.get(result.cfg.account) == Secret("demo-admin")


@pytest.mark.anyio
async def test_the_verification_happens_before_the_save(tmp_path, sandbox):
    order: list[str] = []

    class RecordingStore(MemoryStore):
        available = True
        description = "test store"

        async def set(self, account, token):
            order.append("set")
            await super().set(account, token)

    store = RecordingStore()
    vm = vm_for(tmp_path, store, sandbox)
    real_verify = vm.verify

    async def verify(cfg):
        order.append("verify")
        return await real_verify(cfg)

    vm.verify = verify
    assert await vm.sign_in(URL, "loc_demo", "demo-admin") is not None
    assert order == ["verify", "set"]
