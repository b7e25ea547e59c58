"""Turning raw httpx outcomes into models or into the error hierarchy — the only place that does."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any, Generic, TypeVar

import httpx
import pydantic

from services.api import errors

M = TypeVar("M")

_STATUS_ERRORS: dict[int, type[errors.ResponseError]] = {
    401: errors.AuthError,
    403: errors.ForbiddenError,
    404: errors.NotFoundError,
    413: errors.TooLargeError,
    415: errors.UnsupportedTypeError,
}


def transport_error(exc: httpx.HTTPError, what: str) -> errors.ApiError:
    """Map an httpx exception raised while sending ``what`` (e.g. "GET /users/me")."""
    if isinstance(exc, httpx.TimeoutException):
        # A connect or pool timeout means the request never left the device.
        never_sent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        return errors.RequestTimeout(
            f"{what}: timed out ({type(exc).__name__})", request_sent=not never_sent
        )
    if isinstance(exc, httpx.ConnectError):
        return errors.NetworkError(f"{what}: could not connect ({exc})", request_sent=False)
    if isinstance(exc, httpx.DecodingError):
        return errors.MalformedResponseError(f"{what}: undecodable body ({exc})")
    if isinstance(exc, httpx.TooManyRedirects):
        return errors.MalformedResponseError(f"{what}: too many redirects")
    return errors.NetworkError(f"{what}: {type(exc).__name__}: {exc}")


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_messages(response: httpx.Response) -> list[str]:
    """The ``message`` of a ``{statusCode, message, error}`` body, always as a list."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str):
        return [message] if message else []
    if isinstance(message, list):
        return [str(m) for m in message if m]
    return []


def _burst_window(response: httpx.Response) -> float | None:
    """Seconds until a burst limit resets, for a 429 that gave no ``Retry-After``.

    LeadConnector documents only its ``X-RateLimit-*`` headers; waiting one burst
    interval (10 s there) is the shortest wait that can succeed.
    """
    try:
        interval_ms = int(response.headers["X-RateLimit-Interval-Milliseconds"])
    except (KeyError, ValueError):
        return None
    return interval_ms / 1000 if interval_ms > 0 else None


def error_for(response: httpx.Response, what: str) -> errors.ResponseError:
    """The hierarchy's error for an error-status response (4xx/5xx)."""
    status = response.status_code
    messages = _server_messages(response)
    server_message = "; ".join(messages)
    detail = f"{what}: HTTP {status}" + (f": {server_message}" if server_message else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 and retry_after is None:
        retry_after = _burst_window(response)
    if status == 422:
        return errors.ValidationError(detail, status_code=status, messages=messages)
    if status == 409:
        return errors.ConflictError(detail, status_code=status, server_message=server_message)
    if status == 429:
        return errors.RateLimitedError(
            detail, status_code=status, retry_after=retry_after, server_message=server_message
        )
    if status >= 500:
        return errors.ServerError(
            detail, status_code=status, server_message=server_message, retry_after=retry_after
        )
    cls = _STATUS_ERRORS.get(status, errors.BadRequestError)
    return cls(detail, status_code=status, server_message=server_message)


def raise_for_status(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise error_for(response, what)
    if 300 <= response.status_code < 400:
        # Redirects are not followed for API calls: a moved API is a misconfigured address.
        raise errors.MalformedResponseError(
            f"{what}: unexpected redirect {response.status_code} to "
            f"{response.headers.get('Location', '?')}"
        )


def json_body(response: httpx.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        snippet = response.content[:80].decode("utf-8", "replace")
        raise errors.MalformedResponseError(f"{what}: answer is not JSON: {snippet!r}") from None


def field(payload: Any, key: str, what: str) -> Any:
    """``payload[key]`` of a JSON object, or MalformedResponseError."""
    if isinstance(payload, dict) and key in payload:
        return payload[key]
    raise errors.MalformedResponseError(f"{what}: answer has no {key!r}")


def unwrap(payload: Any, key: str) -> Any:
    """``payload[key]`` when wrapped (the contract), else payload itself.

    LeadConnector answers some reads by id unwrapped.
    """
    if isinstance(payload, dict) and isinstance(payload.get(key), dict):
        return payload[key]
    return payload


class Shape(Generic[M]):
    """What an answer must look like: a pydantic ``TypeAdapter`` made on first use.

    Making one builds its models' validators, and the client's fourteen took 30-50 ms of
    a cold start at import, for answers none of which is read before the list is painted
    from the device cache (issue 19)."""

    __slots__ = ("_adapter", "_kind")

    def __init__(self, kind: Any) -> None:
        self._kind = kind
        self._adapter: pydantic.TypeAdapter[M] | None = None

    @property
    def adapter(self) -> pydantic.TypeAdapter[M]:
        if self._adapter is None:
            self._adapter = pydantic.TypeAdapter(self._kind)
        return self._adapter


def validate(shape: Shape[M], data: Any, what: str) -> M:
    """Validate wire data; a shape pydantic rejects becomes MalformedResponseError."""
    try:
        return shape.adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise errors.MalformedResponseError(
            f"{what}: {exc.error_count()} bad field(s), first at {where}: {first['msg']}"
        ) from None
