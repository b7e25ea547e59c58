"""Where the app keeps its files on this device.

    <data>/                         app_data_dir(): settings' data_dir, else Flet's
                                    packaged-app folder, else the platform's app-data folder
    <data>/embedded/sandbox.sqlite3 the embedded demo backend's database
    <data>/accounts/<backend>/<user>/
                                    one folder per backend and signed-in user (the cache);
                                    removed on sign-out by remove_account_dir()

Tokens are never written here: they live in the secure store (services/credentials.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP_DIR_NAME = "GroupChatSMS"
# Set by Flet in apps built with `flet build` (iOS/Android sandboxes have no XDG dirs).
FLET_DATA_ENV = "FLET_APP_STORAGE_DATA"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def app_data_dir(override: Path | None = None) -> Path:
    """The app's data folder, created private to this user if missing."""
    if override is not None:
        path = override
    elif os.environ.get(FLET_DATA_ENV):
        path = Path(os.environ[FLET_DATA_ENV])
    else:
        path = platformdirs.user_data_path(APP_DIR_NAME, appauthor=False)
    return _private_dir(path)


def embedded_db_path(data_dir: Path) -> Path:
    """The embedded backend's SQLite file (demo data survives restarts)."""
    return _private_dir(data_dir / "embedded") / "sandbox.sqlite3"


def backend_key(backend: str, location_id: str) -> str:
    """A stable, readable folder name for one backend and location.

    The host keeps it recognisable; the hash keeps two locations or ports of
    one host apart.
    """
    host = "embedded" if backend == "embedded" else (urlsplit(backend).hostname or "api")
    digest = hashlib.sha256(f"{backend}|{location_id}".encode()).hexdigest()[:10]
    return f"{_safe(host)}-{digest}"


def account_dir(data_dir: Path, backend: str, location_id: str, user_id: str) -> Path:
    """The signed-in user's own folder (cache database, downloads), created if missing."""
    return _private_dir(
        data_dir / "accounts" / backend_key(backend, location_id) / _safe(user_id or "unknown")
    )


def cache_db_path(account: Path) -> Path:
    return account / "cache.sqlite3"


def remove_account_dir(data_dir: Path, account: Path) -> None:
    """Delete one user's local data (sign-out). Refuses anything outside data_dir/accounts."""
    root = (data_dir / "accounts").resolve()
    target = account.resolve()
    if root not in target.parents:
        raise ValueError(f"refusing to delete {target}: not an account folder under {root}")
    shutil.rmtree(target, ignore_errors=True)


def _safe(text: str) -> str:
    # Ids come from the server: never let one climb out of its folder.
    cleaned = _UNSAFE.sub("_", text).strip("._")
    return cleaned[:64] or "_"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
