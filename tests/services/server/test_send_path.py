"""The send's own request path answers as FastAPI's route would, and hands FastAPI
everything it does not answer itself, body intact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.security import HTTPBearer
from starlette.requests import Request

from services.server import seed, web
from services.server.app import create_app
from services.server.send_path import PATH, SendPath

pytestmark = pytest.mark.anyio

ADMIN = f"Bearer {seed.ADMIN_TOKEN}"
STAFF = f"Bearer {seed.STAFF_TOKEN}"


def _app(path: Path, *, send_path: bool) -> FastAPI:
    app = create_app(path, seed="demo", rate_limit=0, latency_ms=60_000)
    app.send_path = send_path  # type: ignore[attr-defined]  # before the first request
    return app


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The same demo twice: with the send path, and with FastAPI's route alone."""
    apps = [
        _app(tmp_path / "with.db", send_path=True),
        _app(tmp_path / "without.db", send_path=False),
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        for app in apps
    ]
    yield clients[0], clients[1]
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.server.aclose()


async def _conversation(client: httpx.AsyncClient, name: str) -> str:
    found = await client.get("/conversations/search", headers={"Authorization": ADMIN})
    return next(c["id"] for c in found.json()["conversations"] if c.get("name") == name)


def _named(body: str | bytes, ids: dict[bytes, bytes]) -> bytes:
    raw = body.encode() if isinstance(body, str) else body
    for name, value in ids.items():
        raw = raw.replace(name, value)
    return raw


