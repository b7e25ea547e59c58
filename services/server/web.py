"""Plumbing shared by every route: who is asking, the rate limit, refusals as the contract's body.

``context`` is the FastAPI dependency every authenticated route takes: it reads
the bearer token (401 in the contract's words when it is missing or unknown),
counts the request against that token's rate limit (429 with ``Retry-After``
over it) and hands the route a ``Ctx``. Every refusal, raised anywhere as an
``ApiProblem`` or by FastAPI itself, is rendered once, here, as
``{"statusCode", "message", "error"}``.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from services.models import User
from services.server import views
from services.server.accounts import SignedIn
from services.server.core import MessagingServer
from services.server.problems import ApiProblem, bad_request, invalid, unauthorized

log = logging.getLogger(__name__)

# Where the rate limit's headers wait for the answer (see middleware.py).
RATE_HEADERS = "rate_headers"

_bearer = HTTPBearer(auto_error=False, description="A staff user's token.")


class _ConversationId(Convertor[str]):
    """An id in a path: anything but the words of the routes beside it, so
    ``PUT /conversations/search`` is 405 (with ``Allow``), not a look-up of a
    conversation called "search"."""

    regex = r"(?!(?:search|groups|messages)(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _ContactId(_ConversationId):
    regex = r"(?!search(?:/|$))[^/]+"


register_url_convertor("conversation", _ConversationId())
register_url_convertor("contact", _ContactId())


@dataclass(frozen=True)
class Ctx:
    server: MessagingServer
    user: User
    base_url: str  # this server as the client reached it, for absolute attachment URLs
    signed: SignedIn | None = None  # the token's record (open streams watch it)


def server_of(request: Request) -> MessagingServer:
    server: MessagingServer = request.app.state.server
    return server


async def context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Ctx:
    return authorize(request, credentials.credentials.strip() if credentials else "")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, as ``context``'s dependency
    reads it (FastAPI's ``HTTPBearer``); "" when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    if not (scheme and token.strip()) or scheme.lower() != "bearer":
        return ""
    return token.strip()


def authorize(request: Request, token: str) -> Ctx:
    """Who asks (401 when nobody), counted against their rate limit (429 over it)."""
    return authorize_scope(request.scope, token)


def authorize_scope(scope: MutableMapping[str, Any], token: str) -> Ctx:
    """``authorize``, read from the request's ASGI scope alone. The send path asks this
    way: Starlette's request, headers and state objects, built for every send, cost it
    as much as its own checks under load (issue 19)."""
    server: MessagingServer = scope["app"].state.server
    server.resume()
    if not token:
        raise unauthorized()  # no token is no guess: nothing to count
    client = scope.get("client")
    address = client[0] if client else "unknown"
    wait = server.auth.locked_out(address)
    if wait:
        raise ApiProblem(
            429,
            f"Too many failed sign-ins from this address. Wait {wait} seconds and try again.",
            headers={"Retry-After": str(wait)},
        )
    found = server.signed_in(token)
    if found is None:
        server.auth.failed(address)
        raise unauthorized()
    user, signed = found
    state = scope.setdefault("state", {})  # what Starlette's ``request.state`` holds
    state["user_id"] = user.id  # for the request's log line
    decision = server.limiter.check(signed.token_hash)
    state[RATE_HEADERS] = decision.headers
    if not decision.allowed:
        raise ApiProblem(
            429,
            f"Too many requests. Wait {decision.retry_after} seconds and try again.",
            headers=decision.headers,
        )
    return Ctx(server, user, base_url(scope), signed)


_BASE_URLS: dict[tuple[Any, ...], str] = {}


def base_url(scope: MutableMapping[str, Any]) -> str:
    """``str(request.base_url)``, kept per scheme, host and root path: building Starlette's
    URL took a tenth of a send's request path (issue 19)."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    key = (
        scope.get("scheme"),
        host,
        scope.get("server"),
        scope.get("root_path"),
        scope.get("app_root_path"),
    )
    found = _BASE_URLS.get(key)
    if found is None:
        if len(_BASE_URLS) > 1000:  # many Host headers: a client's, not ours to keep
            _BASE_URLS.clear()
        found = _BASE_URLS[key] = str(Request(scope).base_url)
    return found


