"""The shell's sign-in life cycle: the saved token, the sign-in screen, 401s, sign-out.

Kept out of shell.py so the frame stays about layout. The shell owns one
``AccountFlow``; it reads and changes the shell's ``cfg`` and ``backend``.

- At start an API backend's token comes from the platform's secure store; with
  none saved, the sign-in screen shows.
- A 401 on any request (Sync, outbox, a view-model) stops the session and shows
  sign-in with the reason. The cache stays, so the typed draft is there after
  signing in again, and the thread that was open opens again.
- "Sign out" deletes the token and this user's cache (app/state/settings.py).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from app import backend as backend_mod
from app.config import AppConfig, forget_backend, remember_backend
from app.secure_storage import credential_store_for_platform
from app.state.features import GROUPS_UNSUPPORTED
from app.state.settings import sign_out, storage_words
from app.views.ui import handle, mounted, say
from services.credentials import NO_SECURE_STORAGE_MESSAGE, CredentialError, CredentialStore

if TYPE_CHECKING:
    from app.state.signin import SignInResult
    from app.views.shell import Shell
    from app.views.signin import SignInView

log = logging.getLogger(__name__)

__all__ = ["GROUPS_UNSUPPORTED", "AccountFlow", "UnsupportedView"]
SIGNED_OUT_EXPIRED = "Your sign-in has expired or is no longer valid. Please sign in again."
SIGNED_OUT_ELSEWHERE = "You signed out in another window. Sign in again to continue."

# Tests swap this for a store over a test keyring backend.
store_factory: Callable[[], CredentialStore] = credential_store_for_platform


class AccountFlow:
    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.credentials: CredentialStore | None = None
        self.signin_view: SignInView | None = None
        self.resume_conversation: str | None = None
        self._losing = False
        # Held weakly: a closed browser tab's shell must not live on in the module list.
        method = weakref.WeakMethod(self._on_401)

        def listener(cfg: AppConfig, why: str) -> None:
            on_401 = method()
            if on_401 is None:
                with contextlib.suppress(ValueError):
                    backend_mod.auth_listeners.remove(listener)
            else:
                on_401(cfg, why)

        self._listener = listener
        backend_mod.auth_listeners.append(listener)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            backend_mod.auth_listeners.remove(self._listener)

    # --- start -------------------------------------------------------------------------------

    async def begin(self) -> None:
        """Connect with what we have (demo, --token, saved token) or show sign-in."""
        shell = self.shell
        cfg = shell.cfg
        if not cfg.embedded:
            # The demo keeps no token: finding the system's keyring (~70 ms of plugins)
            # waits until a sign-in needs it, off the demo's cold start.
            self._creds()
        if not cfg.embedded and not cfg.token:
            token = await self._saved_token(cfg)
            if token is None:
                self.show_signin()
                return
            shell.cfg = cfg.with_token(token)
        await shell._connect()

    def _creds(self) -> CredentialStore:
        if self.credentials is None:
            self.credentials = store_factory()
        return self.credentials

    async def _saved_token(self, cfg: AppConfig) -> str | None:
        assert self.credentials is not None
        try:
            secret = await self.credentials.get(cfg.account)
        except CredentialError as exc:
            log.warning("reading the saved sign-in failed (%s)", exc.kind)
            return None
        return secret.reveal() if secret is not None else None

    # --- the sign-in screen --------------------------------------------------------------------

    def show_signin(self, notice: str | None = None) -> None:
        # Imported when first shown: a returning user's start never shows it (issue 19).
        from app.state.signin import SignInVM
        from app.views.signin import SignInView

        shell = self.shell
        shell.backend = None
        vm = SignInVM(
            cfg=shell.cfg,
            credentials=self._creds(),
            verify=backend_mod.verify_token,
            notice=notice,
        )
        self.signin_view = SignInView(vm, on_signed_in=self._signed_in, on_demo=self._demo)
        shell.root.content = self.signin_view.root
        _show(shell)

    async def _signed_in(self, result: SignInResult) -> None:
        shell = self.shell
        self.signin_view = None
        shell.cfg = result.cfg
        await shell._connect()
        b = shell.backend
        if b is None:
            return
        _quietly(remember_backend, result.cfg)  # the next start opens this backend again
        if not result.saved:
            say(shell.page, NO_SECURE_STORAGE_MESSAGE)
        resume, self.resume_conversation = self.resume_conversation, None
        if resume and b.store.conversation(resume) is not None:
            await shell.open_thread(resume)

    async def _demo(self) -> None:
        self.signin_view = None
        _quietly(forget_backend, self.shell.cfg)
        self.shell.cfg = self.shell.cfg.for_demo()
        await self.shell._connect()

    # --- losing the sign-in (401) -----------------------------------------------------------------

    def _on_401(self, cfg: AppConfig, why: str = backend_mod.EXPIRED) -> None:
        b = self.shell.backend
        if b is None or b.config != cfg or self._losing:
            return  # another sign-in, or the window that signed out (already on sign-in)
        self._losing = True
        notice = SIGNED_OUT_ELSEWHERE if why == backend_mod.SIGNED_OUT else SIGNED_OUT_EXPIRED
        try:
            self.shell.page.run_task(self.lost_sign_in, notice)
        except Exception:  # the window is gone
            self._losing = False

    async def lost_sign_in(self, notice: str = SIGNED_OUT_EXPIRED) -> None:
        """The server refused the token, or another window signed out: back to sign-in,
        keeping the cache (drafts, outbox) when it is still there."""
        shell = self.shell
        b = shell.backend
        try:
            if b is None:
                return
            vm = shell.thread_vm
            self.resume_conversation = vm.conversation_id if vm is not None else None
            shell.push.sign_in_lost()
            _leave(shell)
            await backend_mod.disconnect(b.config)
            cfg = b.config
            if self.credentials is not None and not cfg.token_from_args:
                with contextlib.suppress(CredentialError):
                    await self.credentials.delete(cfg.account)  # it no longer works
            shell.cfg = cfg.with_token("")
            self.show_signin(notice=notice)
        finally:
            self._losing = False

    # --- settings ---------------------------------------------------------------------------

    def settings_extras(self) -> dict[str, Any]:
        """What Settings adds for the account: where the token is, the warning, Sign out."""
        cfg = self.shell.cfg
        creds = self.credentials
        warning = None
        if creds is not None and not creds.available and not cfg.embedded:
            warning = NO_SECURE_STORAGE_MESSAGE
        return {
            "storage": storage_words(cfg, creds),
            "warning": warning,
            "on_sign_out": lambda: self.shell.page.run_task(self.sign_out),
        }

    async def sign_out(self) -> None:
        shell = self.shell
        b = shell.backend
        if b is None:
            return
        self.resume_conversation = None
        # While the token still works: this phone hears nothing more for this user.
        await shell.push.signed_out()
        _leave(shell)
        problem = await sign_out(b, self.credentials)
        backend_mod.signed_out(b.config)  # this user's other windows: their cache is gone
        _quietly(forget_backend, b.config)
        shell.cfg = b.config.with_token("")
        self.show_signin()
        if problem:
            say(shell.page, problem)


def _quietly(action: Callable[[AppConfig], None], cfg: AppConfig) -> None:
    """Remembering the last backend is a convenience: failing it never stops sign-in."""
    try:
        action(cfg)
    except OSError as exc:
        log.warning("could not update the remembered backend (%s)", type(exc).__name__)


def _leave(shell: Shell) -> None:
    """Take the signed-in screens down before their backend goes."""
    # Their view-models may still have a request in flight; once the client is closed
    # it fails, and a stale screen must not say "Something went wrong" over sign-in.
    for vm in (getattr(shell.new_view, "vm", None), getattr(shell, "conv_vm", None)):
        listeners = getattr(vm, "_listeners", None)
        if isinstance(listeners, list):
            listeners.clear()
    shell._detach()
    shell._close_thread()
    shell.new_view = None
    shell.settings_view = None
    shell.backend = None


def _show(shell: Shell) -> None:
    if mounted(shell.root):
        shell.root.update()
    else:
        shell.page.update()


class UnsupportedView:
    """Stands in for a screen the backend cannot serve (New Group on LeadConnector)."""

    def __init__(self, text: str, identifier: str = "unsupported") -> None:
        self.root = handle(
            ft.Container(
                ft.Column(
                    [
                        ft.Icon(ft.Icons.GROUP_OFF_OUTLINED, size=56, color=ft.Colors.OUTLINE),
                        ft.Text(text, size=16, text_align=ft.TextAlign.CENTER),
                        ft.Text(
                            "Group chats need a backend with the group messaging extension. "
                            "You can still read your conversations and reply one to one.",
                            color=ft.Colors.ON_SURFACE_VARIANT,
                            text_align=ft.TextAlign.CENTER,
                        ),
                    ],
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    alignment=ft.MainAxisAlignment.CENTER,
                    spacing=12,
                    tight=True,
                ),
                alignment=ft.Alignment.CENTER,
                padding=32,
                expand=True,
            ),
            identifier,
        )
        self.root.expand = True

    async def start(self) -> None:
        return None
