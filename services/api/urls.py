"""Backend addresses: which are safe to send a token to, and which API version each path wants."""

from __future__ import annotations

import ipaddress

import httpx

from services.api.errors import InsecureUrlError

CONVERSATIONS_VERSION = "2021-04-15"
# LeadConnector versions its areas separately; contacts, users and phone numbers are newer.
_AREA_VERSIONS = (
    ("/contacts", "2021-07-28"),
    ("/users", "2021-07-28"),
    ("/phone-system", "2021-07-28"),
)

LEADCONNECTOR_HOST = "services.leadconnectorhq.com"


def version_for(path: str) -> str:
    """The ``Version`` header for a request path (relative to the base URL)."""
    for prefix, version in _AREA_VERSIONS:
        if path.startswith(prefix):
            return version
    return CONVERSATIONS_VERSION


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url: str | httpx.URL, *, in_process: bool = False) -> httpx.URL:
    """Parse a backend address, refusing anything that would send the token in clear text.

    https:// is required for every host except loopback (this device), where
    plain http:// is allowed for a standalone sandbox. ``in_process`` (an ASGI
    transport: the embedded backend, no network at all) allows http for any host.
    """
    try:
        url = httpx.URL(str(base_url).strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise InsecureUrlError(f"not a valid address: {base_url!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise InsecureUrlError(
            f"backend address must start with https:// and name a host, got {str(url)!r}",
            user_message="Enter the server address as https://host.example.com.",
        )
    if url.scheme == "http" and not (in_process or is_loopback_host(url.host)):
        raise InsecureUrlError(
            f"https is required for a remote backend, got http://{url.host}",
        )
    if url.userinfo or url.query or url.fragment:
        raise InsecureUrlError(
            "backend address must not carry credentials, a query or a fragment",
            user_message="Enter only the server address, like https://host.example.com.",
        )
    return url


def may_carry_token(url: httpx.URL, *, in_process: bool = False) -> bool:
    """Whether a request to ``url`` would be encrypted or never leave the device."""
    if url.scheme == "https":
        return True
    return url.scheme == "http" and (in_process or is_loopback_host(url.host))


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def is_leadconnector(url: httpx.URL) -> bool:
    return url.host == LEADCONNECTOR_HOST or url.host.endswith(".leadconnectorhq.com")
