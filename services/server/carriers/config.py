"""Each real carrier's settings, read from the environment only, and the HTTP client they use.

Twilio::

    TWILIO_ACCOUNT_SID                AC… (34 characters)
    TWILIO_AUTH_TOKEN                 secret: signs webhooks and authenticates every call
    TWILIO_CONVERSATIONS_SERVICE_SID  IS… the Conversations service our groups live in
    TWILIO_API_BASE                   default https://conversations.twilio.com
    TWILIO_ACCOUNTS_BASE              default https://api.twilio.com (the 2010 API: numbers)
    TWILIO_MEDIA_BASE                 default https://mcs.us1.twilio.com (Media Content Service)

Telnyx::

    TELNYX_API_KEY                    secret: Bearer key for every call
    TELNYX_PUBLIC_KEY                 the account's Ed25519 public key (base64), checks webhooks
    TELNYX_MESSAGING_PROFILE_ID       the profile whose numbers and webhooks we use (a UUID)
    TELNYX_API_BASE                   default https://api.telnyx.com/v2

The three Twilio hosts are separate variables because Twilio serves the three APIs from
three unrelated hosts; none can be derived from another. Every base URL must be https
unless it points at this machine (tests and local mocks).

A missing or malformed variable raises :class:`CarrierConfigError`, a
``CarrierError(CONFIG)`` whose sentence names the variable and never its value. Secrets
are held as ``SecretStr``, so no repr, log line or error shows them.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from services.phones import is_group_capable
from services.rules import format_size
from services.server.carriers.base import (
    Carrier,
    CarrierError,
    CarrierLimits,
    ErrorKind,
    GroupSpec,
    Outbound,
)

CarrierKind = Literal["twilio", "telnyx"]
Clock = Callable[[], datetime]

TWILIO_API_BASE = "https://conversations.twilio.com"
TWILIO_ACCOUNTS_BASE = "https://api.twilio.com"
TWILIO_MEDIA_BASE = "https://mcs.us1.twilio.com"
TELNYX_API_BASE = "https://api.telnyx.com/v2"


class CarrierConfigError(CarrierError):
    """A carrier setting is missing or malformed: the server cannot talk to the carrier."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(ErrorKind.CONFIG, message)
        self.variable = variable


# --- settings --------------------------------------------------------------------------


class TwilioSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_sid: str
    auth_token: SecretStr
    service_sid: str
    api_base: str = TWILIO_API_BASE
    accounts_base: str = TWILIO_ACCOUNTS_BASE
    media_base: str = TWILIO_MEDIA_BASE


class TelnyxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    public_key: bytes  # 32 raw bytes; public, but only useful for checking signatures
    messaging_profile_id: str
    api_base: str = TELNYX_API_BASE


_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^IS[0-9a-fA-F]{32}$")


def twilio_settings(env: Mapping[str, str]) -> TwilioSettings:
    sid = _required(env, "TWILIO_ACCOUNT_SID")
    if not _ACCOUNT_SID.match(sid):
        raise CarrierConfigError(
            "TWILIO_ACCOUNT_SID",
            "TWILIO_ACCOUNT_SID is not a Twilio Account SID (AC followed by 32 hexadecimal "
            "characters); copy it from the Twilio Console.",
        )
    token = _required(env, "TWILIO_AUTH_TOKEN")
    if any(ch.isspace() for ch in token):
        raise CarrierConfigError(
            "TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN contains spaces; copy it again without them."
        )
    service = _required(env, "TWILIO_CONVERSATIONS_SERVICE_SID")
    if not _SERVICE_SID.match(service):
        raise CarrierConfigError(
            "TWILIO_CONVERSATIONS_SERVICE_SID",
            "TWILIO_CONVERSATIONS_SERVICE_SID is not a Conversations service SID (IS followed "
            "by 32 hexadecimal characters).",
        )
    return TwilioSettings(
        account_sid=sid,
        auth_token=SecretStr(token),
        service_sid=service,
        api_base=_base_url(env, "TWILIO_API_BASE", TWILIO_API_BASE),
        accounts_base=_base_url(env, "TWILIO_ACCOUNTS_BASE", TWILIO_ACCOUNTS_BASE),
        media_base=_base_url(env, "TWILIO_MEDIA_BASE", TWILIO_MEDIA_BASE),
    )


