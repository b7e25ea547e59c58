"""The embedded messaging backend as a Starlette application.

``create_app(db_path)`` serves the contract of
shared/design/backend-contract.md from one SQLite file. It works behind
``httpx.ASGITransport`` (no lifespan, buffered responses: the carrier starts
its timers lazily and clients long-poll ``/events``) and under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services import limits
from services.server import (
    openapi,
    routes_conversations,
    routes_events,
    routes_messages,
    routes_people,
    routes_sandbox,
)
from services.server.core import MessagingServer
from services.server.problems import ApiProblem
from services.server.seed import apply_seed
from services.server.web import endpoint, problem_response

DEFAULT_LATENCY_MS = 300


def routes() -> list[Route]:
    e = endpoint
    return [
        Route("/users/me", e(routes_people.me), methods=["GET"]),
        Route("/users/", e(routes_people.teammates), methods=["GET"]),
        Route("/users", e(routes_people.teammates), methods=["GET"]),
        Route(
            "/phone-system/numbers/location/{location_id}",
            e(routes_people.numbers),
            methods=["GET"],
        ),
        Route("/contacts/search", e(routes_people.search_contacts), methods=["POST"]),
        Route("/contacts/{contact_id}", e(routes_people.get_contact), methods=["GET"]),
        Route("/contacts/{contact_id}", e(routes_people.update_contact), methods=["PATCH", "PUT"]),
        Route("/contacts/{contact_id}", e(routes_people.delete_contact), methods=["DELETE"]),
        Route("/conversations/search", e(routes_conversations.search), methods=["GET"]),
        Route("/conversations/groups", e(routes_conversations.create_group), methods=["POST"]),
        Route("/conversations/messages", e(routes_messages.send), methods=["POST"]),
        Route("/conversations/messages/upload", e(routes_messages.upload), methods=["POST"]),
        Route(
            "/conversations/{conversation_id}/messages",
            e(routes_messages.history),
            methods=["GET"],
        ),
        Route("/conversations/{conversation_id}", e(routes_conversations.get), methods=["GET"]),
        Route(
            "/conversations/{conversation_id}",
            e(routes_conversations.mark_read),
            methods=["PUT"],
        ),
        Route("/events", e(routes_events.events), methods=["GET"]),
        Route("/sandbox/inbound", e(routes_sandbox.receive), methods=["POST"]),
        Route("/sandbox/carrier", e(routes_sandbox.tune), methods=["POST"]),
        Route(
            "/attachments/{attachment_id}/{name:path}", routes_messages.download, methods=["GET"]
        ),
        Route("/openapi.json", _openapi, methods=["GET"]),
    ]


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.document())


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    messages = {404: "Nothing is served at this path.", 405: "This method is not allowed here."}
    return problem_response(ApiProblem(status, messages.get(status, "The request failed.")))


def create_app(
    db_path: str | Path,
    *,
    seed: str | None = None,
    rate_limit: int = limits.RATE_LIMIT_REQUESTS,
    latency_ms: int = DEFAULT_LATENCY_MS,
    fail_rate: float = 0.0,
) -> Starlette:
    """The server over ``db_path``, seeded once with ``seed`` ("demo") when the file is new."""
    server = MessagingServer(
        db_path, rate_limit=rate_limit, latency_ms=latency_ms, fail_rate=fail_rate
    )
    if seed is not None:
        apply_seed(server, seed)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await server.aclose()
        server.db.close()  # checkpoints the WAL into the main file

    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.server = server
    return app
