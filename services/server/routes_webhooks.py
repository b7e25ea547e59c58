"""``POST /webhooks/{carrier}``: what the carrier tells us, checked and stored before answering.

Only the carrier in use has a webhook (the other paths are 404). The signature is
checked over the raw bytes and, for Twilio, the public URL the server was given
(``--public-url``), which is the URL Twilio signed. Unsigned, forged or stale:
403 and nothing is stored. Otherwise the events go into the inbox (a repeat of
one already there is kept once) and the carrier hears 200 at once; applying them
happens after, so a slow media download never makes the carrier retry.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import Headers

from services.server import clock
from services.server.carriers.base import WebhookRefused, WebhookRequest
from services.server.problems import ApiProblem
from services.server.schemas import WebhookAnswer
from services.server.web import server_of

log = logging.getLogger(__name__)


def router_for(carrier: str) -> APIRouter:
    router = APIRouter(tags=["carrier webhooks"])

    @router.post(
        f"/webhooks/{carrier}",
        response_model=WebhookAnswer,
        summary=f"{carrier.title()} reports inbound texts and delivery receipts (signed)",
        openapi_extra={"security": []},
        name=f"{carrier}_webhook",
    )
    async def receive(request: Request) -> dict[str, Any]:
        server = server_of(request)
        server.resume()
        webhook = WebhookRequest(
            url=_public_url(server.public_url, request),
            headers={k.lower(): v for k, v in Headers(scope=request.scope).items()},
            body=await request.body(),
            received_at=clock.now(),
        )
        try:
            events = server.carrier.parse_webhook(webhook)
        except WebhookRefused as refused:
            log.warning("refused a %s webhook: %s", carrier, refused)
            raise ApiProblem(403, "The webhook's signature is missing, wrong or too old.") from None
        added = server.inbox.store(server.carrier.name, events)
        return {"received": len(events), "new": added}

    return router


def _public_url(public: str, request: Request) -> str:
    """The URL the carrier called: our public address, this path and the query as sent."""
    query = request.url.query
    return public + request.url.path + (f"?{query}" if query else "")
