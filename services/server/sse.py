"""A Server-Sent Events response that costs each stream as little as an event can.

Starlette's ``StreamingResponse`` passes every chunk down through each middleware's
``send`` and runs a task group per response; with hundreds of open streams that is
most of the server's time per event. This response sends its start (headers, status)
through the stack as any response does, then writes body chunks to the server's own
send, which the app keeps in the scope (``DIRECT_SEND``, set by ``app._App``), and
notices a client that leaves by listening for ``http.disconnect`` beside the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

DIRECT_SEND = "groupchat.direct_send"


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, chunks: AsyncIterator[bytes], headers: Mapping[str, str]) -> None:
        super().__init__(status_code=200, media_type=self.media_type)
        self._chunks = chunks
        self._start_headers = [(b"content-type", b"text/event-stream; charset=utf-8")] + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self._start_headers})
        direct: Send = scope.get(DIRECT_SEND) or send
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
            # The stream ended on its own (its token revoked): end the response properly.
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(self, direct: Send) -> None:
        async for chunk in self._chunks:
            await direct({"type": "http.response.body", "body": chunk, "more_body": True})


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
