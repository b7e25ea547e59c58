"""Schemathesis (pinned) against the server's own /openapi.json: every check, every phase.

The server runs as a process of its own; schemathesis reads its published document,
then sends examples, coverage cases, fuzzed requests and stateful sequences that
follow the document's links, and checks every answer: no 5xx, every answer as the
document says (status, content type, headers, body schema), valid data accepted and
invalid data refused (with the few statuses tests/services/server/schemathesis.toml
allows and says why), auth not ignored, the right 405 with Allow. A failed check fails
this test with schemathesis' own report.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services.server_process import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")


async def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    # Its checks try wrong tokens on purpose: the per-address lockout would turn the rest
    # of the run into 429s, so it is set out of reach here.
    server = ServerProcess(tmp_path / "server.db", args=["--max-failed-sign-ins", "1000000"])
    await server.start()
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [
                str(ST),
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--header",
                "Authorization: Bearer demo-admin",
                "--max-examples",
                "25",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        server.stop()
    report = done.stdout + done.stderr
    print(report[-3000:])
    assert done.returncode == 0, report[-12000:]
    assert "passed" in report and "failed" not in report.split("SUMMARY")[-1]
