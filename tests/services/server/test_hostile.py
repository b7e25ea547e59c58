"""Hostile and odd input: each is answered as it should be, and changes nothing.

The server refuses what it should and nothing else: a refused send leaves no
conversation behind, search characters are characters, a missing body names the
field, 66.0 is 66, a body over the limit is refused from its Content-Length before a
byte of it is read, a client hanging up is one log line, a wrong method is 405 with
Allow, and the simulator obeys the same access rules as every other route.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from services.server import seed
from services.server.app import create_app
from services.server.embedded import EmbeddedTransport
from tests.services.server_process import ServerProcess

pytestmark = pytest.mark.anyio
cid = seed.contact_id


@pytest.fixture
async def world(
    tmp_path: Path,
) -> AsyncIterator[tuple[object, httpx.AsyncClient, httpx.AsyncClient]]:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0, latency_ms=0)
    transport = EmbeddedTransport(app.state.server, app=app)
    admin = httpx.AsyncClient(
        transport=transport, base_url="http://s", headers={"Authorization": "Bearer demo-admin"}
    )
    staff = httpx.AsyncClient(
        transport=transport, base_url="http://s", headers={"Authorization": "Bearer demo-staff"}
    )
    yield app, admin, staff
    await admin.aclose()
    await staff.aclose()
    await transport.aclose()


def count(app: object, table: str) -> int:
    return int(app.state.server.db.scalar(f"SELECT COUNT(*) FROM {table}"))  # type: ignore[attr-defined]


def test_the_published_document_is_valid_openapi(tmp_path: Path) -> None:
    document = create_app(tmp_path / "s.db").openapi()
    validate(document)  # raises on any error, a dangling $ref included
    ops = {(m, p): op for p, item in document["paths"].items() for m, op in item.items()}
    messages = ops[("get", "/conversations/{conversationId}/messages")]
    assert {p["name"] for p in messages["parameters"]} >= {"conversationId", "limit"}
    upload = ops[("post", "/conversations/messages/upload")]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    created = ops[("post", "/conversations/groups")]["responses"]["201"]
    assert created["links"]["GetMessages"]["operationId"] == "get_messages"
    assert {"201", "401", "403", "404", "422", "429"} <= set(
        ops[("post", "/conversations/groups")]["responses"]
    )


async def test_a_send_refused_with_403_leaves_no_conversation_behind(world) -> None:  # type: ignore[no-untyped-def]
    app, _, staff = world
    before = count(app, "conversations"), count(app, "events")
    answer = await staff.post(
        "/conversations/messages",
        json={
            "type": "SMS",
            "contactId": cid("Chloe", "Martin"),
            "fromNumber": seed.ADMIN_NUMBER,  # a number the staff user can't send from
            "message": "Hi",
        },
    )
    assert answer.status_code in (403, 422), answer.text
    assert (count(app, "conversations"), count(app, "events")) == before


@pytest.mark.parametrize("typed", ["%", "_", "\x00", "100%_", "a\x00"])
async def test_search_characters_are_characters(world, typed: str) -> None:  # type: ignore[no-untyped-def]
    _, admin, _ = world
    found = (await admin.get("/conversations/search", params={"query": typed})).json()
    assert found["total"] == 0, "no demo conversation holds these characters"


async def test_a_missing_body_is_422_naming_the_fields(world) -> None:  # type: ignore[no-untyped-def]
    _, admin, _ = world
    empty = await admin.post("/conversations/groups", json={})
    assert empty.status_code == 422
    text = " ".join(empty.json()["message"])
    assert "'kind'" in text and "'fromNumber'" in text and "'participants'" in text
    nothing = await admin.post(
        "/conversations/groups", content=b"", headers={"Content-Type": "application/json"}
    )
    assert nothing.status_code == 422 and "'body' is required" in nothing.json()["message"][0]


async def test_a_whole_number_written_with_a_point_is_that_number(world) -> None:  # type: ignore[no-untyped-def]
    _, admin, _ = world
    assert (await admin.post("/contacts/search", json={"pageLimit": 3.0})).status_code == 200
    half = await admin.post("/contacts/search", json={"pageLimit": 3.5})
    assert half.status_code == 422 and "pageLimit" in half.json()["message"][0]
    assert (await admin.post("/contacts/search", json={"pageLimit": "3"})).status_code == 422
    high = await admin.post("/contacts/search", json={"pageLimit": 101.0})
    assert high.status_code == 422  # refused for being out of range, not for its form


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/conversations/search", "GET"),
        ("GET", "/conversations/groups", "POST"),
        ("GET", "/conversations/messages", "POST"),
        ("GET", "/contacts/search", "POST"),
        ("POST", "/contacts/ct_x", "DELETE, GET, PATCH, PUT"),
    ],
)
async def test_a_wrong_method_is_405_with_allow(
    world, method: str, path: str, allowed: str
) -> None:  # type: ignore[no-untyped-def]
    _, admin, _ = world
    answer = await admin.request(method, path, json={})
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.json()["statusCode"] == 405


async def test_the_simulator_obeys_the_access_rules(world) -> None:  # type: ignore[no-untyped-def]
    app, admin, staff = world
    # "Open house" holds contacts the staff user isn't assigned: they can't open it.
    page = (await admin.get("/conversations/search", params={"limit": 100})).json()
    house = next(c for c in page["conversations"] if c["name"].startswith("Open house"))
    detail = (await admin.get(f"/conversations/{house['id']}")).json()["conversation"]
    phones = [p["phone"] for p in detail["participants"]]
    before = count(app, "messages"), count(app, "events")
    answer = await staff.post(
        "/sandbox/inbound",
        json={"from": phones[0], "to": [detail["fromNumber"], *phones[1:]], "body": "hi"},
    )
    assert answer.status_code == 404
    stranger = await staff.post(
        "/sandbox/inbound", json={"from": "+14155550177", "to": [seed.STAFF_NUMBER], "body": "x"}
    )
    assert stranger.status_code == 404  # a new one-to-one would be no one's of theirs
    assert (count(app, "messages"), count(app, "events")) == before
    assert count(app, "contacts") == len(seed.CONTACTS)
    tune = await staff.post("/sandbox/carrier", json={"failRate": 1})
    assert tune.status_code == 403
    assert app.state.server.simulated.settings.fail_rate == 0  # type: ignore[attr-defined]


async def _raw_exchange(port: int, request: bytes, then_close: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    if then_close:
        writer.close()
        await writer.wait_closed()
        return b""
    answer = await asyncio.wait_for(reader.read(4096), timeout=10)
    writer.close()
    return answer


async def test_over_the_limit_from_content_length_and_a_hang_up_is_one_line(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db")
    await server.start()
    try:
        # 10 MB declared, nothing sent: the answer comes before any body.
        head = (
            b"POST /conversations/messages/upload HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer demo-admin\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 10485760\r\n\r\n"
        )
        answer = await _raw_exchange(server.port, head)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
        # Half an upload, then the client leaves.
        half = head.replace(b"10485760", b"4000") + (
            b'--b\r\nContent-Disposition: form-data; name="fileAttachment"; filename="a.pdf"'
            b"\r\n\r\n%PDF-1.4 partial"
        )
        await _raw_exchange(server.port, half, then_close=True)
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/healthz")).status_code == 200
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert log.count("client hung up") == 1
