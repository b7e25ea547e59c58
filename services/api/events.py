"""Decoding live-update events from a server-sent-events stream."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from httpx_sse import ServerSentEvent

from services.api.errors import MalformedResponseError
from services.api.responses import Shape
from services.models import Event

_EVENT: Shape[Event] = Shape(Event)  # made on first use (responses.Shape)


def event_from_sse(sse: ServerSentEvent) -> Event | None:
    """The Event an SSE frame carries; None for keep-alives and frames without data.

    ``data`` may hold the whole event (``{"id", "type", "dateAdded", "data"}``)
    or only its payload, with the id and type in the SSE ``id:``/``event:``
    lines; both are accepted. Unknown types decode to ``EventType.UNKNOWN``
    and are passed on so the caller can still advance its cursor.
    """
    if not sse.data.strip():
        return None
    try:
        payload: Any = json.loads(sse.data)
    except ValueError:
        raise MalformedResponseError(f"event {sse.id!r}: data is not JSON") from None
    if isinstance(payload, dict) and "type" in payload and "data" in payload:
        whole = dict(payload)
        whole.setdefault("id", sse.id)
    else:
        whole = {"id": sse.id, "type": sse.event, "data": payload}
    try:
        return _EVENT.adapter.validate_python(whole)
    except pydantic.ValidationError:
        raise MalformedResponseError(f"event {sse.id!r}: not an event") from None
