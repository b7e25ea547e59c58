"""System notifications behind one small interface.

``Notifier.notify(title, body, conversation_id)`` is all Sync needs. The
desktop implementation uses the ``desktop-notifier`` package (Windows, macOS,
Linux via D-Bus); a packaged mobile build or a headless Linux (CI, a server
without a session bus) gets ``NullNotifier``, which does nothing. The app may
wrap several notifiers (an in-app notice and the system one) with
``FanOutNotifier``. A notifier never raises: a notification is a courtesy,
and failing to show one must not disturb the sync.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

OpenConversation = Callable[[str], Any]

# A notification service that does not answer quickly is treated as absent.
_SEND_TIMEOUT = 3.0


class Notifier(Protocol):
    async def notify(self, title: str, body: str, conversation_id: str) -> None: ...


class NullNotifier:
    """Used only where the platform gives no notification service."""

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        return None


class FanOutNotifier:
    """Tell several notifiers (e.g. the in-app notice and the system one)."""

    def __init__(self, *notifiers: Notifier) -> None:
        self._notifiers = notifiers

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        for notifier in self._notifiers:
            await safe_notify(notifier, title, body, conversation_id)


class DesktopNotifier:
    """System notifications via ``desktop-notifier``; a click opens the conversation."""

    def __init__(self, backend: Any, on_open: OpenConversation | None = None) -> None:
        self._backend = backend
        self._on_open = on_open
        self._broken = False

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        if self._broken:
            return
        on_clicked = None
        if self._on_open is not None:
            on_open = self._on_open

            def on_clicked() -> None:
                on_open(conversation_id)

        try:
            async with asyncio.timeout(_SEND_TIMEOUT):
                await self._backend.send(title=title, message=body, on_clicked=on_clicked)
        except Exception:
            # Stop trying after the first failure: the service is not there.
            log.warning("system notifications unavailable", exc_info=True)
            self._broken = True


def has_notification_service() -> bool:
    """On Linux, notifications need a D-Bus session (absent on CI and servers)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    return sys.platform in ("win32", "darwin")


def system_notifier(app_name: str, on_open: OpenConversation | None = None) -> Notifier:
    """The best notifier this platform offers; NullNotifier where there is none."""
    if not has_notification_service():
        return NullNotifier()
    try:
        from desktop_notifier import DesktopNotifier as Backend
    except ImportError:  # a mobile build: the package is not installed there
        return NullNotifier()
    try:
        return DesktopNotifier(Backend(app_name=app_name), on_open)
    except Exception:
        log.warning("could not start system notifications", exc_info=True)
        return NullNotifier()


async def safe_notify(notifier: Notifier, title: str, body: str, conversation_id: str) -> None:
    try:
        await notifier.notify(title, body, conversation_id)
    except Exception:
        log.warning("notifier %r failed", notifier, exc_info=True)
