"""``GET /events`` under uvicorn, as the standalone server serves it: a stream whose
client stops reading holds up no other, loses nothing, and gets every event in order
once it reads again (the hub writes caught-up streams itself; a full socket sends the
stream back to its own task, which waits for room)."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import httpx
import pytest

from services.server import seed
from services.server.app import create_app
from services.server.coalesce import CoalescingProtocol
from tests.services.server_process import served_here

pytestmark = pytest.mark.anyio

MESSAGES = 300
BODY = re.compile(rb'"body":"(slow-reader \d+)')


class SmallBuffers(CoalescingProtocol):
    """The server's protocol with a small socket buffer, as for a phone on a slow network:
    a client that stops reading fills it after a few events, not a few megabytes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        super().connection_made(transport)


async def _open_stream(port: int) -> tuple[socket.socket, bytes]:
    """A stream's socket, read only when the test reads it (an asyncio stream would drain
    it into memory as the bytes come)."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(raw, ("127.0.0.1", port))
    await loop.sock_sendall(
        raw,
        b"GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n"
        b"Accept-Encoding: identity\r\n"
        b"Authorization: Bearer " + seed.ADMIN_TOKEN.encode() + b"\r\n\r\n",
    )
    return raw, await _read_until(raw, b": cursor")  # the stream is open, from now


async def _read_until(raw: socket.socket, last: bytes, seen: bytes = b"") -> bytes:
    """What the socket has given, read until ``last`` is in the answer's body."""
    while last not in _unchunked(seen):
        chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(raw, 65536), 30)
        assert chunk, "the stream ended"
        seen += chunk
    return seen


async def test_a_client_that_stops_reading_holds_up_no_one_and_loses_nothing(
    tmp_path: Path,
) -> None:
    app = create_app(tmp_path / "server.db", seed="demo", rate_limit=0, latency_ms=60_000)
    async with (
        served_here(app, SmallBuffers) as port,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://server",
            headers={"Authorization": f"Bearer {seed.ADMIN_TOKEN}"},
        ) as http,
    ):
        page = (await http.get("/conversations/search", params={"limit": 100})).json()
        crew = next(c["id"] for c in page["conversations"] if c.get("name") == "Weekend crew")
        slow, slow_seen = await _open_stream(port)  # not read again until the end
        fast, fast_seen = await _open_stream(port)
        last = f"slow-reader {MESSAGES - 1}".encode()
        reading = asyncio.create_task(_read_until(fast, last, fast_seen))
        for n in range(MESSAGES):
            body = f"slow-reader {n} " + "x" * 400
            sent = await http.post(
                "/conversations/messages",
                json={"type": "SMS", "conversationId": crew, "message": body},
            )
            assert sent.status_code == 201
        # The reading client has every message while the other still reads nothing.
        fast_seen = await reading
        slow_seen = await _read_until(slow, last, slow_seen)
        for raw in (slow, fast):
            raw.close()
    await app.state.server.aclose()
    app.state.server.db.close()
    expected = [f"slow-reader {n}" for n in range(MESSAGES)]
    for seen in (_unchunked(fast_seen), _unchunked(slow_seen)):
        assert [m.decode() for m in BODY.findall(seen)] == expected  # each once, in order
        ids = [int(i) for i in re.findall(rb"(?m)^id: (\d+)$", seen)]
        assert ids == sorted(set(ids)) and len(ids) >= MESSAGES


def _unchunked(wire: bytes) -> bytes:
    """The answer's body as its reader sees it: the head and the chunks' framing gone (up
    to the last whole chunk)."""
    if b"\r\n\r\n" not in wire:
        return b""
    rest, body = wire.split(b"\r\n\r\n", 1)[1], b""
    while b"\r\n" in rest:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if len(rest) < size:
            break  # the last chunk, cut where the reading stopped
        body, rest = body + rest[:size], rest[size + 2 :]
    return body
