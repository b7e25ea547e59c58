"""The service layer for one signed-in user: client, store, sync and who they are.

Built once per (backend, token) in the process and shared by every window or
browser tab of that user, so the event loop of ``Sync`` runs once. The
embedded demo backend's transport is shared by both demo users, so admin and
staff see the same data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.config import AppConfig
from services import paths
from services.models import PhoneNumber, User

log = logging.getLogger(__name__)


class InAppNotifier:
    """Sync's notifier for the open windows: each window shows a notice (a snack bar)."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[str, str, str], None]] = []

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        for listener in list(self.listeners):
            listener(title, body, conversation_id)


@dataclass
class Backend:
    config: AppConfig
    client: Any  # services.api.client.ApiClient
    store: Any  # services.store.Store
    sync: Any  # services.sync.Sync
    me: User
    numbers: list[PhoneNumber] = field(default_factory=list)
    teammates: list[User] = field(default_factory=list)
    notifier: InAppNotifier = field(default_factory=InAppNotifier)
    account: Path | None = None  # this user's cache folder (removed by an explicit sign-out)

    @property
    def supports_groups(self) -> bool:
        """False on a backend that cannot create group chats or send into them (LeadConnector)."""
        return bool(getattr(self.client, "supports_groups", True))

    async def close(self) -> None:
        await self.sync.stop()
        await self.client.aclose()
        close_store = getattr(self.store, "close", None)
        if callable(close_store):
            close_store()


# Called with the backend's AppConfig when any request of a signed-in client gets 401.
auth_listeners: list[Callable[[AppConfig], None]] = []


class AuthWatch(httpx.AsyncBaseTransport):
    """Passes requests through; a 401 answer tells the app the sign-in is gone.

    Sync, the outbox and every view-model talk to the backend in the background;
    watching the transport catches a revoked token wherever it shows up.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, on_401: Callable[[], None]) -> None:
        self._inner = inner
        self._on_401 = on_401

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code == 401:
            self._on_401()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _auth_lost(cfg: AppConfig) -> None:
    for listener in list(auth_listeners):
        try:
            listener(cfg)
        except Exception:  # one window's failure must not hide the news from the others
            log.exception("auth listener failed")


_transports: dict[str, Any] = {}
_backends: dict[tuple[str | None, str], Backend] = {}
_lock = asyncio.Lock()


def _embedded_transport(cfg: AppConfig) -> Any:
    from services.sandbox.embedded import embedded_transport

    db = str(paths.embedded_db_path(cfg.data_dir))
    if db not in _transports:
        _transports[db] = embedded_transport(db, seed="demo")
    return _transports[db]


def _client(cfg: AppConfig, *, watch: bool = False) -> Any:
    from services.api.client import ApiClient

    if cfg.embedded:
        return ApiClient(
            "http://embedded.invalid",
            cfg.token,
            transport=_embedded_transport(cfg),
            location_id=cfg.location_id,
        )
    transport: httpx.AsyncBaseTransport | None = None
    if watch:
        # Default TLS verification (never turned off), plus the 401 watch.
        transport = AuthWatch(httpx.AsyncHTTPTransport(), lambda: _auth_lost(cfg))
    return ApiClient(
        cfg.backend_url or "", cfg.token, transport=transport, location_id=cfg.location_id
    )


async def who_am_i(client: Any, cfg: AppConfig) -> User:
    """The signed-in user; a real request, so a wrong token raises AuthError.

    LeadConnector's tokens belong to a location, not a person, and its public API
    has no "who am I": there the phone-number list proves the token, and the user
    is the location's integration.
    """
    if getattr(client, "supports_groups", True):
        me: User = await client.me()
        return me
    await client.phone_numbers()
    location = cfg.location_id or ""
    return User(id=f"integration-{location}", name="Private integration", location_id=location)


async def verify_token(cfg: AppConfig) -> User:
    """Check cfg's token against its backend before it is saved (sign-in); raises ApiError."""
    client = _client(cfg)
    try:
        return await who_am_i(client, cfg)
    finally:
        await client.aclose()


async def connect(cfg: AppConfig) -> Backend:
    """Sign in (or reuse the signed-in backend) for cfg's token; raises ApiError."""
    key = (cfg.backend_url, cfg.token)
    async with _lock:
        if key in _backends:
            return _backends[key]
        backend = await _build(cfg)
        _backends[key] = backend
        return backend


async def _build(cfg: AppConfig) -> Backend:
    from services.store import Store
    from services.sync import Sync

    client = _client(cfg, watch=True)
    try:
        me = await who_am_i(client, cfg)
        numbers = await client.phone_numbers()
        try:
            teammates = await client.teammates()
        except Exception:  # teammates are optional: a backend may refuse the list
            teammates = []
    except BaseException:
        await client.aclose()
        raise
    # One cache per backend, location and user: event ids and cursors of one server
    # mean nothing to another, and the staff user must not read the admin's cache.
    location = cfg.location_id or me.location_id or ""
    account = paths.account_dir(cfg.data_dir, cfg.backend_url or "embedded", location, me.id)
    store = Store(str(paths.cache_db_path(account)))
    notifier = InAppNotifier()
    sync = Sync(client, store, notifier, user_id=me.id)
    await sync.start()
    return Backend(
        cfg, client, store, sync, me, list(numbers), list(teammates), notifier, account=account
    )


async def disconnect(cfg: AppConfig) -> Backend | None:
    """Stop and forget cfg's signed-in backend (sign-out, or a token the server refused).

    The cache stays on disk: drafts and the outbox survive signing in again.
    """
    async with _lock:
        backend = _backends.pop((cfg.backend_url, cfg.token), None)
    if backend is not None:
        try:
            await backend.close()
        except Exception:  # closing must never stop a sign-out
            log.warning("closing the backend failed", exc_info=True)
    return backend


async def close_all() -> None:
    for backend in list(_backends.values()):
        await backend.close()
    _backends.clear()