def _same(answer: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """What a client can tell apart: status, body (ids aside) and headers (the request id
    aside), so the two servers' answers compare."""
    body: Any = answer.json()
    if isinstance(body, dict):
        body = {k: ("<id>" if k in ("messageId", "conversationId") else v) for k, v in body.items()}
    headers = {k: v for k, v in answer.headers.items() if k != "x-request-id"}
    return answer.status_code, body, headers


async def test_every_kind_of_send_is_answered_as_fastapi_answers_it(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    # Each demo has its own ids: the cases name them, each server gets its own.
    ids = [
        {
            b"CREW": (await _conversation(client, "Weekend crew")).encode(),
            b"LEAGUE": (await _conversation(client, "Sunday league")).encode(),  # opted out
        }
        for client in pair
    ]
    crew, league = "CREW", "LEAGUE"
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[dict[str, str], str | bytes]] = [
        ({"Authorization": ADMIN}, json.dumps({"conversationId": crew, "message": "hi"})),
        (  # the same client id again: the first answer, nothing stored twice
            {"Authorization": ADMIN},
            json.dumps({"conversationId": crew, "message": "once", "clientMessageId": "c1"}),
        ),
        (
            {"Authorization": ADMIN},
            json.dumps({"conversationId": crew, "message": "once", "clientMessageId": "c1"}),
        ),
        ({"Authorization": ADMIN, "Idempotency-Key": "k" * 201}, json.dumps({"message": "x"})),
        ({"Authorization": ADMIN}, json.dumps({"conversationId": league, "message": "hi"})),
        ({"Authorization": STAFF}, json.dumps({"conversationId": "conv_nope", "message": "a"})),
        ({"Authorization": ADMIN}, json.dumps({"conversationId": crew, "message": " "})),
        ({"Authorization": ADMIN}, json.dumps({"conversationId": crew, "bogus": 1})),
        ({"Authorization": ADMIN}, b'{"conversationId": '),
        ({"Authorization": ADMIN}, json.dumps([1, 2])),
        ({"Authorization": "Bearer wrong"}, json.dumps({"conversationId": crew, "message": "a"})),
        ({"Authorization": "Basic abc"}, json.dumps({"conversationId": crew, "message": "a"})),
        ({}, b"not json at all"),
    ]
    for headers, body in cases:
        answers = [
            await client.post(PATH, content=_named(body, mine), headers={**json_type, **headers})
            for client, mine in zip(pair, ids, strict=True)
        ]
        assert _same(answers[0]) == _same(answers[1]), (headers, body)
    form = [
        await c.post(PATH, content=b"message=hi", headers={"Authorization": ADMIN}) for c in pair
    ]
    assert _same(form[0]) == _same(form[1]) and form[0].status_code == 415
    statuses = {
        (
            await pair[0].post(PATH, content=_named(body, ids[0]), headers={**json_type, **headers})
        ).status_code
        for headers, body in cases
    }
    assert {201, 400, 401, 404, 422} <= statuses  # the cases cover what they should


async def _refusing_app(scope: Any, receive: Any, send: Any) -> None:
    """FastAPI's place: answers 418 with the body it was given."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"".join(chunks)})


async def test_what_the_send_path_does_not_answer_reaches_fastapi_with_its_body(
    tmp_path: Path,
) -> None:
    real = create_app(tmp_path / "d.db", seed="demo", rate_limit=0, latency_ms=60_000)
    inner = SendPath(_refusing_app)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = real  # as Starlette sets it, for the server
        await inner(scope, receive, send)

    crew = await _conversation(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=real), base_url="http://t"),
        "Weekend crew",
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": ADMIN},
    ) as client:
        sent = await client.post(PATH, json={"conversationId": crew, "message": "direct"})
        assert sent.status_code == 201 and sent.json()["status"] == "queued"
        for body in (b'{"conversationId": 1}', b"{", b'{"message": "x"}' * 3):
            handed = await client.post(
                PATH, content=body, headers={"Content-Type": "application/json"}
            )
            assert (handed.status_code, handed.content) == (418, body)
        other = await client.get(PATH)
        assert other.status_code == 418
    await real.state.server.aclose()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer abc",
        "bearer abc",
        "BEARER  abc ",
        "Basic abc",
        "Bearer a b",
        " Bearer abc",
        "Bearerabc",
        "Bearer \tabc",
    ],
)
async def test_the_send_path_reads_a_token_as_fastapi_s_bearer_does(header: str | None) -> None:
    headers = [] if header is None else [(b"authorization", header.encode("latin-1"))]
    request = Request({"type": "http", "headers": headers})
    credentials = await HTTPBearer(auto_error=False)(request)
    expected = credentials.credentials.strip() if credentials else ""
    assert web.bearer_token(header) == expected


async def _call(app: Any, body_parts: list[bytes], *, leaves: bool = False) -> list[Any]:
    """One send as ASGI messages: the body in ``body_parts``, the client gone after them
    with ``leaves``; what the app sent back."""
    parts: list[dict[str, Any]] = [
        {"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1 or leaves}
        for i, part in enumerate(body_parts)
    ]
    if leaves:
        parts.append({"type": "http.disconnect"})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"authorization", ADMIN.encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_body_in_pieces_is_a_send_and_a_client_that_leaves_sends_nothing(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path / "d.db", send_path=True)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    crew = await _conversation(client, "Weekend crew")
    body = json.dumps({"conversationId": crew, "message": "in two pieces"}).encode()
    inner = SendPath(_refusing_app)  # FastAPI's place answers 418: this must not reach it

    async def send_path_alone(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = app
        await inner(scope, receive, send)

    sent = await _call(send_path_alone, [body[:20], body[20:]])
    assert sent[0]["status"] == 201 and b'"queued"' in sent[1]["body"]
    # The connection dropped mid-body: FastAPI's answer (to no one), nothing stored.
    before = app.state.server.db.scalar("SELECT COUNT(*) FROM messages")
    fastapi_alone = _app(tmp_path / "alone.db", send_path=False)
    answers = [
        [(m.get("status"), m.get("body")) for m in await _call(a, [body[:20]], leaves=True)]
        for a in (app, fastapi_alone)
    ]
    assert answers[0] == answers[1]
    assert app.state.server.db.scalar("SELECT COUNT(*) FROM messages") == before
    await client.aclose()
    for a in (app, fastapi_alone):
        await a.state.server.aclose()


async def test_a_send_that_fails_unforeseen_stores_nothing_and_is_answered_alike(
    tmp_path: Path,
) -> None:
    """A fault in the middle of a send (here its carrier job's table is gone): a 500 in
    the contract's words, with the request id and security headers, on both paths."""
    answers = []
    for send_path in (True, False):
        app = _app(tmp_path / f"{send_path}.db", send_path=send_path)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            crew = await _conversation(client, "Weekend crew")
            server = app.state.server
            before = server.db.scalar("SELECT COUNT(*) FROM messages")
            with server.write() as conn:
                conn.execute("ALTER TABLE carrier_jobs RENAME TO carrier_jobs_gone")
            answer = await client.post(
                PATH,
                json={"conversationId": crew, "message": "lost?"},
                headers={"Authorization": ADMIN},
            )
            assert server.db.scalar("SELECT COUNT(*) FROM messages") == before
            assert answer.headers["x-request-id"] and answer.headers["x-frame-options"]
            answers.append(_same(answer))
            await server.aclose()
    assert answers[0] == answers[1]
    assert answers[0][:2] == (
        500,
        {
            "statusCode": 500,
            "message": "The server failed. Try again.",
            "error": "Internal Server Error",
        },
    )
