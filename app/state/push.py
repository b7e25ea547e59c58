"""Push notifications from the app's side: permission at first need, this device's
registration, a tap that opens a thread, and muted threads.

No flet here: the phone's push SDK sits behind ``PushDoor`` (``app/push.py`` gives the
real one on iOS and Android; elsewhere there is none and push is off, desktop and web
keeping today's notifications). What this decides:

- **Permission at first need**: never at launch. The first time the user opens a
  thread (which comes before every message they send) the system asks, once; a
  user who already allowed it is registered at sign-in without a prompt.
- **Registration**: after permission and sign-in, this device's push id goes to the
  server (``POST /devices``); signing out removes it (``DELETE /devices/{id}``), so a
  phone signed out hears nothing more.
- **A tap**: it carries the thread's id. One that comes before the app is signed in
  (a cold start: the tap launched the app) waits and opens the thread once signed in.
- **Mute**: per thread, on the server (no push, no sound; the badge still counts); the
  app's own notices for a muted thread are silenced too.
- **Twice**: while the app is in front, the push is not shown (``foreground`` answers
  False): the app's own notice already tells of the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from app.state.base import ViewModel

log = logging.getLogger(__name__)


class PushDoor(Protocol):
    """The phone's push SDK, as the app uses it."""

    platform: str  # "ios" | "android"

    async def permitted(self) -> bool:
        """Whether notifications are allowed already (asks nothing)."""

    async def request_permission(self) -> bool:
        """Ask the user (the system prompt); True when allowed."""

    async def push_id(self) -> str | None:
        """This device's id at the push service (OneSignal: the subscription id)."""

    async def clear(self, conversation_id: str) -> None:
        """Take a thread's notifications out of the tray (where the platform can)."""


Opener = Callable[[str], Any]


