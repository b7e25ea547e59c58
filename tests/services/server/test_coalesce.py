"""An answer's head and body leave in one write; nothing is held past a turn of the loop,
and a stream's later events are not held at all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.server.coalesce import CoalescingProtocol, CoalescingTransport
from tests.services.server_process import served_here

pytestmark = pytest.mark.anyio


class Recorder(asyncio.Transport):
    """A transport that keeps what is written to it (its peer never leaves unless told)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


async def test_an_answer_s_head_waits_for_the_rest_of_its_turn() -> None:
    real = Recorder()
    joined = CoalescingTransport(real)
    joined.answer_due()  # a request came in
    joined.write(b"HTTP/1.1 201 Created\r\n\r\n")
    joined.write(b'{"ok":true}')
    assert real.writes == []  # nothing until this turn ends
    await asyncio.sleep(0)
    assert real.writes == [b'HTTP/1.1 201 Created\r\n\r\n{"ok":true}']
    joined.write(b"event: later")  # after the answer's first turn: at once
    assert real.writes[1:] == [b"event: later"]
    await asyncio.sleep(0)
    assert len(real.writes) == 2


async def test_closing_writes_what_was_waiting_first() -> None:
    real = Recorder()
    joined = CoalescingTransport(real)
    joined.answer_due()
    joined.write(b"last words")
    joined.close()
    assert real.writes == [b"last words"]
    assert real.closed
    await asyncio.sleep(0)
    assert real.writes == [b"last words"]  # not twice


async def test_nothing_is_written_after_the_peer_has_gone() -> None:
    real = Recorder()
    joined = CoalescingTransport(real)
    joined.answer_due()
    joined.write(b"too late")
    real.closed = True  # the client left before the turn ended
    await asyncio.sleep(0)
    assert real.writes == []


async def test_everything_else_is_the_transports_own() -> None:
    real = Recorder()
    joined = CoalescingTransport(real)
    assert joined.get_extra_info("peername") == ("127.0.0.1", 5)
    assert joined.is_closing() is False


# --- under uvicorn ------------------------------------------------------------------------


class Counted(CoalescingProtocol):
    """The server's protocol, counting the writes that reach the socket."""

    writes: list[bytes]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        original = transport.write

        def write(data: Any) -> None:
            Counted.writes.append(bytes(data))
            original(data)

        transport.write = write  # type: ignore[method-assign]
        super().connection_made(transport)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":  # three chunks, the last two a while apart
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"second", "more_body": True})
        await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"third"})
        return
    body = b'{"conversationId":"c1","messageId":"m1","status":"queued"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def served() -> AsyncIterator[int]:
    Counted.writes = []
    async with served_here(app, Counted) as port:
        yield port


async def test_each_answer_reaches_the_socket_in_one_write(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    try:
        for _ in range(3):  # one keep-alive connection, as the app's client holds
            writer.write(b"POST /conversations/messages HTTP/1.1\r\nHost: t\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 201")
            assert (await reader.readexactly(58)).endswith(b'"status":"queued"}')
    finally:
        writer.close()
    assert len(Counted.writes) == 3
    assert all(w.startswith(b"HTTP/1.1 201") and w.endswith(b"}") for w in Counted.writes)


async def test_a_stream_is_not_held_back_between_its_chunks(served: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served)
    try:
        writer.write(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        while b"third" not in received:
            received += await reader.read(1024)
    finally:
        writer.close()
    # The head and the first chunk share a turn; each later chunk went out on its own.
    assert [b"first" in w for w in Counted.writes[:1]] == [True]
    assert [w for w in Counted.writes[1:] if b"second" in w or b"third" in w] == Counted.writes[1:]
    assert len(Counted.writes) == 3
