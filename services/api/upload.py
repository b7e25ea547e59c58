"""Multipart upload bodies that report real progress as they are sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import httpx

Progress = Callable[[int, int], None]

CHUNK_BYTES = 64 * 1024


def encode_upload(
    conversation_id: str,
    filename: str,
    data: bytes,
    content_type: str,
) -> tuple[bytes, str]:
    """The contract's multipart body for one file of a group message, and its Content-Type.

    ``isGroupSms=true``: one file per request, as the contract's group upload wants.
    """
    fields = {"conversationId": conversation_id, "isGroupSms": "true"}
    return encode_form(fields, "fileAttachment", filename, data, content_type)


def encode_form(
    fields: Mapping[str, str], file_field: str, filename: str, data: bytes, content_type: str
) -> tuple[bytes, str]:
    """A multipart body of ``fields`` plus one file, and its Content-Type.

    httpx encodes it (boundary, escaping of the file name); we keep the bytes so
    each attempt can stream them afresh and count what left.
    """
    request = httpx.Request(
        "POST",
        "http://upload.invalid/",
        data=dict(fields),
        files={file_field: (filename, data, content_type)},
    )
    return request.read(), request.headers["Content-Type"]


async def progress_stream(
    body: bytes, on_progress: Progress | None, chunk: int = CHUNK_BYTES
) -> AsyncIterator[bytes]:
    """Yield ``body`` in chunks, calling ``on_progress(sent, total)`` after each one leaves."""
    total = len(body)
    if on_progress is not None:
        on_progress(0, total)
    for start in range(0, total, chunk):
        piece = body[start : start + chunk]
        yield piece
        if on_progress is not None:
            on_progress(start + len(piece), total)
