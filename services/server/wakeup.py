"""A wake-up call for a worker that otherwise sleeps until its next timer.

Waiting is one future with a timer, not ``asyncio.wait_for`` on an
``Event``: that spawns an inner task which, cancelled under anyio's test
runner on Python 3.11, could be left pending for ever and hang the worker's
shutdown. A wake-up that comes while the worker is busy is kept, so the next
wait returns at once and nothing added in between is missed.
"""

from __future__ import annotations

import asyncio
import threading


class Wakeup:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the worker (from any thread)."""
        with self._lock:
            self._pending = True
            waiter = self._waiter
        if waiter is None or waiter.done():
            return
        loop = waiter.get_loop()
        if _running_loop() is loop:
            waiter.set_result(None)  # on the worker's own loop: no wake-up of the loop needed
        else:
            loop.call_soon_threadsafe(_resolve, waiter)

    async def wait(self, seconds: float) -> None:
        """Return when woken (or already woken since the last wait), or after ``seconds``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._pending:
                self._pending = False
                return
            waiter = self._waiter = loop.create_future()
        timer = loop.call_later(max(seconds, 0.0), _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            with self._lock:
                self._waiter = None
                self._pending = False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a thread without a loop
        return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
