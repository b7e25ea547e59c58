"""The one error hierarchy of the service layer.

Every failure of a backend call surfaces as one of these classes; callers
match on them, never on httpx exceptions or raw status codes::

    ApiError                     base of everything below
    ├── NetworkError             the server could not be reached or the connection dropped
    │   └── RequestTimeout       no answer in time (connect, read, write or pool)
    ├── ResponseError            the server answered with an error status (.status_code)
    │   ├── BadRequestError      400 (and any other 4xx without a class of its own)
    │   ├── AuthError            401: token missing, wrong or expired — sign in again
    │   ├── ForbiddenError       403: signed in, but not allowed to do this
    │   ├── NotFoundError        404: does not exist or is not visible to this user
    │   ├── ConflictError        409: e.g. the group is blocked by Do Not Disturb
    │   ├── TooLargeError        413: attachments over the size limit
    │   ├── UnsupportedTypeError 415: attachment type not allowed
    │   ├── ValidationError      422: rule violations, listed in .messages
    │   ├── RateLimitedError     429: too many requests; .retry_after seconds
    │   └── ServerError          5xx: the server failed
    ├── MalformedResponseError   the answer was not the JSON shape the contract promises
    ├── UnsupportedFeatureError  this backend lacks the feature (LeadConnector cannot create groups)
    └── InsecureUrlError         a remote backend address that is not https:// (also a ValueError)

Every error carries ``user_message``: one plain sentence telling a
non-technical user what to do. ``str(error)`` is the technical description for
logs; neither ever contains the access token.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.limits import MAX_ATTACHMENT_TOTAL_BYTES, MIB


class ApiError(Exception):
    """Base class of every backend failure."""

    default_user_message = "Something went wrong talking to the server. Please try again."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.default_user_message)
        self.detail = detail
        self.user_message = user_message or self.default_user_message

    @property
    def retryable(self) -> bool:
        """True when trying the same request later may succeed."""
        return False


# --- transport failures ------------------------------------------------------------


class NetworkError(ApiError):
    """The server could not be reached, or the connection broke mid-request.

    ``request_sent`` is False only when the request certainly never reached
    the server (the connection was never made), so even a non-idempotent
    request may be repeated safely.
    """

    default_user_message = "Can't reach the server. Check your internet connection and try again."

    def __init__(
        self, detail: str = "", *, request_sent: bool = True, user_message: str | None = None
    ) -> None:
        super().__init__(detail, user_message=user_message)
        self.request_sent = request_sent

    @property
    def retryable(self) -> bool:
        return True


class RequestTimeout(NetworkError):
    """No answer arrived in time."""

    default_user_message = "The server is taking too long to answer. Try again in a moment."


# --- error statuses ----------------------------------------------------------------


class ResponseError(ApiError):
    """The server answered with an error status.

    ``server_message`` is what the server said (a list is joined with "; "),
    kept for logs and for the subclasses whose server text is meant for people.
    """

    def __init__(
        self,
        detail: str = "",
        *,
        status_code: int,
        server_message: str = "",
        user_message: str | None = None,
    ) -> None:
        super().__init__(detail or f"HTTP {status_code}", user_message=user_message)
        self.status_code = status_code
        self.server_message = server_message


class BadRequestError(ResponseError):
    default_user_message = (
        "The server didn't accept this request. "
        "Try again, and update the app if it keeps happening."
    )


class AuthError(ResponseError):
    default_user_message = "Your sign-in has expired or is no longer valid. Please sign in again."


class ForbiddenError(ResponseError):
    default_user_message = (
        "You don't have permission to do that. Ask an admin of your account for access."
    )


class NotFoundError(ResponseError):
    default_user_message = (
        "This item no longer exists or you no longer have access to it. Refresh and try again."
    )


class ConflictError(ResponseError):
    """409: the request conflicts with the current state (e.g. a blocked group).

    The contract's 409 messages are written for people (they name who has Do
    Not Disturb on), so the server's words become the user message.
    """

    default_user_message = (
        "This can't be done right now because something changed. Refresh and check."
    )

    def __init__(
        self, detail: str = "", *, status_code: int = 409, server_message: str = ""
    ) -> None:
        super().__init__(
            detail,
            status_code=status_code,
            server_message=server_message,
            user_message=server_message or None,
        )


class TooLargeError(ResponseError):
    default_user_message = (
        f"That is too large to send. Keep attachments under "
        f"{MAX_ATTACHMENT_TOTAL_BYTES // MIB} MB in total, or send fewer files."
    )


class UnsupportedTypeError(ResponseError):
    default_user_message = (
        "That type of file can't be sent. Send a photo, video, audio clip, PDF, "
        "Office document, text file, contact card or calendar file instead."
    )


class ValidationError(ResponseError):
    """422: the request broke one or more rules, each a human-readable sentence."""

    def __init__(
        self, detail: str = "", *, status_code: int = 422, messages: Sequence[str] = ()
    ) -> None:
        self.messages = [m for m in messages if m]
        super().__init__(
            detail,
            status_code=status_code,
            server_message="; ".join(self.messages),
            user_message=_validation_sentence(self.messages),
        )


def _validation_sentence(messages: Sequence[str]) -> str:
    if not messages:
        return "Some details aren't valid. Check what you entered and try again."
    if len(messages) == 1:
        return messages[0]
    return "Please fix these and try again: " + "; ".join(messages)


class RateLimitedError(ResponseError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds, if given."""

    def __init__(
        self,
        detail: str = "",
        *,
        status_code: int = 429,
        retry_after: float | None = None,
        server_message: str = "",
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            detail,
            status_code=status_code,
            server_message=server_message,
            user_message=_rate_limit_sentence(retry_after),
        )

    @property
    def retryable(self) -> bool:
        return True


def _rate_limit_sentence(retry_after: float | None) -> str:
    if retry_after is None:
        return "Too many requests right now. Try again in a moment."
    seconds = max(1, round(retry_after))
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many requests right now. Try again in {seconds} {unit}."


class ServerError(ResponseError):
    """5xx. ``retry_after`` is set when a 503 said how long to wait."""

    default_user_message = "The server had a problem. Please try again in a moment."

    def __init__(
        self,
        detail: str = "",
        *,
        status_code: int = 500,
        server_message: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail, status_code=status_code, server_message=server_message)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        # 501 and 505 say the server will never do this; the rest are passing troubles.
        return self.status_code not in (501, 505)


# --- everything else ---------------------------------------------------------------


class MalformedResponseError(ApiError):
    """The answer was not JSON, or not the shape the contract promises."""

    default_user_message = (
        "The server sent an answer this app doesn't understand. "
        "Check the server address in Settings, or try again later."
    )


class UnsupportedFeatureError(ApiError):
    """The backend has no such feature (e.g. the public LeadConnector API has no group create)."""

    def __init__(self, feature: str, detail: str = "") -> None:
        self.feature = feature
        super().__init__(
            detail or f"backend does not support: {feature}",
            user_message=f"This backend can't {feature}.",
        )


class InsecureUrlError(ApiError, ValueError):
    """A backend address that would send the token unencrypted, or is not a web address."""

    default_user_message = (
        "Use an https:// address for the server. Only a server on this device may use http://."
    )
