"""Compressed event streams: each event deflated once, shared by every stream (sse.py)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.server.coalesce import CoalescingProtocol
from services.server.events import StoredEvent
from services.server.sse import (
    DEFLATE_END,
    GZIP_HEADER,
    ChunkWriter,
    accepts_gzip,
    chunk_writer,
    deflated,
)
from tests.services.server_process import served_here

BASE = "http://127.0.0.1:8000/"


def event(seq: int, body: str) -> StoredEvent:
    return StoredEvent(
        seq=seq,
        type="MessageCreated",
        date_added="2026-12-06T20:00:00.000Z",
        conversation_id="conv_1",
        contact_id=None,
        data={"messageId": f"msg_{seq}", "message": {"body": body, "attachments": []}},
    )


def gunzip(data: bytes) -> bytes:
    """As a client reads a stream: whatever has come, inflated, without waiting for an end."""
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def test_any_run_of_deflated_events_reads_back_as_their_plain_frames() -> None:
    events = [event(n, f"message {n} " + "words " * n) for n in range(1, 6)]
    # A user's filter may leave any of them, in the log's order: the pieces still join.
    for kept in (events, events[::2], events[3:], events[:1]):
        stream = GZIP_HEADER + b"".join(e.frame(BASE, gzip=True) for e in kept)
        assert gunzip(stream) == b"".join(e.frame(BASE) for e in kept)


def test_a_stream_s_end_closes_the_deflate_data() -> None:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    plain = inflate.decompress(GZIP_HEADER + event(1, "bye").frame(BASE, gzip=True) + DEFLATE_END)
    assert plain == event(1, "bye").frame(BASE)
    assert inflate.eof is False  # gzip's checksum is not sent: the data ended, nothing after


def test_each_event_is_deflated_once_and_smaller() -> None:
    one = event(7, "See you all at 9, coffee is on me")
    first = one.frame(BASE, gzip=True)
    assert one.frame(BASE, gzip=True) is first  # built once, shared by every stream
    assert len(first) < len(one.frame(BASE))
    assert one.frame("http://other/", gzip=True) is not first  # per base URL, as plain ones


def test_deflated_pieces_refer_to_nothing_before_them() -> None:
    # The same bytes, whatever was compressed before: a fresh compressor each time.
    assert deflated(b"id: 1\n\n") == deflated(b"id: 1\n\n")
    assert deflated(b"x")[-4:] == b"\x00\x00\xff\xff"  # ends on a byte boundary (sync flush)


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip, deflate", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("x-gzip", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("identity", False),
        ("deflate", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_gzip_is_used_only_when_the_client_accepts_it(header: str, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip


# --- a stream's chunks written without its task (under uvicorn, as the server runs) -------


class Answer:
    """What the app below saw of its writer, and when the test may look."""

    def __init__(self) -> None:
        self.writer: ChunkWriter | None = None
        self.ready = asyncio.Event()
        self.refused_after: int | None = None  # chunks written before the first refusal
        self.done = asyncio.Event()


answer = Answer()
BIG = b"x" * 65536


async def writing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    answer.writer = write = chunk_writer(send)
    answer.ready.set()
    if write is None:
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"] == "/two":
        assert write(b"one ") and write(b"two")
        await send({"type": "http.response.body", "body": b" end"})
        return
    # /until-refused: the client reads nothing (or leaves); a guard, not a measure.
    for written in range(2000):
        chunk = BIG if scope["path"] == "/until-refused" else b"."
        if not write(chunk):
            answer.refused_after = written
            break
        await asyncio.sleep(0.01 if chunk == b"." else 0)
    answer.done.set()
    await receive()  # until the client leaves


@pytest.fixture
async def uvicorn_port() -> AsyncIterator[int]:
    global answer
    answer = Answer()
    async with served_here(writing_app, CoalescingProtocol) as port:  # the server's own
        yield port


@pytest.mark.anyio
async def test_behind_uvicorn_a_stream_writes_its_chunks_in_order_without_a_send(
    uvicorn_port: int,
) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{uvicorn_port}") as client:
        answered = await client.get("/two", timeout=10)
    assert answer.writer is not None, "uvicorn's httptools protocol, as the server runs"
    assert answered.text == "one two end"


@pytest.mark.anyio
async def test_the_writer_refuses_once_the_socket_is_full(uvicorn_port: int) -> None:
    """A client that reads nothing: the writer stops (its stream's task then waits to
    send), instead of piling its events up in the server's memory."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", uvicorn_port)
    try:
        writer.write(b"GET /until-refused HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.wait_for(answer.done.wait(), timeout=30)
    finally:
        writer.close()
    assert answer.refused_after is not None and answer.refused_after > 0


@pytest.mark.anyio
async def test_the_writer_refuses_once_the_client_has_gone(uvicorn_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", uvicorn_port)
    writer.write(b"GET /until-gone HTTP/1.1\r\nHost: t\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    writer.close()
    await asyncio.wait_for(answer.done.wait(), timeout=30)
    assert answer.refused_after is not None


@pytest.mark.anyio
async def test_in_the_app_s_own_process_a_stream_has_no_writer() -> None:
    global answer
    answer = Answer()
    transport = httpx.ASGITransport(app=writing_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        assert (await client.get("/two")).status_code == 200
    assert answer.ready.is_set() and answer.writer is None


def test_a_uvicorn_whose_request_cycle_changed_gets_no_writer() -> None:
    """Its streams then send as any other server's do, instead of failing."""

    class Cycle:  # uvicorn's, as a later version might have it: no flow control here
        chunked_encoding = True
        transport = None

        async def send(self, message: Any) -> None:
            return None

    Cycle.__module__ = "uvicorn.protocols.http.httptools_impl"
    assert chunk_writer(Cycle().send) is None
