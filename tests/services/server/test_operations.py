"""Running as a service: health, one JSON log line per request with its id, no secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from services.server import logs, seed
from services.server.app import create_app
from services.server.carriers.base import CarrierError, ErrorKind
from services.server.embedded import EmbeddedTransport

pytestmark = pytest.mark.anyio


def client(app: object, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = EmbeddedTransport(app.state.server, app=app)  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers)


async def test_healthz_says_ok_without_a_token(tmp_path: Path) -> None:
    app = create_app(tmp_path / "s.db", seed="demo")
    async with client(app) as http:
        answer = await http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "carrier": "ok"}


async def test_healthz_names_a_carrier_that_does_not_answer(tmp_path: Path) -> None:
    app = create_app(tmp_path / "s.db", seed="demo")
    server = app.state.server

    async def down() -> None:
        raise CarrierError(ErrorKind.RETRYABLE, "Twilio did not answer.")

    server.carrier.verify = down  # what a carrier outage looks like from here
    async with client(app) as http:
        answer = await http.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["carrier"] == "Twilio did not answer."


async def test_each_request_is_one_json_line_with_its_id_and_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("info", "json")
    try:
        app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
        async with client(app, seed.ADMIN_TOKEN) as http:
            search = await http.get(
                "/conversations/search",
                params={"query": "secret words"},
                headers={"X-Request-ID": "req-42"},
            )
            bad = await http.get("/users/me", headers={"Authorization": "Bearer gcs_wrong"})
    finally:
        logging.getLogger().handlers = []
    assert search.headers["x-request-id"] == "req-42"
    assert bad.status_code == 401 and bad.headers["x-request-id"]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    requests = [line for line in lines if line["logger"] == "services.server.requests"]
    first = next(line for line in requests if line["request_id"] == "req-42")
    assert first["path"] == "/conversations/search" and first["status"] == 200
    assert first["user"] == seed.ADMIN_ID and first["ms"] >= 0
    text = json.dumps(lines)
    for secret in (seed.ADMIN_TOKEN, "gcs_wrong", "secret words"):
        assert secret not in text
