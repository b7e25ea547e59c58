"""A fake Flet session: the app's views run against Flet's real diff engine, no browser.

Flet 1.0.5 has no public fake page. This harness builds the real
``flet.messaging.session.Session`` on a ``Connection`` that records every message
it would send, msgpack-encoded exactly as the socket server encodes them (the
encoder is where the diff engine snapshots its previous state, so without it
nothing mounts). It leans on session internals: flet is pinned exactly.

Kept apart from conftest.py (the pytest fixtures) so the benchmarks' cold-start
child imports no pytest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
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
