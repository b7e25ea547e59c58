"""The sandbox in-process: an httpx transport the app's client can use directly."""

from __future__ import annotations

from pathlib import Path

import httpx

from services import limits
from services.sandbox.app import DEFAULT_LATENCY_MS, create_app
from services.sandbox.core import Sandbox


class SandboxTransport(httpx.ASGITransport):
    """ASGITransport that also stops the carrier's delivery tasks when the client closes."""

    def __init__(self, sandbox: Sandbox, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sandbox = sandbox

    async def aclose(self) -> None:
        await self.sandbox.aclose()
        await super().aclose()


def embedded_transport(
    db_path: str | Path,
    seed: str | None = "demo",
    *,
    rate_limit: int = limits.RATE_LIMIT_REQUESTS,
    latency_ms: int = DEFAULT_LATENCY_MS,
    fail_rate: float = 0.0,
) -> SandboxTransport:
    """A transport serving the sandbox over ``db_path`` (seeded with the demo when new)."""
    app = create_app(
        db_path, seed=seed, rate_limit=rate_limit, latency_ms=latency_ms, fail_rate=fail_rate
    )
    return SandboxTransport(app.state.sandbox, app=app)
