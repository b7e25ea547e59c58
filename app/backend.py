"""The service layer for one signed-in user: client, store, sync and who they are.

Built once per (backend, token) in the process and shared by every window or
browser tab of that user, so the event loop of ``Sync`` runs once. The
embedded demo backend's transport is shared by both demo users, so admin and
staff see the same data.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app import mobile_notifier, remembered
from app.config import AppConfig
from services import notify as notifications
from services import paths
from services.api.errors import ApiError, AuthError
from services.backoff import Backoff
from services.models import PhoneNumber, Roles, User, UserRole

log = logging.getLogger(__name__)
APP_TITLE = "Group Chat for SMS"
_RECONCILE_BACKOFF = Backoff(base=1.0, cap=30.0)


class InAppNotifier:
    """Sync's notifier for the open windows: each window shows a notice (a snack bar)."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[str, str, str], None]] = []
        # Each window's "open this conversation"; a system notification's click uses
        # the newest window.
        self.openers: list[Callable[[str], None]] = []

    def open(self, conversation_id: str) -> None:
        if self.openers:
            self.openers[-1](conversation_id)

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        for listener in list(self.listeners):
            listener(title, body, conversation_id)


class Quiet:
    """What the app's own notices leave out: threads the user muted, and (on a phone
    whose push is registered) the app's own system notification, which the push
    already gives; the in-app notice in the open window stays."""

    def __init__(self) -> None:
        self.muted: set[str] = set()
        self.pushing = False


class _Gated:
    def __init__(self, inner: notifications.Notifier, quiet: Quiet, *, system: bool) -> None:
        self._inner, self._quiet, self._system = inner, quiet, system

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        if conversation_id in self._quiet.muted or (self._system and self._quiet.pushing):
            return
        await self._inner.notify(title, body, conversation_id)


def gated_notifier(
    in_app: notifications.Notifier, system: notifications.Notifier, quiet: Quiet
) -> notifications.Notifier:
    """The in-app notice and the system's, each silenced as ``quiet`` says."""
    return notifications.FanOutNotifier(
        _Gated(in_app, quiet, system=False), _Gated(system, quiet, system=True)
    )


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
    tasks: list[asyncio.Task[None]] = field(default_factory=list)  # background work to cancel
    quiet: Quiet = field(default_factory=Quiet)  # muted threads; push rings instead

    @property
    def supports_groups(self) -> bool:
        """False on a backend that cannot create group chats or send into them (LeadConnector)."""
        return bool(getattr(self.client, "supports_groups", True))

    async def close(self, *, keep_transport: bool = False) -> None:
        for task in self.tasks:
            task.cancel()
        await self.sync.stop()
        if not keep_transport:
            await self.client.aclose()
        close_store = getattr(self.store, "close", None)
        if callable(close_store):
            close_store()


# Every window's "this sign-in is over": called with the backend's AppConfig and why.
# EXPIRED: a request of a signed-in client got 401. SIGNED_OUT: a window signed out.
EXPIRED, SIGNED_OUT = "expired", "signed out"
auth_listeners: list[Callable[[AppConfig, str], None]] = []


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
    _tell_windows(cfg, EXPIRED)


def signed_out(cfg: AppConfig) -> None:
    """One window signed out: the others on the same sign-in (tabs, windows) follow."""
    _tell_windows(cfg, SIGNED_OUT)


def _tell_windows(cfg: AppConfig, why: str) -> None:
    for listener in list(auth_listeners):
        try:
            listener(cfg, why)
        except Exception:  # one window's failure must not hide the news from the others
            log.exception("auth listener failed")


_transports: dict[str, Any] = {}
_backends: dict[tuple[str | None, str], Backend] = {}
_lock = asyncio.Lock()


