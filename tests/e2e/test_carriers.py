"""Issue 13 in the browser: the app on a messaging server whose carrier is (a fake) Twilio.

The server runs as its own process with ``--carrier twilio``; its Twilio account is the
spec-validated fake served over HTTP on 127.0.0.1. In Chromium a user creates a group of
three and sends a message; the message reaches Twilio as a Conversation Message; then one
participant's phone replies, which reaches the server as Twilio would send it (a signed
``onMessageAdded`` webhook), and the reply shows live in the open thread under her name.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import DESKTOP, ROOT, Server, _env, _start, _stop, free_port, wait_for_port
from tests.services.server.carriers import fake_twilio
from tests.services.server.carriers.served import ServedFake
from tests.services.server.carriers.support import PUBLIC_URL, Clock

pytestmark = pytest.mark.e2e
WAIT = 60_000
BUBBLE_WITH = """([text, who]) => [...document.querySelectorAll(
    '[flt-semantics-identifier^="message-"]')].some(e => {
        const t = (e.getAttribute('aria-label') || '') + ' ' + e.innerText;
        return t.includes(text) && t.includes(who);
    })"""


@dataclass
class TwilioWorld:
    app: Server
    fake: fake_twilio.FakeTwilio
    server_url: str


@pytest.fixture
def twilio_world(tmp_path: Path) -> Iterator[TwilioWorld]:
    # Twilio's webhooks carry their own dates: the fake's clock is the real one.
    fake = fake_twilio.FakeTwilio(Clock(datetime.now(UTC)))
    served = ServedFake(fake.transport)
    served.start()
    port = free_port()
    env = {
        **_env(),
        **fake_twilio.ENV,
        "TWILIO_API_BASE": served.base(fake_twilio.API),
        "TWILIO_ACCOUNTS_BASE": served.base(fake_twilio.ACCOUNTS),
        "TWILIO_MEDIA_BASE": served.base(fake_twilio.MCS),
    }
    log = tmp_path / "server.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "services.server", "--host", "127.0.0.1"),
                *("--port", str(port), "--db", str(tmp_path / "server.db"), "--seed", "demo"),
                *("--rate-limit", "0", "--carrier", "twilio", "--public-url", PUBLIC_URL),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server)
        url = f"http://127.0.0.1:{port}"
        proc, app_port = _start(
            ["--backend", url, "--token", "demo-admin", "--location", "loc_demo", "--demo-reset"],
            tmp_path / "app.log",
        )
        try:
            yield TwilioWorld(
                Server(f"http://127.0.0.1:{app_port}", proc, tmp_path / "app.log", url), fake, url
            )
        finally:
            _stop(proc)
    finally:
        _stop(server)
        served.stop()
        fake.assert_clean()


def _carried(fake: fake_twilio.FakeTwilio, text: str) -> dict[str, object] | None:
    for conversation in list(fake.conversations.values()):
        for message in list(conversation.messages):
            if message["body"] == text:
                return {"conversation": conversation, "message": message}
    return None


def _until(check, what: str, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def test_a_group_on_twilio_texts_out_and_a_signed_reply_shows_live(make_app, twilio_world):
    world = twilio_world
    app = make_app(world.app, DESKTOP)
    app.by_id("create-new-message").click()
    app.by_id("search-contacts").wait_for(timeout=WAIT)
    app.by_id("from-+14155550100").click()
    for contact, query in (
        ("ct_demo_noah_williams", "Noah"),
        ("ct_demo_olivia_brown", "Olivia Brown"),
        ("ct_demo_liam_davis", "Liam"),
    ):
        app.type_in("search-contacts", query)
        app.by_id(f"pick-{contact}").wait_for(timeout=WAIT)
        app.by_id(f"pick-{contact}").click()
    app.type_in("group-name", "Twilio crew")
    app.by_id("create-conversation").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.type_in("composer", "Hello from the office")
    app.page.keyboard.press("Enter")

    carried = _until(lambda: _carried(world.fake, "Hello from the office"), "Twilio got it")
    conversation = carried["conversation"]
    assert conversation.friendly_name == "Twilio crew"
    members = {p["messaging_binding"].get("address") for p in conversation.participants}
    assert members >= {"+14155550120", "+12125550121", "+16175550122"}
    assert json.loads(carried["message"]["attributes"])["gcsMessageId"].startswith("msg_")

    # Olivia replies from her phone: Twilio posts onMessageAdded, signed, to the server.
    params = world.fake.message_added(conversation.sid, "+12125550121", "Count me in!")
    hook = world.fake.webhook("/webhooks/twilio", params)
    answer = httpx.post(
        world.server_url + "/webhooks/twilio", content=hook.body, headers=dict(hook.headers)
    )
    assert answer.status_code == 200, answer.text
    app.page.wait_for_function(BUBBLE_WITH, arg=["Count me in!", "Olivia"], timeout=WAIT)
    app.shot("journey-twilio-reply-live")
