"""Settings: what the screen says about the session, and signing out.

Signing out on purpose forgets everything of that user on this device: the
token in the secure store and their cache folder (conversations, drafts,
outbox). Losing the sign-in to a 401 is different and lives in the shell: it
keeps the cache so drafts survive signing in again.
"""

from __future__ import annotations

import logging

from app.backend import Backend, disconnect
from app.config import AppConfig
from services import paths
from services.credentials import CredentialError, CredentialStore
from services.models import User

log = logging.getLogger(__name__)


def role_words(me: User) -> str:
    if me.is_admin:
        return "Admin"
    return "Staff, assigned contacts only" if me.assigned_data_only else "Staff"


def signed_in_words(me: User) -> str:
    return f"{me.display_name} · {role_words(me)}"


def storage_words(cfg: AppConfig, credentials: CredentialStore | None) -> str | None:
    """Where this session's token lives, for the Settings screen (None for the demo)."""
    if cfg.embedded:
        return None
    if cfg.token_from_args:
        return "Token from the command line (not saved)"
    if credentials is None:
        return None
    return f"Token kept in {credentials.description}"


async def sign_out(backend: Backend, credentials: CredentialStore | None) -> str | None:
    """Delete the token and this user's local cache; a sentence when part of it failed."""
    cfg = backend.config
    problem: str | None = None
    if credentials is not None and not cfg.embedded and not cfg.token_from_args:
        try:
            await credentials.delete(cfg.account)
        except CredentialError as exc:
            problem = exc.user_message
    await disconnect(cfg)
    if backend.account is not None:
        try:
            paths.remove_account_dir(cfg.data_dir, backend.account)
        except (OSError, ValueError) as exc:
            log.warning("could not remove the account folder: %s", type(exc).__name__)
            problem = problem or "Some of this account's data could not be removed from the device."
    return problem
