"""The simulated carrier: statuses per recipient, and deliveries that survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.api import ApiClient, RetryPolicy
from services.models import MessageStatus
from services.server import seed
from services.server.deliveries import overall
from services.server.embedded import EmbeddedTransport, embedded_transport
from tests.services.server.conftest import BASE

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("statuses", "result"),
    [
        (["queued", "sent"], "queued"),
        (["sent", "delivered"], "sent"),
        (["delivered", "delivered"], "delivered"),
        (["delivered", "undelivered"], "undelivered"),
        (["failed", "delivered"], "failed"),
        ([], "delivered"),
    ],
)
def test_overall_status(statuses: list[str], result: str) -> None:
    assert overall(statuses) == result


async def test_unfinished_deliveries_resume_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    slow = embedded_transport(db, rate_limit=0, latency_ms=60_000)
    async with ApiClient(BASE, seed.ADMIN_TOKEN, transport=slow, retry=RetryPolicy.never()) as api:
        page = await api.search_conversations(limit=100)
        crew = next(c.id for c in page.conversations if c.name == "Weekend crew")
        sent = await api.send_message(crew, "before the restart")
        cursor = (await api.events(wait=0)).cursor
        message = (await api.get_messages(crew, limit=1)).messages[0]
        assert message.status is MessageStatus.QUEUED
    # Closing the client stopped the carrier mid-delivery, as a crash would.
    fast = embedded_transport(db, rate_limit=0, latency_ms=0)
    async with ApiClient(BASE, seed.ADMIN_TOKEN, transport=fast, retry=RetryPolicy.never()) as api:
        for _ in range(50):
            batch = await api.events(after=cursor, wait=2)
            cursor = batch.cursor
            message = (await api.get_messages(crew, limit=1)).messages[0]
            if message.status is MessageStatus.DELIVERED:
                break
        assert message.id == sent.message_id
        assert message.status is MessageStatus.DELIVERED


async def test_latency_is_tunable(admin: ApiClient) -> None:
    answer = await admin.sandbox_carrier(latency_ms=1234, max_mms_bytes=2048)
    assert answer["carrier"] == {"latencyMs": 1234, "failRate": 0.0, "maxMmsBytes": 2048}


async def test_a_shared_transport_keeps_delivering_after_one_client_closes(
    transport: EmbeddedTransport,
) -> None:
    """The app shares one transport between the demo users; signing one out must not
    strand the other's messages."""
    carrier = transport.server.carrier
    async with ApiClient(
        BASE, seed.ADMIN_TOKEN, transport=transport, retry=RetryPolicy.never()
    ) as api:
        page = await api.search_conversations(limit=100)
        crew = next(c.id for c in page.conversations if c.name == "Weekend crew")
        carrier.tune(latency_ms=60_000)
        await api.send_message(crew, "in flight at sign-out")
        cursor = (await api.events(wait=0)).cursor
        await carrier.aclose()  # what closing the other client does
        carrier.tune(latency_ms=0)
        for _ in range(50):
            cursor = (await api.events(after=cursor, wait=2)).cursor
            message = (await api.get_messages(crew, limit=1)).messages[0]
            if message.status is MessageStatus.DELIVERED:
                break
        assert message.status is MessageStatus.DELIVERED
