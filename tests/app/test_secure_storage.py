"""The flet-secure-storage adapter, over a stand-in for the client-side SecureStorage service."""

from __future__ import annotations

import keyring
import keyring.backends.fail
import pytest

from app.secure_storage import FletSecureStore, credential_store_for_platform, is_mobile
from services.credentials import CredentialError, CredentialStore, MemoryStore, Secret

TOKEN = "pit-secret-value-123"


class FakeSecureStorage:
    """Same async methods as flet_secure_storage.SecureStorage; the dict is the device vault."""

    def __init__(self, fail: bool = False) -> None:
        self.vault: dict[str, str] = {}
        self.fail = fail

    async def get(self, key: str) -> str | None:
        return self.vault.get(key)

    async def set(self, key: str, value: str) -> None:
        if self.fail:
            raise RuntimeError(f"PlatformException: could not store {value}")
        self.vault[key] = value

    async def remove(self, key: str) -> None:
        self.vault.pop(key, None)


@pytest.mark.anyio
async def test_set_read_replace_clear() -> None:
    device = FakeSecureStorage()
    store = FletSecureStore(device)
    assert isinstance(store, CredentialStore) and store.available
    await store.set("loc@x", Secret(TOKEN))
    assert await store.get("loc@x") == Secret(TOKEN)
    await store.set("loc@x", Secret("pit-other"))
    assert list(device.vault.values()) == ["pit-other"]
    await store.delete("loc@x")
    assert await store.get("loc@x") is None and device.vault == {}


@pytest.mark.anyio
async def test_a_platform_failure_never_carries_the_token() -> None:
    store = FletSecureStore(FakeSecureStorage(fail=True))
    with pytest.raises(CredentialError) as info:
        await store.set("loc@x", Secret(TOKEN))
    assert TOKEN not in str(info.value) and info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_desktop_and_web_use_the_keyring_or_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLET_PLATFORM", raising=False)
    monkeypatch.setattr(keyring, "get_keyring", keyring.backends.fail.Keyring)
    assert not is_mobile()
    # No keyring backend (a headless Linux box): memory, which the UI must announce.
    store = credential_store_for_platform()
    assert isinstance(store, MemoryStore) and not store.available


def test_mobile_is_detected_from_flet_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLET_PLATFORM", "android")
    assert is_mobile()
    # Outside a page the service is not registered yet, but the adapter builds.
    assert isinstance(credential_store_for_platform(), FletSecureStore)
