"""The messaging server as a FastAPI application.

``create_app(db_path)`` serves the contract (docs/contract.md) from one SQLite
file. FastAPI validates every request against the models in ``schemas.py`` and
publishes the same models at ``/openapi.json``. It works behind
``httpx.ASGITransport`` (no lifespan, buffered answers: the carrier starts its
timers lazily and clients long-poll ``/events``) and under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from services import limits
from services.server import (
    openapi,
    routes_conversations,
    routes_devices,
    routes_events,
    routes_health,
    routes_messages,
    routes_people,
    routes_sandbox,
    routes_webhooks,
)
from services.server.carrier_queue import DRAIN_S
from services.server.carriers.base import Carrier
from services.server.core import MessagingServer
from services.server.events import KEEP_IN_MEMORY
from services.server.middleware import ServerMiddleware
from services.server.push.base import PushService
from services.server.seed import apply_seed
from services.server.send_path import SendPath
from services.server.sse import DIRECT_SEND
from services.server.web import install_error_handlers

DEFAULT_LATENCY_MS = 300


def create_app(
    db_path: str | Path,
    *,
    seed: str | None = None,
    rate_limit: int = limits.RATE_LIMIT_REQUESTS,
    latency_ms: int = DEFAULT_LATENCY_MS,
    fail_rate: float = 0.0,
    carrier: Carrier | None = None,
    public_url: str | None = None,
    push: PushService | None = None,
    redis_url: str | None = None,
    keep_events: int = KEEP_IN_MEMORY,
) -> FastAPI:
    """The server over ``db_path``, seeded once with ``seed`` ("demo") when the file is new.

    ``carrier`` is a real carrier's door (the simulated one when None); ``public_url``
    is this server's address as the carrier calls it; ``push`` is the push service's
    door (None: no push notifications); ``redis_url`` joins the other server processes
    on this database through Redis (services/server/broker.py); ``keep_events`` is how
    many of the newest events the streams read from memory (services/server/events.py).
    """
    server = MessagingServer(
        db_path,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        carrier=carrier,
        public_url=public_url,
        push=push,
        keep_events=keep_events,
    )
    if seed is not None:
        apply_seed(server, seed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if redis_url:
            from services.server.broker import RedisBroker

            await server.join(RedisBroker(redis_url))
        server.resume()  # under uvicorn the queue starts at once, not on the first request
        yield
        await server.aclose(drain_s=DRAIN_S, final=True)
        server.db.close()  # checkpoints the WAL into the main file

    app = _App(
        title="Group Chat for SMS — messaging server",
        version="2",
        summary="Group SMS/MMS for a business's staff: the app's backend contract.",
        lifespan=lifespan,
        redirect_slashes=False,
        # Operation ids are the routes' own names: get_conversation, send_message…
        generate_unique_id_function=lambda route: route.name,
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry here (each request is one log line of ours): asking the global
        # providers whether it is on cost every request a twentieth of a send (issue 19).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.server = server
    routers = _routers(server)
    for router in routers:
        app.include_router(router)
    # Each path's methods, for the Allow header of a 405 (one path may have several routes).
    app.state.methods_by_path = [
        (route.path_regex, set(route.methods or ()))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class _App(FastAPI):
    """FastAPI behind the server's own two layers, which run before any of FastAPI's:
    ``ServerMiddleware`` (body limits, request ids, the log line, rate-limit and security
    headers, on every answer, FastAPI's 500s included) and ``SendPath`` (a send answered
    without FastAPI's per-request work). A send thus skips FastAPI's and Starlette's own
    layers too (error, telemetry and body-limit middlewares, each wrapping every message):
    they cost a send more than its checks (issue 19).

    The server's own ``send`` is kept in the scope for event streams' body chunks
    (services/server/sse.py): every layer between adds nothing to a chunk but its cost,
    paid by every stream at every event.
    """

    send_path = True  # False: sends go to FastAPI's route too (tests compare the two)
    _outer: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[DIRECT_SEND] = send
        scope["app"] = self  # as Starlette sets it: the send path finds the server there
        if self._outer is None:
            inner: Any = super().__call__
            self._outer = ServerMiddleware(SendPath(inner) if self.send_path else inner)
        await self._outer(scope, receive, send)


def _routers(server: MessagingServer) -> list[Any]:
    routers = [
        routes_health.router,
        routes_people.router,
        routes_devices.router,
        routes_conversations.router,
        routes_messages.router,
        routes_events.router,
    ]
    if server.simulated is not None:
        # The simulated world exists only on the simulated carrier: elsewhere 404.
        routers.append(routes_sandbox.router)
    else:
        routers.append(routes_webhooks.router_for(server.carrier.name))
    return routers


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = openapi.document(app)
    return app.openapi_schema
