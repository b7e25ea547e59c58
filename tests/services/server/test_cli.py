"""``python -m services.server``: what it refuses at start, in one sentence and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.services.server.carriers import fake_twilio
from tests.services.server.carriers.served import ServedFake
from tests.services.server.carriers.support import PUBLIC_URL, Clock
from tests.services.server_process import REPO

ROOT = REPO


def run_server(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.server", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_real_carrier_needs_a_public_url(tmp_path: Path) -> None:
    done = run_server(["--db", str(tmp_path / "s.db"), "--carrier", "telnyx"], {})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "The server did not start: --public-url is required with --carrier telnyx: "
        "it is where telnyx calls."
    )


def test_a_missing_credential_is_named_and_no_secret_is_echoed(tmp_path: Path) -> None:
    env = {**fake_twilio.ENV, "TWILIO_CONVERSATIONS_SERVICE_SID": ""}
    done = run_server(
        ["--db", str(tmp_path / "s.db"), "--carrier", "twilio", "--public-url", PUBLIC_URL], env
    )
    assert done.returncode == 2
    assert "TWILIO_CONVERSATIONS_SERVICE_SID" in done.stderr
    assert fake_twilio.AUTH_TOKEN not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_the_server_on_twilio_refuses_to_start_with_a_wrong_token(tmp_path: Path) -> None:
    fake = fake_twilio.FakeTwilio(Clock())
    served = ServedFake(fake.transport)
    served.start()
    try:
        env = {
            **os.environ,
            **fake_twilio.ENV,
            "TWILIO_AUTH_TOKEN": "0" * 32,
            "TWILIO_API_BASE": served.base(fake_twilio.API),
            "TWILIO_ACCOUNTS_BASE": served.base(fake_twilio.ACCOUNTS),
            "TWILIO_MEDIA_BASE": served.base(fake_twilio.MCS),
        }
        done = subprocess.run(
            [
                *(sys.executable, "-m", "services.server", "--db", str(tmp_path / "s.db")),
                *("--carrier", "twilio", "--public-url", PUBLIC_URL),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        served.stop()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("The server did not start:")
    assert "0" * 32 not in done.stderr
