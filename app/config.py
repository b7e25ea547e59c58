"""What the app connects to: command-line options over saved settings over the demo.

With nothing configured the app opens on the embedded demo backend, signed in
as the demo admin, with its data in the user's app-data folder (a fresh
temporary folder with ``--demo-reset``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.paths import app_data_dir

APP_NAME = "GroupChatSMS"
DEMO_TOKENS = {"demo-admin": "Demo admin", "demo-staff": "Demo staff (assigned contacts only)"}
DEMO_LOCATION = "loc_demo"


@dataclass(frozen=True)
class AppConfig:
    web: bool = False
    port: int = 0
    backend_url: str | None = None  # None: the embedded demo backend
    # Never in a repr: an AppConfig may end up in a log line or a crash report.
    token: str = field(default="demo-admin", repr=False)
    location_id: str | None = DEMO_LOCATION
    # LeadConnector's company (agency) id, for its user search; None elsewhere.
    company_id: str | None = None
    data_dir: Path = Path(".")
    # The token came from the command line (a developer's run): never saved or deleted.
    token_from_args: bool = False
    # OneSignal's app id (flet.toml onesignal_app_id): push on iOS/Android; None: none.
    onesignal_app_id: str | None = None

    @property
    def embedded(self) -> bool:
        return self.backend_url is None

    @property
    def demo_token(self) -> bool:
        """The embedded demo's users, so Settings can switch admin and staff."""
        return self.embedded and self.token in DEMO_TOKENS

    @property
    def backend_name(self) -> str:
        """ "embedded" or the API base URL, as services.settings names a backend."""
        return self.backend_url or "embedded"

    @property
    def account(self) -> str:
        """The credential-store account of this backend and location (= Settings.account)."""
        return f"{self.location_id or ''}@{self.backend_name}"

    def with_token(self, token: str) -> AppConfig:
        return replace(self, token=token)

    def for_api(self, url: str, location_id: str, token: str = "") -> AppConfig:
        """The same app pointed at an API backend (sign-in)."""
        return replace(
            self, backend_url=url, location_id=location_id, token=token, token_from_args=False
        )

    def for_demo(self, token: str = "demo-admin") -> AppConfig:
        """The same app on the embedded demo backend."""
        return replace(
            self, backend_url=None, location_id=DEMO_LOCATION, token=token, token_from_args=False
        )

    def backend_label(self) -> str:
        return "Embedded demo backend" if self.embedded else f"Messaging API at {self.backend_url}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app", description="Group Chat for SMS")
    p.add_argument("--web", action="store_true", help="serve the app to a browser on 127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="port for --web (0: any free port)")
    p.add_argument(
        "--demo-reset",
        action="store_true",
        help="start from fresh data (demo backend and cache) in a temporary folder",
    )
    p.add_argument("--backend", metavar="URL", help="a messaging API instead of the demo")
    p.add_argument("--token", metavar="T", help="access token for --backend")
    p.add_argument("--location", metavar="ID", help="location id for --backend")
    return p.parse_args(argv)


def _saved_settings() -> Any:
    """services/settings.py (flet.toml + GCS_* variables), when present; else None.

    A broken settings file raises its SettingsError: the app says which key is
    wrong instead of running half-configured.
    """
    try:
        from services import settings as mod
    except ImportError:
        return None
    return mod.load_settings()


def build_config(args: argparse.Namespace) -> AppConfig:
    data_dir = Path(tempfile.mkdtemp(prefix="gcsms-")) if args.demo_reset else app_data_dir()
    cfg = AppConfig(web=args.web, port=args.port, data_dir=data_dir)
    saved = None if (args.backend or args.demo_reset) else _saved_settings()
    if saved is not None:
        cfg = _apply_saved(cfg, saved, explicit_dir=args.demo_reset)
    if cfg.embedded and not (args.backend or args.demo_reset):
        cfg = _last_signed_in(cfg)
    if args.backend:
        # A new backend: the demo token means nothing there; sign in unless --token says.
        # Nor does the demo location: sign-in asks for it unless --location gives it.
        cfg = replace(cfg, backend_url=args.backend.rstrip("/"), token="", location_id=None)
    if args.token:
        cfg = replace(cfg, token=args.token, token_from_args=True)
    if args.location:
        cfg = replace(cfg, location_id=args.location)
    return cfg


def _apply_saved(cfg: AppConfig, saved: Any, explicit_dir: bool) -> AppConfig:
    backend = str(getattr(saved, "backend", "embedded") or "embedded")
    location = getattr(saved, "location_id", None) or cfg.location_id
    data_dir = getattr(saved, "data_dir", None)
    if data_dir and not explicit_dir:
        cfg = replace(cfg, data_dir=app_data_dir(Path(data_dir)))
    cfg = replace(cfg, onesignal_app_id=getattr(saved, "onesignal_app_id", None))
    if backend == "embedded":
        token = "demo-staff" if getattr(saved, "demo_user", "admin") == "staff" else "demo-admin"
        return replace(cfg, token=token, location_id=location)
    # The token is not a setting: the shell reads it from the secure store, or signs in.
    company = getattr(saved, "company_id", None)
    return replace(
        cfg, backend_url=backend.rstrip("/"), token="", location_id=location, company_id=company
    )


# The API backend signed in to from the app (address and location, never the token),
# so the next start opens it again. A backend set in flet.toml or on the command line wins.
LAST_BACKEND_FILE = "signed_in_backend.json"


def remember_backend(cfg: AppConfig) -> None:
    path = cfg.data_dir / LAST_BACKEND_FILE
    if cfg.embedded:
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps({"backend": cfg.backend_url, "location_id": cfg.location_id}))


def forget_backend(cfg: AppConfig) -> None:
    (cfg.data_dir / LAST_BACKEND_FILE).unlink(missing_ok=True)


def _last_signed_in(cfg: AppConfig) -> AppConfig:
    from services.settings import validate_backend_url

    try:
        data = json.loads((cfg.data_dir / LAST_BACKEND_FILE).read_text())
        url = validate_backend_url(str(data["backend"]))
        location = str(data["location_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return cfg  # none, or unreadable: start on the demo as configured
    return cfg.for_api(url, location)
