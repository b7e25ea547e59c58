"""The app's runtime settings: ``flet.toml``, overridden by ``GCS_*`` environment variables.

Read once at start-up (``load_settings()``). Every value is validated; a bad one
raises ``SettingsError`` whose message names the key and where it came from::

    flet.toml: backend: "http://example.com" must use https:// for a host that is
    not on this machine

so a deployment fails loudly at start instead of running half-configured.
Flet itself never reads ``flet.toml``; packaging lives in ``pyproject.toml``.

Where the file is found: ``$GCS_CONFIG`` if set (it must exist), else
``./flet.toml``, else the ``flet.toml`` beside the app's code (shipped in app
builds). No file at all means the defaults: the embedded demo backend.

Every key ``k`` can be overridden by the environment variable ``GCS_`` +
``K.upper()`` (``GCS_BACKEND``, ``GCS_LOCATION_ID``, ...). Tokens are never
settings: they go through sign-in into the secure store (services/credentials.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from services.limits import MAX_ATTACHMENT_TOTAL_BYTES, RELIABLE_MMS_BYTES

log = logging.getLogger(__name__)

FILE_NAME = "flet.toml"
ENV_PREFIX = "GCS_"
CONFIG_ENV = "GCS_CONFIG"
EMBEDDED = "embedded"
DEMO_LOCATION_ID = "loc_demo"
_APP_ROOT = Path(__file__).resolve().parent.parent

# Keys people reach for that must never work: say why instead of "unknown key".
_REFUSED_KEYS = {
    "verify": "TLS verification cannot be turned off; use ca_bundle for a private CA",
    "verify_tls": "TLS verification cannot be turned off; use ca_bundle for a private CA",
    "ssl_verify": "TLS verification cannot be turned off; use ca_bundle for a private CA",
    "insecure": "TLS verification cannot be turned off; use ca_bundle for a private CA",
    "token": "tokens are never read from settings; sign in in the app (stored securely)",
    "api_key": "tokens are never read from settings; sign in in the app (stored securely)",
    "password": "passwords are never read from settings; sign in in the app",
}
_LOCATION_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USERINFO_RE = re.compile(r"//[^/@]*@")


class SettingsError(ValueError):
    """One or more settings are invalid; ``problems`` lists each, naming its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def is_loopback_host(host: str) -> bool:
    """True for this machine: localhost, 127.0.0.0/8 and ::1 (no DNS lookup)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_backend_url(text: str) -> str:
    """The normalised API base URL, or ValueError saying what is wrong.

    https:// is required unless the host is this machine, so a token never
    travels unencrypted. Also used by the sign-in screen for a typed address.
    """
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'must be "{EMBEDDED}" or a web address such as https://api.example.com')
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password; sign in in the app instead")
    if parts.query or parts.fragment:
        raise ValueError("must not contain ?query or #fragment parts")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must use https:// for a host that is not on this machine")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("has an invalid port number") from None
    return url.rstrip("/")


def _absolute_path(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("must not be empty")
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise ValueError("must be an absolute path (or start with ~)")
        return path
    return value


class Settings(BaseModel):
    """Validated runtime settings. See README "Configuration" for each key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = EMBEDDED
    location_id: str
    # LeadConnector only: the agency (company) its location belongs to, which its user
    # search requires; without it LeadConnector's teammates are not listed.
    company_id: str | None = None
    demo_user: Literal["admin", "staff"] = "admin"
    poll_interval_seconds: float = Field(10.0, ge=2, le=600)
    long_poll_wait_seconds: int = Field(25, ge=1, le=60)
    request_timeout_seconds: float = Field(30.0, ge=1, le=300)
    compress_images_over_bytes: int = Field(
        RELIABLE_MMS_BYTES, ge=50 * 1024, le=MAX_ATTACHMENT_TOTAL_BYTES
    )
    data_dir: Path | None = None
    ca_bundle: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # The OneSignal app's id (public, not a secret): push notifications on iOS and
    # Android. None: no push (the server needs its own OneSignal settings too).
    onesignal_app_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _demo_location_default(cls, data: Any) -> Any:
        # The embedded backend has exactly one location; an API backend must name its own.
        if isinstance(data, dict) and "location_id" not in data:
            backend = data.get("backend", EMBEDDED)
            if isinstance(backend, str) and backend.strip().lower() == EMBEDDED:
                return {**data, "location_id": DEMO_LOCATION_ID}
        return data

    @field_validator("backend", mode="before")
    @classmethod
    def _backend(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().lower() == EMBEDDED:
            return EMBEDDED
        return validate_backend_url(value)

    @field_validator("location_id", "company_id", mode="before")
    @classmethod
    def _location(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if not _LOCATION_RE.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '-' or '_'")
        return value

    @field_validator(
        "poll_interval_seconds",
        "long_poll_wait_seconds",
        "request_timeout_seconds",
        "compress_images_over_bytes",
        mode="before",
    )
    @classmethod
    def _not_bool(cls, value: object) -> object:
        # TOML true would otherwise pass as 1.
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("onesignal_app_id", mode="before")
    @classmethod
    def _onesignal_app_id(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
            raise ValueError(
                "must be the OneSignal app id, a UUID such as 16fd2706-8baf-433b-82eb-8c7fada847da"
            )
        return value.lower()

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        return _absolute_path(value)

    @field_validator("ca_bundle", mode="before")
    @classmethod
    def _ca_bundle(cls, value: object) -> object:
        path = _absolute_path(value)
        if isinstance(path, Path) and not path.is_file():
            raise ValueError("must be an existing PEM file of trusted CA certificates")
        return path

    @property
    def is_embedded(self) -> bool:
        return self.backend == EMBEDDED

    @property
    def backend_url(self) -> str | None:
        """The API base URL, or None for the embedded backend."""
        return None if self.is_embedded else self.backend

    @property
    def demo_token(self) -> str:
        """The embedded backend's public demo token for ``demo_user`` (not a secret)."""
        return f"demo-{self.demo_user}"

    @property
    def account(self) -> str:
        """Credential-store account name: which token, for which backend and location."""
        return f"{self.location_id}@{self.backend}"

    def ssl_context(self) -> ssl.SSLContext:
        """Verification always on; ``ca_bundle`` only adds trust, never removes checks."""
        cafile = str(self.ca_bundle) if self.ca_bundle else None
        return ssl.create_default_context(cafile=cafile)


def find_config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """Which flet.toml applies (see the module doc), or None for defaults."""
    env = os.environ if environ is None else environ
    explicit = env.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise SettingsError([f"{CONFIG_ENV}: {json.dumps(explicit)} is not a file"])
        return path
    for candidate in (Path.cwd() / FILE_NAME, _APP_ROOT / FILE_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings; raises SettingsError naming every bad key."""
    env = os.environ if environ is None else environ
    if path is None:
        path = find_config_file(env)
    label = path.name if path is not None else FILE_NAME
    values = _read_file(path, label) if path is not None else {}
    # Where each value came from, as (source, name to show): ("flet.toml", "backend")
    # or ("environment", "GCS_BACKEND"), so an error points at what to edit.
    sources = {key: (label, key) for key in values}
    for key, (name, text) in _env_overrides(env).items():
        values[key] = text
        sources[key] = ("environment", name)
    problems = _refused(values, sources)
    try:
        settings = Settings.model_validate(
            {k: v for k, v in values.items() if k not in _REFUSED_KEYS}
        )
    except ValidationError as exc:
        problems += [_describe(err, values, sources, label) for err in exc.errors()]
    if problems:
        raise SettingsError(problems)
    return settings


def _read_file(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{label}: not valid TOML: {exc}"]) from None
    except OSError as exc:
        raise SettingsError([f"{label}: cannot be read: {exc.strerror}"]) from None


def _env_overrides(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Settings keys given as GCS_* variables, as {key: (variable name, text)}."""
    keys = set(Settings.model_fields)
    found: dict[str, tuple[str, str]] = {}
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in keys:
            found[key] = (name, text)
        else:
            # GCS_ is also Google Cloud Storage's prefix, so unknown names are not
            # errors; a near-miss of one of ours is almost surely a typo.
            close = get_close_matches(key, keys, n=1, cutoff=0.8)
            if close:
                log.warning("ignoring %s: did you mean %s%s?", name, ENV_PREFIX, close[0].upper())
    return found


def _refused(values: Mapping[str, Any], sources: Mapping[str, tuple[str, str]]) -> list[str]:
    return [
        "{}: {}: {}".format(*sources[key], why)
        for key, why in _REFUSED_KEYS.items()
        if key in values
    ]


def _describe(
    err: ErrorDetails,
    values: Mapping[str, Any],
    sources: Mapping[str, tuple[str, str]],
    label: str,
) -> str:
    """One line naming the key, where it came from, the value and what is wrong."""
    key = str(err["loc"][0]) if err["loc"] else ""
    source, name = sources.get(key, (label, key))
    if err["type"] == "extra_forbidden":
        hint = get_close_matches(key, list(Settings.model_fields), n=1)
        more = f" (did you mean {hint[0]}?)" if hint else ""
        return f"{source}: {name}: unknown setting{more}"
    if err["type"] == "missing":
        if key == "location_id":
            return f"{source}: location_id: required when backend is an API address"
        return f"{source}: {name}: required"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Input ")
    # A URL's user:password part never reaches a message (it may hold a secret).
    shown = _USERINFO_RE.sub("//***@", json.dumps(values.get(key), default=str))
    return f"{source}: {name}: {shown} {msg}"
