"""A Server-Sent Events response that costs each stream as little as an event can.

Starlette's ``StreamingResponse`` passes every chunk down through each middleware's
``send`` and runs a task group per response; with hundreds of open streams that is
most of the server's time per event. This response sends its start (headers, status)
through the stack as any response does, then writes body chunks to the server's own
send, which the app keeps in the scope (``DIRECT_SEND``, set by ``app._App``), and
notices a client that leaves by listening for ``http.disconnect`` beside the stream.

Compressed streams (``Content-Encoding: gzip``, for a client that accepts it) share
their bytes as plain ones do. Each event is deflated once, on its own, by a fresh
compressor flushed to a byte boundary (``deflated``): such pieces refer to nothing
before them, so any run of them, in any order a user's filter leaves, is a valid
deflate stream behind the gzip header. An event costs every stream about half the
bytes (1.3 KB to 0.6 KB for a message sent). A burst that reaches a stream in one
write is deflated together instead (``visibility.py``), once per user and range: what
its events repeat is sent once, 37 B an event instead of 287 (issue 19). A stream
never ends on its own but when its sign-in is
revoked: it then ends its deflate data without gzip's checksum (a running CRC would
cost every stream a pass over every event); clients that decode as they read, as
httpx does, take what came.

Behind uvicorn's own HTTP protocol a stream also gets a ``ChunkWriter``: it writes a body
chunk to the connection at once, without a turn of the stream's task, so the event hub's
flush can hand a caught-up stream its events itself (``EventHub.follow``). It refuses
(False) whenever a plain send would have to wait or fail: the socket's buffer full, the
client gone, the answer ended; the stream's task then sends as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

DIRECT_SEND = "groupchat.direct_send"

# Writes one body chunk now; False if it cannot (see the module's note).
ChunkWriter = Callable[[bytes], bool]
# The stream's chunks, given the writer its events may also go through (None: none here).
Chunks = Callable[[ChunkWriter | None], AsyncIterator[bytes]]
# The one server whose connection this writes to (its send's own object, read not changed).
_UVICORN_CYCLE = "uvicorn.protocols.http.httptools_impl"

# A gzip member's header: deflate, no name, no time, unknown system.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# The last deflate block (final, fixed codes, empty): what ends a stream's data.
DEFLATE_END = b"\x03\x00"


def deflated(data: bytes, level: int = 6) -> bytes:
    """``data`` as deflate blocks that refer to nothing before them and end on a byte."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (named, with a q above zero)."""
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        with contextlib.suppress(ValueError):
            return float(quality) > 0
    return False


def chunk_writer(send: Send) -> ChunkWriter | None:
    """A writer of this answer's body chunks straight to its connection, for an answer
    uvicorn's httptools protocol has started in chunked encoding; None for any other
    server (the app's own in-process one, h11), whose streams send as usual."""
    cycle: Any = getattr(send, "__self__", None)
    if type(cycle).__module__ != _UVICORN_CYCLE:
        return None
    # What it reads of uvicorn's request cycle; a uvicorn that changed it gets no writer
    # (its streams send as usual), never a failing stream.
    if getattr(cycle, "chunked_encoding", None) is not True or not all(
        hasattr(cycle, name) for name in ("transport", "flow", "disconnected", "response_complete")
    ):
        return None
    transport, flow = cycle.transport, cycle.flow
    if not hasattr(flow, "write_paused"):
        return None

    def write(body: bytes) -> bool:
        if flow.write_paused or cycle.disconnected or cycle.response_complete:
            return False
        if transport.is_closing():
            return False
        # uvicorn's own framing of a chunk (its send writes the same bytes).
        transport.write(b"%x\r\n%b\r\n" % (len(body), body))
        return True

    return write


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, chunks: Chunks, headers: Mapping[str, str], *, gzip: bool = False) -> None:
        super().__init__(status_code=200, media_type=self.media_type)
        self._make_chunks = chunks
        self._chunks: AsyncIterator[bytes] | None = None
        self._gzip = gzip
        extra = {**headers, "Vary": "Accept-Encoding"}
        if gzip:
            extra["Content-Encoding"] = "gzip"
        self._start_headers = [(b"content-type", b"text/event-stream; charset=utf-8")] + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self._start_headers})
        direct: Send = scope.get(DIRECT_SEND) or send
        self._chunks = self._make_chunks(chunk_writer(direct))
        streaming = asyncio.ensure_future(self._stream(direct))
        leaving = asyncio.ensure_future(_disconnect(receive))
        try:
            await asyncio.wait((streaming, leaving), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streaming, leaving):
                task.cancel()
            for task in (streaming, leaving):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._chunks.aclose()  # type: ignore[attr-defined]
        if streaming.done() and not streaming.cancelled() and streaming.exception() is None:
            # The stream ended on its own (its token revoked, the server stopping): end the
            # response properly.
            last = DEFLATE_END if self._gzip else b""
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": last, "more_body": False})

    async def _stream(self, direct: Send) -> None:
        assert self._chunks is not None
        if self._gzip:
            await direct({"type": "http.response.body", "body": GZIP_HEADER, "more_body": True})
        async for chunk in self._chunks:
            await direct({"type": "http.response.body", "body": chunk, "more_body": True})


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
