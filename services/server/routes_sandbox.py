"""The simulation's own controls: a phone texting in, and the carrier's knobs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.server import inbound
from services.server.bodies import CarrierTune, Inbound
from services.server.problems import invalid
from services.server.web import Ctx, json_body, ok


async def receive(request: Request, ctx: Ctx) -> Response:
    body = await json_body(request, Inbound)
    if not body.body.strip() and not body.media_urls:
        raise invalid(["An inbound text needs a body or media."])
    text = inbound.InboundText(
        sender=body.from_, to=body.to, body=body.body, media_urls=body.media_urls
    )
    answer = inbound.receive(ctx.server, ctx.user.location_id or "", text)
    return ok(request, answer, status=201)


async def tune(request: Request, ctx: Ctx) -> Response:
    body = await json_body(request, CarrierTune)
    settings = ctx.server.carrier.tune(
        latency_ms=body.latency_ms,
        fail_rate=None if body.fail_rate is None else float(body.fail_rate),
        max_mms_bytes=body.max_mms_bytes,
    )
    return ok(request, {"carrier": settings.wire()})