class _LazyEmbedded(httpx.ASGITransport):
    """The embedded demo server, started on the app's first request, not at import.

    Importing it (Starlette, FastAPI, pydantic schemas) took ~0.5 s of a 1 s cold
    start, before the list could be painted from the device cache, which needs no
    server (issue 19). The import runs in a worker thread, so the painted window
    stays responsive meanwhile; the server itself is built on the loop. (An ASGI
    transport, as the client tells an in-process backend by its class.)"""

    def __init__(self, db: str) -> None:  # no app yet: the inner transport has it
        self.db = db
        self._inner: Any = None
        self._starting = asyncio.Lock()

    async def _server(self) -> Any:
        async with self._starting:
            if self._inner is None:
                module = await asyncio.to_thread(
                    importlib.import_module, "services.server.embedded"
                )
                self._inner = module.embedded_transport(self.db, seed="demo")
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = await self._server()
        response: httpx.Response = await inner.handle_async_request(request)
        return response

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def _embedded_transport(cfg: AppConfig) -> Any:
    db = str(paths.embedded_db_path(cfg.data_dir))
    if db not in _transports:
        _transports[db] = _LazyEmbedded(db)
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
        cfg.backend_url or "",
        cfg.token,
        transport=transport,
        location_id=cfg.location_id,
        company_id=cfg.company_id,
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
    # A Private Integration token acts for the whole location: the rules treat it as an
    # admin (every number, every contact), as LeadConnector itself does.
    return User(
        id=f"integration-{location}",
        name="Private integration",
        location_id=location,
        roles=Roles(role=UserRole.ADMIN),
    )


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
    """Open the user's cache first; ask the server who they are only when it must.

    A token seen before (``app.remembered``) opens its user's cache at once, so a
    cold start paints the last conversations even with the network down; the
    server is asked in the background (``_reconcile``). A token never seen on this
    device needs the server now: its answer names the cache folder.
    """
    from services.store import Store
    from services.sync import Sync

    client = _client(cfg, watch=True)
    recalled = asyncio.get_running_loop().run_in_executor(
        None, remembered.recall, cfg.data_dir, cfg.backend_name, cfg.location_id, cfg.token
    )
    early = _open_early(cfg)
    try:
        known = await recalled
        if known is None:
            who = await _ask_who(client, cfg)
            account = _account(cfg, who.me)
            _remember(account, cfg, who)
        else:
            account, who = known
    except BaseException:
        await client.aclose()
        if early is not None:
            early[1].close()
        raise
    store = None
    if early is not None:
        guess, store = early
        if guess != account:  # another user's cache: never shown, closed unread
            store.close()
            store = None
    if store is None:
        store = Store(str(paths.cache_db_path(account)))
    notifier = InAppNotifier()
    quiet = Quiet()
    # The in-app notice in every open window, and the system's where it has one.
    system = mobile_notifier.system_notifier(APP_TITLE, notifier.open)
    sync = Sync(client, store, gated_notifier(notifier, system, quiet), user_id=who.me.id)
    backend = Backend(
        cfg,
        client,
        store,
        sync,
        who.me,
        list(who.numbers),
        list(who.teammates),
        notifier,
        quiet=quiet,
    )
    backend.account = account
    await sync.start()
    backend.tasks.append(
        asyncio.create_task(_reconcile(backend, asked=known is None), name="reconcile")
    )
    return backend


def _open_early(cfg: AppConfig) -> tuple[Path, Any] | None:
    """The cache of the one account remembered for cfg's backend, opened while the token's
    fingerprint is checked in a thread: its key stretching (~25 ms) runs outside the GIL,
    so a returning user's start waits for the longer of the two, not for both.

    Nothing of it is shown unless the fingerprint names the same account (``_build``)."""
    from services.store import Store

    if not cfg.token:
        return None
    guess = remembered.likely_account(cfg.data_dir, cfg.backend_name, cfg.location_id)
    if guess is None:
        return None
    try:
        return guess, Store(str(paths.cache_db_path(guess)))
    except Exception as exc:  # a damaged cache: opened (and reported) on the usual path
        log.debug("early cache open failed", exc_info=exc)
        return None