Context = Annotated[Ctx, Depends(context)]


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, headers=problem.headers)


def answer(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """A wire object with its stored attachment paths made absolute for this server."""
    result: dict[str, Any] = views.absolute_urls(body, ctx.base_url)
    return result


def check_location(ctx: Ctx, location_id: str | None) -> str:
    """The user's location; another location is as good as unknown (404)."""
    own = ctx.user.location_id or ""
    if location_id not in (None, "", own):
        raise ApiProblem(404, "Location was not found.")
    return own


# --- refusals ------------------------------------------------------------------------------

_STATUS_SENTENCES = {
    400: "The request body is not valid JSON.",
    404: "Nothing is served at this path.",
    405: "This method is not allowed here.",
}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _hung_up)
    app.add_exception_handler(Exception, failed)


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(bad_request("The request body is not valid JSON."))
    if _body_not_read(errors) and "json" not in request.headers.get("content-type", ""):
        # FastAPI reads a body as JSON only when it says so (a guard against cross-site forms).
        return problem_response(
            ApiProblem(415, "Send the request body as JSON, with Content-Type: application/json.")
        )
    return problem_response(invalid(describe(errors)))


def _body_not_read(errors: list[Any]) -> bool:
    return any(
        tuple(error.get("loc", ())) == ("body",) and error.get("type") == "model_attributes_type"
        for error in errors
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    sentence = _STATUS_SENTENCES.get(exc.status_code, "The request failed.")
    headers = dict(exc.headers or {})
    if exc.status_code == 413:
        sentence = str(exc.detail)
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path; a path
        # served by several routes (GET and PATCH of a contact) allows them all.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(ApiProblem(exc.status_code, sentence, headers=headers))


def _allowed_methods(request: Request) -> list[str]:
    found: set[str] = set()
    for pattern, methods in request.app.state.methods_by_path:
        if pattern.match(request.url.path):
            found |= methods
    return sorted(found)


async def _hung_up(request: Request, exc: Exception) -> Response:
    # Nobody is left to read an answer; one line says what happened, no traceback.
    log.info("client hung up during %s %s", request.method, request.url.path)
    return Response(status_code=499)


async def failed(request: Request, exc: Exception) -> Response:
    """Anything not foreseen: logged with its traceback, 500 in the contract's words."""
    log.exception("server handler failed: %s %s", request.method, request.url.path)
    return problem_response(ApiProblem(500, "The server failed. Try again."))


def describe(errors: list[Any] | ValidationError) -> list[str]:
    """Validation errors as sentences a developer can act on, naming each field."""
    if isinstance(errors, ValidationError):
        errors = list(errors.errors(include_url=False))
    sentences = []
    for error in errors:
        what, kind = _what(tuple(error["loc"])), error["type"]
        if kind == "extra_forbidden":
            sentences.append(f"Unknown field {what[len('Field ') :]}.")
        elif kind == "missing":
            sentences.append(f"{what} is required.")
        else:
            message = str(error["msg"]).rstrip(".")
            sentences.append(f"{what}: {message[:1].lower()}{message[1:]}.")
    return sentences or ["The request is not valid."]


_PLACES = {"query": "Query parameter", "path": "Path parameter", "header": "Header"}


def _what(loc: tuple[int | str, ...]) -> str:
    """``Field 'participants[0].contactId'``, ``Query parameter 'limit'`` and the like."""
    noun = "Field"
    if loc and loc[0] in _PLACES:
        noun, loc = _PLACES[str(loc[0])], loc[1:]
    elif loc and loc[0] == "body":
        loc = loc[1:]
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{noun} '{text or 'body'}'"
