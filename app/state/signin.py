"""Sign-in to an API backend: check what was typed, verify the token, then save it.

The order matters (issue 7): the token is tried against the backend with a
real request first, and only a token the server accepted goes into the
platform's secure store. Every refusal is a sentence for the user; the token
itself never appears in one, nor in a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.config import AppConfig
from app.state.base import ViewModel
from services.api.errors import AuthError
from services.credentials import (
    NO_SECURE_STORAGE_MESSAGE,
    CredentialError,
    CredentialStore,
    Secret,
)
from services.models import User
from services.settings import validate_backend_url

log = logging.getLogger(__name__)

Verify = Callable[[AppConfig], Awaitable[User]]

_LOCATION_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HOST_RE = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")

URL_EMPTY = "Enter the server address, like https://api.example.com."
URL_NOT_WEB = "Enter the server address as a web address, like https://api.example.com."
LOCATION_EMPTY = "Enter the location id of your business account."
LOCATION_BAD = "A location id has only letters, digits, '-' and '_' (at most 64)."
TOKEN_EMPTY = "Paste your Private Integration Token."
TOKEN_BAD = "The token can't contain spaces or line breaks. Copy it again."
TOKEN_REFUSED = (
    "The server didn't accept this token. Check that you copied the whole "
    "Private Integration Token, and that it belongs to this location."
)


@dataclass(frozen=True)
class SignInResult:
    cfg: AppConfig
    user: User
    saved: bool  # False: kept in memory only (no secure store, or it failed)


class SignInVM(ViewModel):
    """Emits "errors" (per field), "busy" (checking with the server) and "error"."""

    def __init__(
        self,
        *,
        cfg: AppConfig,
        credentials: CredentialStore,
        verify: Verify,
        notice: str | None = None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.credentials = credentials
        self.verify = verify
        self.notice = notice  # why we are here (e.g. a 401), shown above the form
        self.url = cfg.backend_url or ""
        self.location_id = "" if cfg.embedded else (cfg.location_id or "")
        self.field_errors: dict[str, str] = {}
        self.busy = False
        self.warning: str | None = None

    @property
    def storage_warning(self) -> str | None:
        """Said on the form when no secure store exists: the token lives in memory only."""
        return None if self.credentials.available else NO_SECURE_STORAGE_MESSAGE

    @property
    def storage_note(self) -> str:
        return (
            f"Your token is checked with the server, then kept in {self.credentials.description}."
        )

    # --- checks ------------------------------------------------------------------------------

    def check(self, url: str, location_id: str, token: str) -> dict[str, str]:
        """Problems with what was typed, by field ("url", "location", "token"); {} when fine."""
        problems: dict[str, str] = {}
        url_problem = self._url_problem(url)
        if url_problem:
            problems["url"] = url_problem
        location = location_id.strip()
        if not location:
            problems["location"] = LOCATION_EMPTY
        elif not _LOCATION_RE.fullmatch(location):
            problems["location"] = LOCATION_BAD
        if not token.strip():
            problems["token"] = TOKEN_EMPTY
        else:
            try:
                Secret(token)
            except ValueError:
                problems["token"] = TOKEN_BAD
        return problems

    @staticmethod
    def normalise_url(text: str) -> str:
        """ "api.example.com" means https://api.example.com: nobody types the scheme."""
        text = text.strip()
        if text and "://" not in text:
            text = "https://" + text
        return text

    def _url_problem(self, text: str) -> str | None:
        if not text.strip():
            return URL_EMPTY
        url = self.normalise_url(text)
        try:
            validate_backend_url(url)
        except ValueError as exc:
            reason = str(exc)
            if reason.startswith("must be "):
                return URL_NOT_WEB
            return f"The server address {reason}."
        host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if not _HOST_RE.fullmatch(host):
            return URL_NOT_WEB
        return None

    # --- the action ------------------------------------------------------------------------------

    async def sign_in(self, url: str, location_id: str, token: str) -> SignInResult | None:
        """Verify the token with the backend, then save it; None (and said why) on failure."""
        self.error = None
        self.warning = None
        self.field_errors = self.check(url, location_id, token)
        self.emit("errors", self.field_errors)
        if self.field_errors or self.busy:
            return None
        secret = Secret(token)
        self.url, self.location_id = (
            validate_backend_url(self.normalise_url(url)),
            location_id.strip(),
        )
        cfg = self.cfg.for_api(self.url, self.location_id, secret.reveal())
        self._busy(True)
        try:
            user = await self.verify(cfg)
        except Exception as exc:
            self._busy(False)
            if isinstance(exc, AuthError):
                # Not the generic "sign in again": this IS signing in.
                log.info("sign-in refused by %s (401)", self.url)
                self.error = TOKEN_REFUSED
                self.emit("error", self.error)
            else:
                self.fail(exc)  # the error's user_message; its text never holds the token
            return None
        saved = await self._save(cfg, secret)
        self._busy(False)
        return SignInResult(cfg=cfg, user=user, saved=saved)

    async def _save(self, cfg: AppConfig, secret: Secret) -> bool:
        if not self.credentials.available:
            await self.credentials.set(cfg.account, secret)  # memory: this session only
            self.warning = NO_SECURE_STORAGE_MESSAGE
            return False
        try:
            await self.credentials.set(cfg.account, secret)
        except CredentialError as exc:
            # Signed in all the same; only remembering it failed.
            self.warning = f"{exc.user_message} You'll need to sign in again next time."
            return False
        return True

    def _busy(self, busy: bool) -> None:
        self.busy = busy
        self.emit("busy", busy)
