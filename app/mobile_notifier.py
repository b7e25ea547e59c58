"""System notifications in packaged iOS / Android builds, via flet-notifications.

desktop-notifier has no backend on iOS or Android; there the Flet client
shows notifications itself through the flet-notifications extension (a
``LocalNotifications`` service over flutter_local_notifications). This lives
in app/ because services never imports flet. The package is imported lazily:
a run without it (an old build, a trimmed install) still starts and gets
whatever ``services.notify.system_notifier`` offers (NullNotifier on a phone).

``system_notifier`` here is the ONE place the app picks its system notifier.
"""

from __future__ import annotations

import asyncio
import logging
import os
import zlib
from typing import Any

from services import notify as notifications
from services.notify import Notifier, OpenConversation

log = logging.getLogger(__name__)

MOBILE_PLATFORMS = frozenset({"ios", "android"})
# A notification the client does not confirm quickly is treated as not shown.
_SHOW_TIMEOUT = 3.0


def is_mobile_build(page: Any | None = None) -> bool:
    """True in an app packaged for iOS or Android.

    Flet's packaged runtime sets FLET_PLATFORM. page.platform is the fallback
    for a native client, but not for a phone's browser (page.web): the web
    client carries no notification extension.
    """
    if os.environ.get("FLET_PLATFORM", "").lower() in MOBILE_PLATFORMS:
        return True
    if page is None or getattr(page, "web", False):
        return False
    platform = getattr(page, "platform", None)
    return str(getattr(platform, "value", platform) or "").lower() in MOBILE_PLATFORMS


class MobileNotifier:
    """A Notifier over flet_notifications.LocalNotifications; a tap opens the thread."""

    def __init__(self, extension_class: Any, on_open: OpenConversation | None = None) -> None:
        self._on_open = on_open
        # The tap handler goes in at construction: the service registers with the
        # page then, and the client only reports taps for a handler it knows about.
        self._extension = extension_class(on_tap=self._tapped if on_open else None)
        self._allowed: bool | None = None  # the user's answer, asked once
        self._asking = asyncio.Lock()
        self._broken = False

    def _tapped(self, event: Any) -> None:
        conversation_id = getattr(event, "payload", "")
        if conversation_id and self._on_open is not None:
            self._on_open(conversation_id)

    async def _permitted(self) -> bool:
        # Concurrent first notifications wait for the one prompt instead of stacking dialogs.
        async with self._asking:
            if self._allowed is None:
                try:
                    self._allowed = bool(await self._extension.request_permissions())
                except Exception:
                    log.warning("could not ask for notification permission", exc_info=True)
                    self._allowed = False
            return self._allowed

    async def notify(self, title: str, body: str, conversation_id: str) -> None:
        if self._broken or not await self._permitted():
            return
        try:
            async with asyncio.timeout(_SHOW_TIMEOUT):
                await self._extension.show(
                    id=notification_id(conversation_id),
                    title=title,
                    body=body,
                    payload=conversation_id,
                )
        except Exception:
            # Stop after the first failure: the client was built without the extension.
            log.warning("mobile notifications unavailable", exc_info=True)
            self._broken = True


def notification_id(conversation_id: str) -> int:
    """One id per thread (a newer message replaces its notice); fits Android's 32-bit int."""
    return zlib.crc32(conversation_id.encode()) & 0x7FFFFFFF


def _extension_class() -> Any | None:
    try:
        from flet_notifications import LocalNotifications
    except ImportError:
        return None
    return LocalNotifications


def _current_page() -> Any | None:
    import flet as ft

    try:
        return ft.context.page
    except RuntimeError:  # not inside a Flet callback (tests, scripts)
        return None


def system_notifier(
    app_name: str,
    on_open: OpenConversation | None = None,
    *,
    page: Any | None = None,
    extension_class: Any | None = None,
) -> Notifier:
    """The platform's notifier: flet-notifications on a phone, else services' choice.

    Call inside a Flet callback: the extension registers with the current page.
    """
    if is_mobile_build(page if page is not None else _current_page()):
        cls = extension_class or _extension_class()
        if cls is not None:
            try:
                return MobileNotifier(cls, on_open)
            except Exception:
                log.warning("could not start mobile notifications", exc_info=True)
    return notifications.system_notifier(app_name, on_open)
