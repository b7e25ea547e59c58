"""The one door to the phone's push SDK: flet-onesignal, on iOS and Android only.

``door_for`` answers None everywhere else (desktop, web, tests, a build without the
package, or no OneSignal app id configured), and the app runs exactly as before:
desktop and web keep today's notifications. flet_onesignal is imported only here,
lazily, so nothing else needs it installed or a device to run.

The OneSignal service is added to the page when the window starts, before sign-in,
so the tap that launched the app (a cold start) reaches ``on_tap``; the view-model
keeps it until the user is signed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.mobile_notifier import is_mobile_build

log = logging.getLogger(__name__)

Tap = Callable[[Any], None]


class OneSignalDoor:
    """``app.state.push.PushDoor`` over a ``flet_onesignal.OneSignal`` service."""

    def __init__(
        self,
        page: Any,
        app_id: str,
        platform: str,
        *,
        on_tap: Tap,
        on_id: Callable[[], Any],
        module: Any = None,
    ) -> None:
        fos = module or _module()
        self.platform = platform
        self._service = fos.OneSignal(
            app_id=app_id,
            on_notification_click=lambda e: on_tap(getattr(e, "notification", None)),
            on_notification_foreground=self._foreground,
            on_push_subscription_change=lambda _e: on_id(),
        )
        page.services.append(self._service)

    async def _foreground(self, event: Any) -> None:
        # The app is in front: its own notice tells of the message; don't ring twice.
        notification_id = getattr(event, "notification_id", None)
        if notification_id:
            await self._service.notifications.prevent_default(notification_id)

    async def permitted(self) -> bool:
        return bool(await self._service.notifications.get_permission())

    async def request_permission(self) -> bool:
        return bool(await self._service.notifications.request_permission())

    async def push_id(self) -> str | None:
        found = await self._service.user.get_push_subscription_id()
        return str(found) if found else None

    async def clear(self, conversation_id: str) -> None:
        # Android groups a thread's notifications by its id (the server's android_group);
        # iOS has no call for one group, and its badge comes from the server's updates.
        if self.platform == "android":
            await self._service.notifications.remove_grouped_notifications(conversation_id)


def _module() -> Any:
    import flet_onesignal

    return flet_onesignal


def door_for(
    page: Any, app_id: str | None, *, on_tap: Tap, on_id: Callable[[], Any]
) -> OneSignalDoor | None:
    """The push door for this window, or None where there is no push."""
    if not app_id or not is_mobile_build(page):
        return None
    platform = _platform(page)
    try:
        return OneSignalDoor(page, app_id, platform, on_tap=on_tap, on_id=on_id)
    except Exception as exc:  # an old build without the extension, an import error
        log.warning("push notifications unavailable: %s", type(exc).__name__)
        return None


def _platform(page: Any) -> str:
    import os

    named = os.environ.get("FLET_PLATFORM", "").lower()
    if named in ("ios", "android"):
        return named
    value = getattr(getattr(page, "platform", None), "value", "")
    return "ios" if str(value).lower() == "ios" else "android"
