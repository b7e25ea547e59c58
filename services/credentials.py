"""Access tokens in the platform's secure store, behind one small interface.

    CredentialStore (protocol)    async get(account) / set(account, token) / delete(account),
                                  `available`: True when tokens survive a restart securely
    ├── KeyringStore              Windows Credential Locker, macOS Keychain, Secret Service
    ├── MemoryStore               no secure store on this device: memory only, say so
    └── app/secure_storage.py     flet-secure-storage on iOS and Android (lives in app/,
                                  because services never imports flet)

`open_desktop_store()` picks keyring when a real backend is present, else memory.

A token is a `Secret`: its repr and str are masked, it refuses to be pickled, and
`reveal()` is the only way to the text (the API client calls it to build the
Authorization header). Errors and logs name the account, never the token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, NoReturn, Protocol, runtime_checkable

if TYPE_CHECKING:
    # Imported where a keyring is opened, not with this module: ~60 ms of a cold start
    # that a demo (no token to keep) never needs.
    import keyring.backend

log = logging.getLogger(__name__)

SERVICE_NAME = "com.groupchatsms.app"
NO_SECURE_STORAGE_MESSAGE = (
    "No secure storage on this device: you'll need to sign in again next time."
)
_MASK = "********"


class Secret:
    """A token that never shows itself: masked in repr, str, f-strings and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ValueError("a token must not be empty")
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            # Would corrupt the Authorization header (or inject another one).
            raise ValueError("a token must not contain spaces or control characters")
        self._value = value

    def reveal(self) -> str:
        """The token itself: only for the Authorization header or the secure store."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        # Pickle is how secrets end up in files; refuse rather than mask.
        raise TypeError("a Secret cannot be pickled")


class CredentialError(Exception):
    """The secure store failed. The message names the account and never the token."""

    user_message = "Your sign-in could not be saved securely on this device."
    kind = ""  # the underlying exception's type name, for diagnosis


@runtime_checkable
class CredentialStore(Protocol):
    """Where tokens live. Accounts are `Settings.account`: "<location>@<backend>"."""

    @property
    def available(self) -> bool:
        """True when a secure store keeps the token across restarts; False: memory only."""
        ...

    @property
    def description(self) -> str:
        """Where tokens go, for the Settings screen ("macOS Keychain", "memory only")."""
        ...

    async def get(self, account: str) -> Secret | None: ...

    async def set(self, account: str, token: Secret) -> None: ...

    async def delete(self, account: str) -> None: ...


class MemoryStore:
    """Tokens kept in this process only; the UI shows NO_SECURE_STORAGE_MESSAGE."""

    available = False
    description = "memory only (no secure storage on this device)"

    def __init__(self) -> None:
        self._tokens: dict[str, Secret] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(accounts={len(self._tokens)})"

    async def get(self, account: str) -> Secret | None:
        return self._tokens.get(account)

    async def set(self, account: str, token: Secret) -> None:
        self._tokens[account] = _checked(token)

    async def delete(self, account: str) -> None:
        self._tokens.pop(account, None)


class KeyringStore:
    """Tokens in the desktop's keyring. Calls run in a thread: D-Bus and Keychain can block."""

    available = True

    def __init__(
        self, backend: keyring.backend.KeyringBackend | None = None, service: str = SERVICE_NAME
    ) -> None:
        if backend is None:
            import keyring

            backend = keyring.get_keyring()
        self._backend = backend
        self._service = service

    def __repr__(self) -> str:
        return f"KeyringStore({self.description!r})"

    @property
    def description(self) -> str:
        return _backend_label(self._backend)

    async def get(self, account: str) -> Secret | None:
        try:
            text = await asyncio.to_thread(self._backend.get_password, self._service, account)
        except Exception as exc:
            raise store_failure("read", account, exc) from None
        return Secret(text) if text else None

    async def set(self, account: str, token: Secret) -> None:
        value = _checked(token).reveal()
        try:
            await asyncio.to_thread(self._backend.set_password, self._service, account, value)
        except Exception as exc:
            raise store_failure("save", account, exc) from None

    async def delete(self, account: str) -> None:
        import keyring.errors

        try:
            await asyncio.to_thread(self._backend.delete_password, self._service, account)
        except keyring.errors.PasswordDeleteError:
            return  # nothing stored: sign-out must always succeed
        except Exception as exc:
            raise store_failure("delete", account, exc) from None


def usable_keyring(backend: keyring.backend.KeyringBackend) -> bool:
    """False for keyring's fail/null backends and for plaintext-file ones (not secure)."""
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")):
        return False
    children = getattr(backend, "backends", None)
    if children is not None:  # the chainer: usable when any child is
        return any(usable_keyring(child) for child in children)
    return True


def open_desktop_store(backend: keyring.backend.KeyringBackend | None = None) -> CredentialStore:
    """The keyring on Windows, macOS and Linux desktops; memory when there is none."""
    import keyring

    try:
        chosen = backend if backend is not None else keyring.get_keyring()
    except Exception as exc:  # a broken keyring config must not stop the app
        log.warning("keyring unavailable (%s); keeping tokens in memory", type(exc).__name__)
        return MemoryStore()
    if not usable_keyring(chosen):
        log.info("no secure store on this device; keeping tokens in memory")
        return MemoryStore()
    return KeyringStore(chosen)


def _checked(token: object) -> Secret:
    if not isinstance(token, Secret):
        raise TypeError("pass the token as a Secret")
    return token


def store_failure(verb: str, account: str, exc: Exception) -> CredentialError:
    # Keep only the exception's type: its text or traceback could carry what was
    # passed in (the token), so callers raise this `from None`.
    kind = type(exc).__name__
    log.warning("could not %s the token for %s (%s)", verb, account, kind)
    error = CredentialError(f"could not {verb} the token for {account} ({kind})")
    error.kind = kind
    return error


def _backend_label(backend: keyring.backend.KeyringBackend) -> str:
    name = type(backend).__module__.rsplit(".", 1)[-1]
    return {
        "macOS": "macOS Keychain",
        "Windows": "Windows Credential Locker",
        "SecretService": "Secret Service (GNOME Keyring / KWallet)",
        "kwallet": "KWallet",
        "chainer": "system keyring",
    }.get(name, f"keyring ({getattr(backend, 'name', name)})")