def telnyx_settings(env: Mapping[str, str]) -> TelnyxSettings:
    key = _required(env, "TELNYX_API_KEY")
    if any(ch.isspace() for ch in key):
        raise CarrierConfigError(
            "TELNYX_API_KEY", "TELNYX_API_KEY contains spaces; copy it again without them."
        )
    public = _required(env, "TELNYX_PUBLIC_KEY")
    try:
        raw = base64.b64decode(public, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise CarrierConfigError(
            "TELNYX_PUBLIC_KEY",
            "TELNYX_PUBLIC_KEY is not an Ed25519 public key in base64 (32 bytes); copy the "
            "public key from the Telnyx portal's Keys & Credentials page.",
        )
    profile = _required(env, "TELNYX_MESSAGING_PROFILE_ID")
    try:
        uuid.UUID(profile)
    except ValueError:
        raise CarrierConfigError(
            "TELNYX_MESSAGING_PROFILE_ID",
            "TELNYX_MESSAGING_PROFILE_ID is not a messaging profile id (a UUID such as "
            "16fd2706-8baf-433b-82eb-8c7fada847da).",
        ) from None
    return TelnyxSettings(
        api_key=SecretStr(key),
        public_key=raw,
        messaging_profile_id=profile,
        api_base=_base_url(env, "TELNYX_API_BASE", TELNYX_API_BASE),
    )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise CarrierConfigError(name, f"{name} is not set; the server needs it for this carrier.")
    return value


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    return checked_url(value, name)


def checked_url(value: str, name: str) -> str:
    """``value`` without a trailing slash, if it is https (or http on this machine)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CarrierConfigError(name, f"{name} is not a URL such as https://host.example.")
    if parts.query or parts.fragment:
        raise CarrierConfigError(name, f"{name} must not carry a query or a fragment.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise CarrierConfigError(
            name, f"{name} must use https unless it points at this machine (127.0.0.1)."
        )
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- the HTTP client both carriers use -------------------------------------------------

# Twilio and Telnyx answer in well under a second; a send that has not answered in 15 s
# is treated as an answer lost (the queue then asks find_sent before trying again).
API_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Uploading 5 MB to Twilio's media service over a slow uplink takes longer.
MEDIA_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=API_TIMEOUT, follow_redirects=False)


async def send_http(
    http: httpx.AsyncClient, request: httpx.Request, *, carrier: str
) -> httpx.Response:
    """Send ``request``; a transport failure becomes CarrierError(RETRYABLE).

    ``answer_lost`` is False only when the request certainly never left (no connection was
    made); once bytes may have reached the carrier, the queue must look before resending.
    """
    try:
        return await http.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise CarrierError(
            ErrorKind.RETRYABLE,
            f"Could not reach {carrier} ({type(exc).__name__}); will try again.",
        ) from None
    except httpx.TimeoutException as exc:
        raise CarrierError(
            ErrorKind.RETRYABLE,
            f"{carrier} did not answer in time ({type(exc).__name__}); the request may have "
            "gone through, so it will be checked before it is sent again.",
            answer_lost=True,
        ) from None
    except httpx.TransportError as exc:
        raise CarrierError(
            ErrorKind.RETRYABLE,
            f"The connection to {carrier} broke before it answered ({type(exc).__name__}); "
            "the request may have gone through, so it will be checked before it is sent again.",
            answer_lost=True,
        ) from None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def server_trouble(response: httpx.Response, carrier: str) -> CarrierError | None:
    """The RETRYABLE error for a 429 or 5xx answer, else None.

    A 500, 502 or 504 to a POST may hide a create that happened behind the gateway, so
    it counts as an answer lost; 503 and 429 mean the carrier turned the request away.
    """
    status = response.status_code
    if status == 429:
        wait = retry_after(response)
        return CarrierError(
            ErrorKind.RETRYABLE,
            f"{carrier} asked us to slow down (HTTP 429); will try again"
            + (f" in {wait:.0f} s." if wait is not None else " shortly."),
            code="429",
            retry_after=wait,
        )
    if status >= 500:
        lost = response.request.method == "POST" and status in (500, 502, 504)
        return CarrierError(
            ErrorKind.RETRYABLE,
            f"{carrier} had a server error (HTTP {status}); will try again.",
            code=str(status),
            retry_after=retry_after(response),
            answer_lost=lost,
        )
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- the checks both carriers make before calling out ----------------------------------


def check_group(spec: GroupSpec, limits: CarrierLimits, carrier: str) -> None:
    """CarrierError(PERMANENT) unless the carrier can make this group at all."""
    members = spec.members
    if len(members) > limits.max_participants:
        raise CarrierError(ErrorKind.PERMANENT, limits.why)
    if len(members) < 2:
        raise CarrierError(
            ErrorKind.PERMANENT, "A group text needs at least two contacts besides the business."
        )
    if len(set(members)) != len(members) or spec.business_number in members:
        raise CarrierError(
            ErrorKind.PERMANENT, "A group lists the same phone number twice; each may appear once."
        )
    for number in (spec.business_number, *members):
        if not is_group_capable(number):
            raise CarrierError(
                ErrorKind.PERMANENT,
                f"{carrier} group texts reach only US and Canadian numbers that are not "
                f"toll-free, and {number} is not one.",
            )


def check_message(message: Outbound, limits: CarrierLimits, carrier: str) -> None:
    """CarrierError(PERMANENT) when the message breaks one of the carrier's limits."""
    if not message.body and not message.media:
        raise CarrierError(ErrorKind.PERMANENT, "The message has no text and no attachment.")
    if len(message.body) > limits.max_body_chars:
        raise CarrierError(
            ErrorKind.PERMANENT,
            f"{carrier} takes at most {limits.max_body_chars:,} characters in one message; "
            f"this one has {len(message.body):,}.",
        )
    if len(message.media) > limits.max_media_files:
        raise CarrierError(
            ErrorKind.PERMANENT,
            f"{carrier} takes at most {limits.max_media_files} attachments in one message; "
            f"this one has {len(message.media)}.",
        )
    total = sum(item.size for item in message.media)
    if total > limits.max_media_bytes:
        raise CarrierError(
            ErrorKind.PERMANENT,
            f"{carrier} takes at most {format_size(limits.max_media_bytes)} of attachments in "
            f"one message; these come to {format_size(total)}.",
        )


def numbers_named(text: str, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """The candidates (E.164) that ``text`` mentions, in the candidates' order."""
    found = set(re.findall(r"\+?\d{10,15}", text))
    plain = {"+" + number.lstrip("+") for number in found}
    plain |= {"+1" + number for number in found if len(number) == 10}
    return tuple(number for number in candidates if number in plain)


# --- the factory -----------------------------------------------------------------------


def make_carrier(
    kind: CarrierKind,
    env: Mapping[str, str],
    public_url: str,
    http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> Carrier:
    """The carrier ``kind`` configured from ``env``.

    ``public_url`` is this server's address as the carrier sees it (webhooks are signed
    over it); ``http`` is shared with the caller, who then closes it (tests pass a mock
    transport); without it the carrier makes and closes its own.
    """
    public = checked_url(public_url, "the server's public URL")
    if kind == "twilio":
        from services.server.carriers.twilio import TwilioCarrier

        return TwilioCarrier(twilio_settings(env), public, http=http, clock=clock)
    if kind == "telnyx":
        from services.server.carriers.telnyx import TelnyxCarrier

        return TelnyxCarrier(telnyx_settings(env), public, http=http, clock=clock)
    raise CarrierConfigError("carrier", f"There is no carrier named {kind!r}.")
