"""The service layer for one signed-in user: client, store, sync and who they are.

Built once per (backend, token) in the process and shared by every window or
browser tab of that user, so the event loop of ``Sync`` runs once. The
embedded demo backend's transport is shared by both demo users, so admin and
staff see the same data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.config import AppConfig
from services import paths
from services.models import PhoneNumber, User


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

    async def close(self) -> None:
        await self.sync.stop()
        await self.client.aclose()


_transports: dict[str, Any] = {}
_backends: dict[tuple[str | None, str], Backend] = {}
_lock = asyncio.Lock()


def _embedded_transport(cfg: AppConfig) -> Any:
    from services.sandbox.embedded import embedded_transport

    db = str(paths.embedded_db_path(cfg.data_dir))
    if db not in _transports:
        _transports[db] = embedded_transport(db, seed="demo")
    return _transports[db]


def _client(cfg: AppConfig) -> Any:
    from services.api.client import ApiClient

    if cfg.embedded:
        return ApiClient(
            "http://embedded.invalid",
            cfg.token,
            transport=_embedded_transport(cfg),
            location_id=cfg.location_id,
        )
    return ApiClient(cfg.backend_url or "", cfg.token, location_id=cfg.location_id)


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

    client = _client(cfg)
    try:
        me = await client.me()
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
    return Backend(cfg, client, store, sync, me, list(numbers), list(teammates), notifier)


async def close_all() -> None:
    for backend in list(_backends.values()):
        await backend.close()
    _backends.clear()
