"""The one HTTP client for the messaging contract, and its error hierarchy."""

from services.api.client import DEFAULT_TIMEOUT, ApiClient, RateLimit
from services.api.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InsecureUrlError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ResponseError,
    ServerError,
    TooLargeError,
    UnsupportedFeatureError,
    UnsupportedTypeError,
    ValidationError,
)
from services.api.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "ApiError",
    "AuthError",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "InsecureUrlError",
    "MalformedResponseError",
    "NetworkError",
    "NotFoundError",
    "RateLimit",
    "RateLimitedError",
    "RequestTimeout",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "TooLargeError",
    "UnsupportedFeatureError",
    "UnsupportedTypeError",
    "ValidationError",
]
