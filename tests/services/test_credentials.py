"""The token store on a real (in-test) keyring backend: it works and the token leaks nowhere."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from services import paths
from services.credentials import (
    NO_SECURE_STORAGE_MESSAGE,
    CredentialError,
    CredentialStore,
    KeyringStore,
    MemoryStore,
    Secret,
    open_desktop_store,
)

TOKEN = "pit-7f3c9e1a-4b2d-4c8e-9f00-d1e2f3a4b5c6"
OTHER = "pit-0000aaaa-1111-2222-3333-444455556666"
ACCOUNT = "loc_42@https://api.example.com"


class DictKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend whose vault is a dict, so the test can look inside."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.vault: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.vault.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.vault[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.vault:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.vault[(service, username)]


class LockedKeyring(DictKeyring):
    """A keychain that refuses writes and puts the password in its error text."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"locked; refused {password}")


def files_containing(root: Path, needle: str) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and needle.encode() in f.read_bytes()]


@pytest.fixture
def backend() -> DictKeyring:
    return DictKeyring()


@pytest.mark.anyio
async def test_set_read_replace_clear(backend: DictKeyring) -> None:
    store = KeyringStore(backend)
    assert store.available
    assert await store.get(ACCOUNT) is None

    await store.set(ACCOUNT, Secret(TOKEN))
    assert (await store.get(ACCOUNT)) == Secret(TOKEN)
    assert list(backend.vault) == [("com.groupchatsms.app", ACCOUNT)]

    await store.set(ACCOUNT, Secret(OTHER))
    got = await store.get(ACCOUNT)
    assert got is not None and got.reveal() == OTHER
    assert len(backend.vault) == 1

    await store.delete(ACCOUNT)
    assert await store.get(ACCOUNT) is None
    assert backend.vault == {}
    await store.delete(ACCOUNT)  # signing out twice is fine


@pytest.mark.anyio
async def test_accounts_are_kept_apart(backend: DictKeyring) -> None:
    store = KeyringStore(backend)
    await store.set("a@x", Secret(TOKEN))
    await store.set("b@x", Secret(OTHER))
    await store.delete("a@x")
    assert await store.get("a@x") is None
    assert await store.get("b@x") == Secret(OTHER)


@pytest.mark.anyio
async def test_the_token_leaks_nowhere(
    backend: DictKeyring, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After a full run, the token is only in the keyring: not in files, logs or reprs."""
    caplog.set_level(logging.DEBUG)
    data = paths.app_data_dir(tmp_path / "data")
    account_dir = paths.account_dir(data, "https://api.example.com", "loc_42", "user_1")
    paths.cache_db_path(account_dir).write_text("cache")
    store = open_desktop_store(backend)
    secret = Secret(TOKEN)

    await store.set(ACCOUNT, secret)
    got = await store.get(ACCOUNT)
    await store.set(ACCOUNT, Secret(OTHER))
    failing = KeyringStore(LockedKeyring())
    with pytest.raises(CredentialError) as failure:
        await failing.set(ACCOUNT, secret)
    logging.getLogger("test").info("signed in with %s / %r / %s", secret, got, f"{secret}")

    texts = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        repr(got),
        repr(store),
        repr(failing),
        str(failure.value),
        repr(failure.value),
        str(failure.value.__cause__),
        caplog.text,
    ]
    for text in texts:
        assert TOKEN not in text
    assert "could not save the token for " + ACCOUNT in str(failure.value)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    assert files_containing(tmp_path, TOKEN) == []
    assert backend.vault[("com.groupchatsms.app", ACCOUNT)] == OTHER


def test_a_secret_is_masked_and_cannot_be_pickled() -> None:
    secret = Secret(f"  {TOKEN}\n")
    assert secret.reveal() == TOKEN
    assert repr(secret) == "Secret('********')"
    assert str(secret) == "********"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert Secret(TOKEN) == Secret(TOKEN) and Secret(TOKEN) != Secret(OTHER)


@pytest.mark.parametrize("bad", ["", "   ", "abc def", "abc\r\nX-Evil: 1"])
def test_a_secret_refuses_empty_or_header_breaking_text(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        Secret(bad)
    assert "X-Evil" not in str(info.value)


@pytest.mark.anyio
async def test_stores_take_only_secrets(backend: DictKeyring) -> None:
    for store in (KeyringStore(backend), MemoryStore()):
        with pytest.raises(TypeError):
            await store.set(ACCOUNT, TOKEN)  # type: ignore[arg-type]
    assert backend.vault == {}


@pytest.mark.anyio
async def test_no_secure_store_falls_back_to_memory_and_says_so() -> None:
    store = open_desktop_store(keyring.backends.fail.Keyring())
    assert isinstance(store, MemoryStore)
    assert not store.available
    assert "sign in again" in NO_SECURE_STORAGE_MESSAGE
    await store.set(ACCOUNT, Secret(TOKEN))
    assert await store.get(ACCOUNT) == Secret(TOKEN)
    await store.delete(ACCOUNT)
    assert await store.get(ACCOUNT) is None
    assert TOKEN not in repr(store)


def test_a_real_backend_is_chosen_when_present(backend: DictKeyring) -> None:
    store = open_desktop_store(backend)
    assert isinstance(store, KeyringStore) and store.available
    assert isinstance(store, CredentialStore)
    assert isinstance(MemoryStore(), CredentialStore)


def test_plaintext_keyrings_do_not_count_as_secure() -> None:
    plaintext = type("PlaintextKeyring", (DictKeyring,), {"__module__": "keyrings.alt.file"})
    assert isinstance(open_desktop_store(plaintext()), MemoryStore)
