"""Nothing lost, nothing doubled on the way to the carrier, through every fault at once.

The server runs as its own process on a fake Twilio account served over HTTP (every
request checked against Twilio's OpenAPI document). 200 messages are sent into four
groups while the carrier answers some sends with 500, some with 429, some slowly, and
loses some answers after carrying the send out; and the server is SIGKILLed and started
again twice in the middle. Every message must reach the carrier exactly once: the fake
account's messages are counted by the id each one carries.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from services.api import ApiClient, RetryPolicy
from services.models import GroupKind
from services.server import seed
from tests.services.server.carriers import fake_twilio
from tests.services.server.carriers.served import Chaos, ServedFake
from tests.services.server.carriers.support import Clock
from tests.services.server_process import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

MESSAGES = 200
GROUPS = 4
PEOPLE = [("Chloe", "Martin"), ("Marcus", "Johnson"), ("Hannah", "Nguyen"), ("Noah", "Williams")]


def twilio_env(served: ServedFake) -> dict[str, str]:
    return {
        **fake_twilio.ENV,
        "TWILIO_API_BASE": served.base(fake_twilio.API),
        "TWILIO_ACCOUNTS_BASE": served.base(fake_twilio.ACCOUNTS),
        "TWILIO_MEDIA_BASE": served.base(fake_twilio.MCS),
    }


def carried(fake: fake_twilio.FakeTwilio) -> Counter[str]:
    """How many times each of our message ids reached the carrier."""
    seen: Counter[str] = Counter()
    for conversation in list(fake.conversations.values()):
        for message in list(conversation.messages):
            ours = json.loads(message["attributes"] or "{}").get("gcsMessageId")
            if ours:
                seen[ours] += 1
    return seen


async def test_every_message_reaches_the_carrier_exactly_once(tmp_path: Path) -> None:
    fake = fake_twilio.FakeTwilio(Clock())
    chaos = Chaos(server_error=0.08, rate_limited=0.08, slow=0.04, lost_answer=0.10)
    served = ServedFake(fake.transport, chaos)
    served.start()
    server = ServerProcess(
        tmp_path / "server.db",
        args=["--carrier", "twilio", "--public-url", "http://127.0.0.1:9"],
        env=twilio_env(served),
    )
    try:
        await server.start()
        sent = await _send_through_restarts(server)
        await _until_all_carried(fake, sent)
        # A little longer: a duplicate would come from a retry still on its way.
        await asyncio.sleep(2)
        counts = carried(fake)
        assert set(counts) == sent, "every acknowledged message reached the carrier"
        doubled = {m: n for m, n in counts.items() if n != 1}
        assert not doubled, f"texted twice: {doubled}"
        assert server.kills == 2
        assert chaos.counts.get("lost_answer", 0) >= 5, chaos.counts
        assert chaos.counts.get("server_error", 0) >= 5, chaos.counts
        assert chaos.counts.get("rate_limited", 0) >= 5, chaos.counts
        fake.assert_clean()
    finally:
        server.stop()
        served.stop()


async def _send_through_restarts(server: ServerProcess) -> set[str]:
    retry = RetryPolicy(max_attempts=30, base_delay=0.1, max_delay=1.0)
    async with ApiClient(server.url, "demo-admin", timeout=5.0, retry=retry) as api:
        groups = [await _new_group(api, n) for n in range(GROUPS)]
        sent: set[str] = set()
        for n in range(MESSAGES):
            if n in (MESSAGES // 3, 2 * MESSAGES // 3):
                server.kill()
                await server.start()
            answer = await api.send_message(groups[n % GROUPS], f"Fault test message {n}")
            sent.add(answer.message_id)
        return sent


async def _new_group(api: ApiClient, n: int) -> str:
    people = [seed.contact_id(*name) for name in PEOPLE]
    chosen = [people[(n + k) % len(people)] for k in range(3)]
    group = await api.create_group(
        GroupKind.CONTACTS,
        seed.STAFF_NUMBER,
        contact_ids=chosen,
        name=f"Fault group {n}",
        idempotency_key=f"fault-group-{n}",
    )
    return group.id


async def _until_all_carried(fake: fake_twilio.FakeTwilio, sent: set[str]) -> None:
    # Retries back off (1 s doubling) and lost answers are looked up before resending.
    for _ in range(1800):
        if set(carried(fake)) >= sent:
            return
        await asyncio.sleep(0.1)
    missing = sent - set(carried(fake))
    raise AssertionError(f"{len(missing)} messages never reached the carrier")
