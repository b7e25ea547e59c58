"""The simulation's own controls: a phone texting in, and the carrier's knobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.server import inbound
from services.server.carriers.simulated import SimulatedCarrier
from services.server.problems import ApiProblem, invalid
from services.server.schemas import CarrierAnswer, CarrierTune, Inbound, InboundAnswer
from services.server.web import Context, Ctx, answer

router = APIRouter(tags=["simulated carrier"])


def _simulated(ctx: Ctx) -> SimulatedCarrier:
    assert ctx.server.simulated is not None, "mounted only with the simulated carrier"
    return ctx.server.simulated


@router.post(
    "/sandbox/inbound",
    response_model=InboundAnswer,
    status_code=201,
    summary="A participant's phone texts the business (simulated carrier only)",
)
async def simulate_inbound(ctx: Context, body: Inbound) -> dict[str, Any]:
    if not body.body.strip() and not body.media_urls:
        raise invalid(["An inbound text needs a body or media."])
    text = inbound.InboundText(
        sender=body.from_, to=body.to, body=body.body, media_urls=body.media_urls
    )
    location = ctx.user.location_id or ""
    return answer(ctx, inbound.receive(ctx.server, location, text, viewer=ctx.user))


@router.post(
    "/sandbox/carrier",
    response_model=CarrierAnswer,
    summary="Tune the simulated carrier (simulated carrier only)",
)
async def tune_simulated_carrier(ctx: Context, body: CarrierTune) -> dict[str, Any]:
    if not ctx.user.is_admin:
        raise ApiProblem(403, "Only an admin can tune the simulated carrier.")
    settings = _simulated(ctx).tune(
        latency_ms=body.latency_ms,
        fail_rate=None if body.fail_rate is None else float(body.fail_rate),
        max_mms_bytes=body.max_mms_bytes,
    )
    return {"carrier": settings.wire()}
