"""A fake Flet session: the app's views run against Flet's real diff engine, no browser.

Flet 1.0.5 has no public fake page. This harness builds the real
``flet.messaging.session.Session`` on a ``Connection`` that records every message
it would send, msgpack-encoded exactly as the socket server encodes them (the
encoder is where the diff engine snapshots its previous state, so without it
nothing mounts). It leans on session internals: flet is pinned exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import flet as ft
import msgpack
import pytest
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page
from flet.messaging.connection import Connection
from flet.messaging.protocol import Message, MessageAction, configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

_encode = configure_encode_object_for_msgpack(BaseControl)


def encode(payload: Any) -> bytes:
    return msgpack.packb(payload, default=_encode)


class RecordingConnection(Connection):
    """Records (message, size in bytes) for every message the session sends."""

    def __init__(self) -> None:
        super().__init__()
        self.pubsubhub = PubSubHub()
        self.sent: list[tuple[Message, int]] = []
        self.session: Session | None = None
        self.invoked: list[str] = []
        # What the client answers a method call with, by method name (default: None).
        self.answers: dict[str, Any] = {}

    def send_message(self, message: Message) -> None:
        self.sent.append((message, len(encode([message.action, message.body]))))
        if message.action == MessageAction.INVOKE_METHOD and self.session is not None:
            # A client answers method calls (focus, pick_files...); answer "done, nothing".
            body = message.body
            self.invoked.append(body.name)
            session = self.session
            result = self.answers.get(body.name)
            self.loop.call_soon(
                lambda: session.handle_invoke_method_results(
                    body.control_id, body.call_id, result, None
                )
            )


@dataclass
class FakeSession:
    session: Session
    conn: RecordingConnection
    register_bytes: int = 0
    _mark: int = field(default=0)

    @property
    def page(self) -> ft.Page:
        return self.session.page

    def mark(self) -> None:
        """Start counting sent bytes from now."""
        self._mark = len(self.conn.sent)

    def total_bytes(self) -> int:
        """Everything sent so far, the register's page patch included."""
        return self.register_bytes + sum(size for _, size in self.conn.sent)

    def bytes_since_mark(self) -> int:
        return sum(size for _, size in self.conn.sent[self._mark :])

    def messages_since_mark(self) -> list[Message]:
        return [m for m, _ in self.conn.sent[self._mark :]]

    def register(self, width: int = 1280, height: int = 800) -> None:
        """What the client's register does: page size in, whole page patch out."""
        self.session.apply_page_patch({"width": width, "height": height})
        patch = self.session.get_page_patch()
        self.register_bytes = len(encode(patch))

    async def event(self, control: ft.BaseControl, name: str, data: Any = None) -> None:
        await self.session.dispatch_event(control._i, name, data)
        await settle()

    async def type_into(self, field_: ft.TextField, text: str) -> None:
        """The browser sends the new value, then a change event."""
        self.session.apply_patch(field_._i, {"value": text})
        await self.event(field_, "change", text)


async def settle(rounds: int = 5) -> None:
    """Let scheduled tasks (async handlers, store listeners) run."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
async def fake_session() -> AsyncIterator[FakeSession]:
    """A session on the test's event loop (use from ``@pytest.mark.anyio`` tests)."""
    conn = RecordingConnection()
    conn.loop = asyncio.get_running_loop()
    session = Session(conn)
    conn.session = session
    token = _context_page.set(session.page)
    try:
        yield FakeSession(session=session, conn=conn)
    finally:
        _context_page.reset(token)


def walk(control: Any) -> Iterator[ft.BaseControl]:
    """Every control under ``control`` (depth first), for finding by identifier."""
    import dataclasses

    seen: set[int] = set()

    def _walk(value: Any) -> Iterator[ft.BaseControl]:
        if id(value) in seen:
            return
        if isinstance(value, ft.BaseControl):
            seen.add(id(value))
            yield value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                if f.name.startswith("_") or f.metadata.get("skip"):
                    continue
                yield from _walk(getattr(value, f.name, None))
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from _walk(item)

    yield from _walk(control)


def find(root: Any, identifier: str) -> ft.Semantics:
    """The ``ft.Semantics(identifier=...)`` handle under root."""
    for c in walk(root):
        if isinstance(c, ft.Semantics) and c.identifier == identifier:
            return c
    raise LookupError(f"no control with identifier {identifier!r}")


def texts(root: Any) -> list[str]:
    """Every visible ft.Text value under root, for asserting on wording."""
    out: list[str] = []
    for c in walk(root):
        if isinstance(c, ft.Text) and isinstance(c.value, str):
            out.append(c.value)
    return out
