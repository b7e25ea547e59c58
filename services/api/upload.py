"""Multipart upload bodies that report real progress as they are sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

Progress = Callable[[int, int], None]

CHUNK_BYTES = 64 * 1024


def encode_upload(
    conversation_id: str,
    filename: str,
    data: bytes,
    content_type: str,
    *,
    group_sms: bool = True,
    location_id: str | None = None,
) -> tuple[bytes, str]:
    """The multipart body and its Content-Type for one file of a message.

    ``group_sms`` adds ``isGroupSms=true`` (one file per request, the contract's
    group upload); ``location_id`` adds the ``locationId`` LeadConnector's form
    requires. httpx encodes it (boundary, escaping of the file name); we keep
    the bytes so each attempt can stream them afresh and count what left.
    """
    fields = {"conversationId": conversation_id}
    if group_sms:
        fields["isGroupSms"] = "true"
    if location_id is not None:
        fields["locationId"] = location_id
    request = httpx.Request(
        "POST",
        "http://upload.invalid/",
        data=fields,
        files={"fileAttachment": (filename, data, content_type)},
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
