"""The server's HTTP refusals, shaped as the contract's error body.

Every refusal is raised as an ``ApiProblem`` and rendered once, by the
exception handlers in ``web.py``, as ``{"statusCode", "message", "error"}``.
"""

from __future__ import annotations

from http import HTTPStatus


class ApiProblem(Exception):
    """A refusal with its HTTP status; ``message`` is a sentence or a list of them."""

    def __init__(
        self,
        status: int,
        message: str | list[str],
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        self.headers = headers or {}

    @property
    def error(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def body(self) -> dict[str, object]:
        return {"statusCode": self.status, "message": self.message, "error": self.error}


def bad_request(message: str) -> ApiProblem:
    return ApiProblem(400, message)


def unauthorized() -> ApiProblem:
    return ApiProblem(401, "Invalid JWT")


def forbidden(message: str | list[str]) -> ApiProblem:
    return ApiProblem(403, message)


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} was not found.")


def conflict(message: str | list[str]) -> ApiProblem:
    return ApiProblem(409, message)


def too_large(message: str | list[str]) -> ApiProblem:
    return ApiProblem(413, message)


def unsupported(message: str | list[str]) -> ApiProblem:
    return ApiProblem(415, message)


def invalid(messages: list[str]) -> ApiProblem:
    """422: the contract's list of human-readable sentences."""
    return ApiProblem(422, messages)
