"""Who was signed in last, so the app can open its cache with no network.

Without this a cold start offline cannot work: the cache folder is named after
the user's id, and the id comes from ``GET /users/me``. After every successful
sign-in the app writes a small JSON into that user's cache folder: the user,
their phone numbers and teammates (all shown in the app anyway), and a salted
PBKDF2 fingerprint of the token — never the token itself. At the next start
the token (from the secure store or the command line) is matched against the
fingerprints of that backend's folders: a match opens that user's cache at
once; no match (another token, a first start) asks the server as before.

The fingerprint is what keeps a second user of the same device (Settings →
switch demo user, or a new sign-in) from ever being shown the first user's
cache. Sign-out deletes the user's folder, and this file with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.models import PhoneNumber, User

log = logging.getLogger(__name__)

FILE_NAME = "signed-in.json"
_VERSION = 1
# Slow enough that a weak token cannot be guessed back from the file, fast enough
# for one start-up (tens of milliseconds).
_ROUNDS = 100_000


@dataclass
class Remembered:
    me: User
    numbers: list[PhoneNumber] = field(default_factory=list)
    teammates: list[User] = field(default_factory=list)


def fingerprint(token: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", token.encode(), salt, _ROUNDS).hex()


def remember(account: Path, where: tuple[str, str], token: str, who: Remembered) -> None:
    """Write who is signed in into their cache folder (atomically; never the token).

    ``where`` is (backend, location) as the account folder was named from them.
    """
    salt = secrets.token_bytes(16)
    data = {
        "version": _VERSION,
        "backend": where[0],
        "location": where[1],
        "salt": salt.hex(),
        "fingerprint": fingerprint(token, salt),
        "me": who.me.model_dump(mode="json", by_alias=True),
        "numbers": [n.model_dump(mode="json", by_alias=True) for n in who.numbers],
        "teammates": [u.model_dump(mode="json", by_alias=True) for u in who.teammates],
    }
    target = account / FILE_NAME
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def recall(
    data_dir: Path, backend: str, location: str | None, token: str
) -> tuple[Path, Remembered] | None:
    """The account folder and user of backend (and location, when known) whose
    fingerprint matches token, if any."""
    if not token:
        return None
    for path in _files(data_dir):
        found = _read(path, backend, location, token)
        if found is not None:
            return path.parent, found
    return None


def likely_account(data_dir: Path, backend: str, location: str | None) -> Path | None:
    """The account folder, when exactly one is remembered for backend (and location).

    What a returning user's start opens while ``recall`` checks the token's fingerprint,
    and uses only if the fingerprint then names the same folder."""
    found = [path.parent for path in _files(data_dir) if _load(path, backend, location)]
    return found[0] if len(found) == 1 else None


def _files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "accounts").glob(f"*/*/{FILE_NAME}"))


def _load(
    path: Path, backend: str, location: str | None, *, warn: bool = False
) -> dict[str, Any] | None:
    """The file's content when it is one of ours for backend (and location), else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # A damaged file only costs the offline start: the server is asked instead.
        if warn:
            log.warning("ignoring %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return None
    if data.get("backend") != backend or (location and data.get("location") != location):
        return None
    return data


def _read(path: Path, backend: str, location: str | None, token: str) -> Remembered | None:
    data = _load(path, backend, location, warn=True)
    if data is None:
        return None
    try:
        expected = fingerprint(token, bytes.fromhex(data["salt"]))
        if not hmac.compare_digest(expected, str(data["fingerprint"])):
            return None
        return Remembered(
            me=User.model_validate(data["me"]),
            numbers=[PhoneNumber.model_validate(n) for n in data.get("numbers", [])],
            teammates=[User.model_validate(u) for u in data.get("teammates", [])],
        )
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None