async def _ask_who(client: Any, cfg: AppConfig) -> remembered.Remembered:
    me = await who_am_i(client, cfg)
    numbers = await client.phone_numbers()
    try:
        teammates = await client.teammates()
    except ApiError:  # teammates are optional: a backend may refuse the list
        teammates = []
    return remembered.Remembered(me, list(numbers), list(teammates))


def _where(cfg: AppConfig, me: User) -> tuple[str, str]:
    return cfg.backend_name, cfg.location_id or me.location_id or ""


def _account(cfg: AppConfig, me: User) -> Path:
    # One cache per backend, location and user: event ids and cursors of one server
    # mean nothing to another, and the staff user must not read the admin's cache.
    backend, location = _where(cfg, me)
    return paths.account_dir(cfg.data_dir, backend, location, me.id)


async def _reconcile(backend: Backend, *, asked: bool) -> None:
    """Once the server answers: who we are, our numbers and teammates, the list, people.

    Runs in the background so nothing waits on the network; retries until the
    server answers (a 401 is not retried: the sign-in screen takes over).
    """
    connected = asyncio.Event()

    def on_change(change: Any) -> None:
        if type(change).__name__ == "ConnectionChanged" and str(change.state) == "connected":
            connected.set()

    unsubscribe = backend.store.subscribe(on_change)
    waited: list[bool] = []
    try:
        if not asked:
            who = await _until_answered(
                lambda: _ask_who(backend.client, backend.config), connected, waited
            )
            if who is None:
                return
            _update_who(backend, who)
        if waited:
            # The list's first refresh (ConversationsVM.reload) failed while we waited.
            await _until_answered(backend.sync.refresh_conversations, connected, waited)
        await _until_answered(backend.sync.refresh_people, connected, waited)
    finally:
        unsubscribe()


async def _until_answered(
    call: Callable[[], Any], connected: asyncio.Event, waited: list[bool]
) -> Any:
    """call() until it succeeds; between tries, wait for the connection or a backoff."""
    failures = 0
    while True:
        try:
            return await call()
        except AuthError:
            return None
        except ApiError as error:
            failures += 1
            waited.append(True)
            log.info("waiting for the server (%s)", error)
            connected.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_RECONCILE_BACKOFF.delay(failures)):
                    await connected.wait()


def _update_who(backend: Backend, who: remembered.Remembered) -> None:
    if who.me.id != backend.me.id:
        # The server now names another user for this token: keep the cache we opened
        # (its folder is still this token's), but use the server's answer from now on.
        log.warning("the signed-in user changed from %s to %s", backend.me.id, who.me.id)
        backend.sync.user_id = who.me.id
    backend.me = who.me
    # In place: open view-models hold these lists.
    backend.numbers[:] = who.numbers
    backend.teammates[:] = who.teammates
    if backend.account is not None:
        _remember(backend.account, backend.config, who)


def _remember(account: Path, cfg: AppConfig, who: remembered.Remembered) -> None:
    try:
        remembered.remember(account, _where(cfg, who.me), cfg.token, who)
    except OSError:  # only the next offline start is lost, never this sign-in
        log.warning("could not remember the signed-in user", exc_info=True)


async def disconnect(cfg: AppConfig) -> Backend | None:
    """Stop and forget cfg's signed-in backend (sign-out, or a token the server refused).

    The cache stays on disk: drafts and the outbox survive signing in again.
    """
    async with _lock:
        backend = _backends.pop((cfg.backend_url, cfg.token), None)
    if backend is not None:
        try:
            # The embedded backend's transport is shared by both demo users and every
            # window (closing the client would close it): only this session stops.
            await backend.close(keep_transport=cfg.embedded)
        except Exception:  # closing must never stop a sign-out
            log.warning("closing the backend failed", exc_info=True)
    return backend


async def close_all() -> None:
    for backend in list(_backends.values()):
        await backend.close()
    _backends.clear()
