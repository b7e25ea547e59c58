"""The server in-process: an httpx transport the app's client can use directly."""

from __future__ import annotations

from pathlib import Path

import httpx

from services import limits
from services.server.app import DEFAULT_LATENCY_MS, create_app
from services.server.core import MessagingServer
from services.server.events import KEEP_EMBEDDED


class EmbeddedTransport(httpx.ASGITransport):
    """ASGITransport that also stops the carrier's delivery tasks when the client closes."""

    def __init__(self, server: MessagingServer, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.server = server

    async def aclose(self) -> None:
        await self.server.aclose()
        await super().aclose()


def embedded_transport(
    db_path: str | Path,
    seed: str | None = "demo",
    *,
    rate_limit: int = limits.RATE_LIMIT_REQUESTS,
    latency_ms: int = DEFAULT_LATENCY_MS,
    fail_rate: float = 0.0,
) -> EmbeddedTransport:
    """A transport serving the server over ``db_path`` (seeded with the demo when new)."""
    app = create_app(
        db_path,
        seed=seed,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        keep_events=KEEP_EMBEDDED,
    )
    return EmbeddedTransport(app.state.server, app=app)
