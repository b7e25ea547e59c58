"""A fake Flet session: the app's views run against Flet's real diff engine, no browser.

Flet 1.0.5 has no public fake page. This harness builds the real
``flet.messaging.session.Session`` on a ``Connection`` that records every message
it would send, msgpack-encoded exactly as the socket server encodes them (the
encoder is where the diff engine snapshots its previous state, so without it
nothing mounts). It leans on session internals: flet is pinned exactly. The session
itself is in tests/app/fake_session.py; this file holds the fixtures and finders.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import flet as ft
import pytest
from flet.controls.context import _context_page
from flet.messaging.session import Session

from tests.app.fake_session import (  # noqa: F401 (re-exported: tests import them from here)
    FakeSession,
    RecordingConnection,
    encode,
    settle,
)


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
