"""Plumbing shared by every endpoint: auth, rate limit, bodies, error rendering."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.models import User
from services.server import views
from services.server.core import MessagingServer
from services.server.problems import ApiProblem, bad_request, invalid, too_large, unauthorized

log = logging.getLogger(__name__)

# JSON bodies of this contract are small; anything bigger is a mistake or an attack.
MAX_JSON_BYTES = 64 * 1024

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Ctx:
    server: MessagingServer
    user: User


Handler = Callable[[Request, Ctx], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def server_of(request: Request) -> MessagingServer:
    server: MessagingServer = request.app.state.server
    return server


def endpoint(handler: Handler) -> Endpoint:
    """Wrap a handler: 401 for a bad token, 429 over the limit, errors as the contract's body."""

    async def run(request: Request) -> Response:
        server = server_of(request)
        headers: dict[str, str] = {}
        try:
            server.carrier.resume()
            token = _bearer(request)
            user = server.user_for_token(token) if token else None
            if user is None:
                raise unauthorized()
            decision = server.limiter.check(token)
            headers.update(decision.headers)
            if not decision.allowed:
                raise ApiProblem(
                    429,
                    f"Too many requests. Wait {decision.retry_after} seconds and try again.",
                    headers=decision.headers,
                )
            response = await handler(request, Ctx(server, user))
        except ApiProblem as problem:
            response = problem_response(problem)
        except Exception:
            log.exception("server handler failed: %s %s", request.method, request.url.path)
            response = problem_response(ApiProblem(500, "The server failed. Try again."))
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response

    return run


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, headers=problem.headers)


def ok(request: Request, body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer with stored attachment paths made absolute for this server."""
    return JSONResponse(views.absolute_urls(body, str(request.base_url)), status_code=status)


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(f"The request body is over {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"The request body is over {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body: 400 when it is not JSON, 422 when it breaks the schema."""
    raw = await read_limited(request, MAX_JSON_BYTES)
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise invalid(["The request body must be a JSON object."])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(describe(exc)) from None


def describe(exc: ValidationError) -> list[str]:
    """Pydantic's errors as sentences a developer can act on."""
    sentences = []
    for error in exc.errors(include_url=False):
        where = _location(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            sentences.append(f"Unknown field '{where}'.")
        elif kind == "missing":
            sentences.append(f"Field '{where}' is required.")
        else:
            message = str(error["msg"]).rstrip(".")
            sentences.append(f"Field '{where}': {message[:1].lower()}{message[1:]}.")
    return sentences or ["The request body is not valid."]


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid([f"Query parameter '{name}' must be a whole number."]) from None
    if not low <= value <= high:
        raise invalid([f"Query parameter '{name}' must be between {low} and {high}."])
    return value


def check_location(ctx: Ctx, location_id: str | None) -> str:
    """The user's location; another location is as good as unknown (404)."""
    own = ctx.user.location_id or ""
    if location_id not in (None, "", own):
        raise ApiProblem(404, "Location was not found.")
    return own
