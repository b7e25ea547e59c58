"""Tokens in iOS Keychain / Android Keystore through flet-secure-storage.

keyring has no backend on iOS or Android, so there the token goes through the
Flet client's secure storage instead. This adapter implements
services.credentials.CredentialStore; it lives in app/ because services never
imports flet.

Call `credential_store_for_platform()` once inside the Flet `main(page)` (the
SecureStorage service registers itself with the current page and must stay
referenced; the returned store holds it).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from services.credentials import (
    CredentialError,
    CredentialStore,
    Secret,
    open_desktop_store,
    store_failure,
)

log = logging.getLogger(__name__)

MOBILE_PLATFORMS = frozenset({"ios", "android"})
# One prefix for our keys in the shared storage of the app sandbox.
_KEY_PREFIX = "gcs.token."


def is_mobile() -> bool:
    """True inside an app built for iOS or Android (Flet sets FLET_PLATFORM there)."""
    return os.environ.get("FLET_PLATFORM", "").lower() in MOBILE_PLATFORMS


class FletSecureStore:
    """CredentialStore over flet_secure_storage.SecureStorage (async, on the Flet client)."""

    available = True
    description = "device secure storage (Keychain / Keystore)"

    def __init__(self, storage: Any | None = None) -> None:
        # Imported here so desktop and web runs never need the extension's client part.
        import flet_secure_storage as fss

        if storage is None:
            storage = fss.SecureStorage(
                # Stays on this device: no iCloud sync, not readable before first unlock.
                ios_options=fss.IOSOptions(
                    accessibility=fss.KeychainAccessibility.FIRST_UNLOCK_THIS_DEVICE,
                    synchronizable=False,
                ),
                android_options=fss.AndroidOptions(reset_on_error=True),
            )
        self._storage = storage

    def __repr__(self) -> str:
        return "FletSecureStore()"

    async def get(self, account: str) -> Secret | None:
        try:
            text = await self._storage.get(_KEY_PREFIX + account)
        except Exception as exc:
            raise store_failure("read", account, exc) from None
        return Secret(text) if text else None

    async def set(self, account: str, token: Secret) -> None:
        if not isinstance(token, Secret):
            raise TypeError("pass the token as a Secret")
        try:
            await self._storage.set(_KEY_PREFIX + account, token.reveal())
        except Exception as exc:
            raise store_failure("save", account, exc) from None

    async def delete(self, account: str) -> None:
        try:
            await self._storage.remove(_KEY_PREFIX + account)
        except Exception as exc:
            raise store_failure("delete", account, exc) from None


def credential_store_for_platform() -> CredentialStore:
    """Secure storage on iOS/Android, the keyring on desktops, memory when neither exists.

    Check `.available`: False means show services.credentials.NO_SECURE_STORAGE_MESSAGE.
    """
    if is_mobile():
        try:
            return FletSecureStore()
        except Exception as exc:  # the client lacks the extension: degrade, and say so
            log.warning("secure storage unavailable (%s)", type(exc).__name__)
    return open_desktop_store()


__all__ = ["CredentialError", "FletSecureStore", "credential_store_for_platform", "is_mobile"]
