"""What one appended message costs in Flet 1.0.5 for three ways of holding a long window.

    .venv/bin/python -m bench.bench_flet_lists

A thread's window of N bubbles, then 60 new messages, each inserted at the
bottom of a reversed ListView and sent through the real diff engine (the fake
session of tests/app/fake_session.py):

- flat: every bubble a child of the ListView, ``list.update()`` per message
  (what app/views/thread.py does today);
- isolated: the same, but each bubble's ``is_isolated()`` is True, so the diff
  does not walk into it;
- chunks: the ListView holds isolated Columns of 25 bubbles; a message goes
  into the newest Column and only that Column updates; every 25th message
  starts a new Column (one list update over N/25 isolated children).

``control.update()`` diffs the control's whole subtree, so the flat list costs
O(N) per message however few bytes it sends; the chunked one costs O(25).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import flet as ft
from flet.controls.context import _context_page
from flet.messaging.session import Session

from tests.app.fake_session import FakeSession, RecordingConnection

CHUNK = 25
ARRIVALS = 60


class IsolatedContainer(ft.Container):
    def is_isolated(self) -> bool:
        return True


class IsolatedColumn(ft.Column):
    def is_isolated(self) -> bool:
        return True


def bubble(i: int, cls: type[ft.Container] = ft.Container) -> ft.Container:
    return cls(
        ft.Column(
            [
                ft.Text(f"Sender {i}", size=12),
                ft.Text(f"Message number {i}, a line of ordinary length", selectable=True),
                ft.Text("10:42 · Delivered", size=11),
            ],
            spacing=2,
        ),
        padding=10,
        border_radius=12,
        bgcolor=ft.Colors.SURFACE_CONTAINER,
    )


def session() -> FakeSession:
    conn = RecordingConnection()
    conn.loop = asyncio.get_running_loop()
    s = Session(conn)
    conn.session = s
    _context_page.set(s.page)
    fake = FakeSession(session=s, conn=conn)
    fake.register()
    return fake


def append_flat(lv: ft.ListView, i: int, cls: type[ft.Container]) -> None:
    lv.controls.insert(0, bubble(i, cls))
    lv.update()


def append_chunked(lv: ft.ListView, i: int, _: Any) -> None:
    head = lv.controls[0]
    assert isinstance(head, ft.Column)
    if len(head.controls) >= CHUNK:
        lv.controls.insert(0, IsolatedColumn([bubble(i)], spacing=0))
        lv.update()
    else:
        head.controls.insert(0, bubble(i))
        head.update()


async def run(n: int, how: str) -> tuple[float, float, float]:
    fake = session()
    if how == "chunks":
        newest_first = [bubble(j) for j in range(n)][::-1]
        lv = ft.ListView(
            [IsolatedColumn(newest_first[k : k + CHUNK], spacing=0) for k in range(0, n, CHUNK)],
            reverse=True,
        )
        append, cls = append_chunked, ft.Container
    else:
        cls = IsolatedContainer if how == "isolated" else ft.Container
        lv = ft.ListView([bubble(j, cls) for j in range(n)][::-1], reverse=True)
        append = append_flat
    fake.page.add(lv)
    times, sizes = [], []
    for k in range(ARRIVALS):
        fake.mark()
        started = time.perf_counter()
        append(lv, n + k, cls)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(fake.bytes_since_mark())
    return statistics.median(times), max(times), statistics.median(sizes)


async def measure() -> None:
    for n in (50, 400, 2000):
        for how in ("flat", "isolated", "chunks"):
            median, worst, size = await run(n, how)
            print(
                f"window {n:5,} {how:8}: median {median:6.2f} ms, max {worst:6.2f} ms, "
                f"{size:,.0f} bytes per message"
            )


def main() -> None:
    asyncio.run(measure())


if __name__ == "__main__":
    main()
