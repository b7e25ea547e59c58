"""``GET /healthz``: is this server able to do its job (its database, its carrier)?

No token: a load balancer or systemd's watchdog asks. 200 when both answer, 503
naming what does not. The carrier is asked at most once a minute (its answer is
kept): a health check every few seconds must not become a call to Twilio each time.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.server.carriers.base import CarrierError
from services.server.core import MessagingServer
from services.server.schemas import HealthAnswer
from services.server.web import server_of

CARRIER_CHECK_EVERY_S = 60.0
router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthAnswer,
    summary="The database and the carrier answer (503 names what does not)",
    responses={503: {"model": HealthAnswer, "description": "Something does not answer."}},
    openapi_extra={"security": []},
)
async def healthz(request: Request) -> Any:
    server = server_of(request)
    database = "ok"
    try:
        server.db.scalar("SELECT COUNT(*) FROM locations")
    except Exception as exc:  # any database failure is the answer here
        database = f"The database does not answer: {type(exc).__name__}."
    carrier = await _carrier_state(server)
    healthy = database == "ok" and carrier == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database, "carrier": carrier}
    return JSONResponse(body, status_code=200 if healthy else 503)


async def _carrier_state(server: MessagingServer) -> str:
    now = time.monotonic()
    cached = server.carrier_health
    if cached is not None and now - cached[0] < CARRIER_CHECK_EVERY_S:
        return cached[1]
    try:
        await server.carrier.verify()
        state = "ok"
    except CarrierError as error:
        state = error.message
    server.carrier_health = (now, state)
    return state