class PushVM(ViewModel):
    """One window's push state. ``door`` is None where the platform has no push."""

    def __init__(self, door: PushDoor | None, app_version: str = "") -> None:
        super().__init__()
        self.door = door
        self.app_version = app_version
        self.client: Any = None  # services.api.ApiClient of the signed-in user
        self.device_id: str | None = None
        self.asked = False
        self.muted: set[str] = set()
        self.push_staff = False  # also pushed what other staff send (the server's pref)
        self._open: Opener | None = None
        self._pending: str | None = None  # a tap that came before sign-in
        self._quiet: Any = None
        self._lock = asyncio.Lock()

    @property
    def available(self) -> bool:
        """A phone with push, signed in to a server that pushes (not LeadConnector)."""
        return (
            self.door is not None
            and self.client is not None
            and bool(getattr(self.client, "supports_groups", True))
        )

    # --- sign-in and sign-out -------------------------------------------------------------

    async def signed_in(self, client: Any, opener: Opener, quiet: Any = None) -> None:
        """The user is in: a waiting tap opens its thread; mutes are loaded; a device
        already allowed to notify is registered (no prompt). ``quiet`` (the backend's
        ``Quiet``) shares the muted set and learns when push rings instead of the app."""
        self.client = client
        self._open = opener
        self._quiet = quiet
        if quiet is not None:
            self.muted = quiet.muted
        pending, self._pending = self._pending, None
        if pending:
            opener(pending)
        await self._load_muted()
        if self.available and self.door is not None:
            try:
                allowed = await self.door.permitted()
            except Exception as exc:
                log.warning("push permission unknown: %s", type(exc).__name__)
                allowed = False
            if allowed:
                self.asked = True
                await self.register()
        self.emit("ready")

    async def signed_out(self) -> None:
        """Remove this device at the server before the sign-in goes (best effort)."""
        device, self.device_id = self.device_id, None
        client, self.client, self._open = self.client, None, None
        self._pushing(False)
        if device and client is not None:
            try:
                await client.delete_device(device)
            except Exception as exc:
                log.warning("could not remove this device from push: %s", type(exc).__name__)

    def sign_in_lost(self) -> None:
        """The token no longer works: nothing can be told to the server."""
        self.client, self._open, self.device_id = None, None, None
        self._pushing(False)

    # --- permission and registration ---------------------------------------------------------

    async def first_need(self) -> None:
        """The user opened a thread: the moment to ask, once."""
        if not self.available or self.asked or self.door is None:
            return
        self.asked = True
        try:
            allowed = await self.door.request_permission()
        except Exception as exc:
            log.warning("could not ask for notification permission: %s", type(exc).__name__)
            return
        if allowed:
            await self.register()

    async def register(self) -> None:
        if not self.available or self.door is None:
            return
        async with self._lock:
            try:
                push_id = await self.door.push_id()
                if not push_id:
                    log.info("no push id yet: registering later")
                    return
                device = await self.client.register_device(
                    self.door.platform, push_id, self.app_version
                )
            except Exception as exc:
                log.warning("could not register for push: %s", type(exc).__name__)
                return
            self.device_id = device.id
            self._pushing(True)
            self.emit("registered", device.id)

    def _pushing(self, on: bool) -> None:
        if self._quiet is not None:
            self._quiet.pushing = on

    async def push_id_changed(self) -> None:
        """The SDK got (or changed) this device's id: tell the server if signed in."""
        if self.asked and self.client is not None:
            await self.register()

    # --- taps ----------------------------------------------------------------------------

    def tapped(self, conversation_id: str | None) -> None:
        """A notification was tapped: open its thread now, or once signed in."""
        if not conversation_id:
            return
        if self._open is not None and self.client is not None:
            self._open(conversation_id)
        else:
            self._pending = conversation_id

    @staticmethod
    def foreground() -> bool:
        """Show a push that arrives while the app is in front? No: the app's own notice
        (the snack bar, or nothing in the open thread) already tells of it."""
        return False

    # --- mute -----------------------------------------------------------------------------

    def is_muted(self, conversation_id: str) -> bool:
        return conversation_id in self.muted

    async def _load_muted(self) -> None:
        if self.client is None or not getattr(self.client, "supports_groups", True):
            return
        try:
            found = await self.client.notification_settings()
        except Exception as exc:
            log.info("muted threads not loaded: %s", type(exc).__name__)
            return
        self._set_muted(set(found.muted_conversation_ids))
        self.push_staff = bool(found.push_staff_messages)

    async def set_push_staff(self, on: bool) -> bool:
        """Be pushed what other staff send, or not; answers the server's value."""
        if self.client is None:
            return self.push_staff
        try:
            found = await self.client.set_push_staff_messages(on)
        except Exception as exc:
            self.fail(exc)
            return self.push_staff
        self.push_staff = bool(found.push_staff_messages)
        return self.push_staff

    async def opened(self, conversation_id: str) -> None:
        """A thread is on screen: its notifications leave the tray (and the first opening
        is the moment to ask for permission)."""
        await self.first_need()
        if self.available and self.door is not None:
            try:
                await self.door.clear(conversation_id)
            except Exception as exc:
                log.info("notifications not cleared: %s", type(exc).__name__)

    async def set_muted(self, conversation_id: str, muted: bool) -> bool:
        """Mute or unmute a thread; answers whether it is muted now."""
        if self.client is None:
            return self.is_muted(conversation_id)
        try:
            found = await self.client.set_muted(conversation_id, muted)
        except Exception as exc:
            self.fail(exc)
            return self.is_muted(conversation_id)
        self._set_muted(set(found.muted_conversation_ids))
        return self.is_muted(conversation_id)

    def _set_muted(self, ids: set[str]) -> None:
        # The same set object is shared with the backend's notifier filter: update in place.
        self.muted.clear()
        self.muted.update(ids)
        self.emit("muted", frozenset(ids))


def conversation_of(payload: Any) -> str | None:
    """The thread id a push carries in its data (``{"conversationId"}``), from the SDK's
    notification (a dict, or its JSON text), whichever key the SDK put the data under."""
    import json

    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    if not isinstance(payload, dict):
        return None
    for key in ("additionalData", "additional_data", "data", "custom"):
        data = payload.get(key)
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                continue
        if not isinstance(data, dict):
            continue
        inner = data.get("a")  # OneSignal's raw Android payload nests the data under "a"
        found = data.get("conversationId") or (
            inner.get("conversationId") if isinstance(inner, dict) else None
        )
        if isinstance(found, str) and found:
            return found
    found = payload.get("conversationId")
    return found if isinstance(found, str) and found else None
