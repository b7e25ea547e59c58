"""OneSignal behind the push door: its REST API, called with httpx.

Settings, from the environment only::

    ONESIGNAL_APP_ID        the OneSignal app's id (a UUID), Settings > Keys & IDs
    ONESIGNAL_REST_API_KEY  secret: the app's REST API key, sent as ``Authorization: Key …``
    ONESIGNAL_API_BASE      default https://api.onesignal.com (tests point it at a mock)

With neither id nor key set the server pushes nothing (``push_from_env`` answers
None); one without the other is refused in a sentence. The base URL must be https
unless it points at this machine.

Calls (the shapes are recorded, with their sources, in
``tests/services/server/push/fake_onesignal.py``):
- ``GET /notifications?app_id=…&limit=1`` (View messages) proves the id and key at
  start: the cheapest call the app's own key may make.
- ``POST /notifications`` (Create message, push channel) sends one notification to
  one user's devices by subscription id (``include_subscription_ids``). We target
  subscriptions rather than ``include_aliases.external_id`` because the server keeps
  each device itself (it registers and removes them, and mutes per user), and because
  an invalid subscription comes back by its id in the answer's
  ``errors.invalid_player_ids``, which names exactly the device row to forget.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from services.server.carriers.base import CarrierError
from services.server.carriers.config import checked_url, retry_after
from services.server.push.base import Notification, Pushed, PushError, PushErrorKind

API_BASE = "https://api.onesignal.com"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# OneSignal's "no one to send to" sentence (a 200 with an empty id): every device is gone.
NO_SUBSCRIBERS = "All included players are not subscribed"


class OneSignalSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str
    api_key: SecretStr
    api_base: str = API_BASE


def settings_from_env(env: Mapping[str, str]) -> OneSignalSettings | None:
    """The settings, None when push is not configured; PushError(CONFIG) when half is."""
    app_id = env.get("ONESIGNAL_APP_ID", "").strip()
    key = env.get("ONESIGNAL_REST_API_KEY", "").strip()
    if not app_id and not key:
        return None
    if not app_id or not key:
        missing = "ONESIGNAL_APP_ID" if not app_id else "ONESIGNAL_REST_API_KEY"
        raise PushError(
            PushErrorKind.CONFIG,
            f"{missing} is not set; push notifications need both ONESIGNAL_APP_ID and"
            " ONESIGNAL_REST_API_KEY (or neither, for no push).",
        )
    try:
        uuid.UUID(app_id)
    except ValueError:
        raise PushError(
            PushErrorKind.CONFIG,
            "ONESIGNAL_APP_ID is not a OneSignal app id (a UUID such as"
            " 16fd2706-8baf-433b-82eb-8c7fada847da); copy it from Settings > Keys & IDs.",
        ) from None
    if any(ch.isspace() for ch in key):
        raise PushError(
            PushErrorKind.CONFIG,
            "ONESIGNAL_REST_API_KEY contains spaces; copy it again without them.",
        )
    base = env.get("ONESIGNAL_API_BASE", "").strip() or API_BASE
    try:
        base = checked_url(base, "ONESIGNAL_API_BASE")
    except CarrierError as error:
        raise PushError(PushErrorKind.CONFIG, error.message) from None
    return OneSignalSettings(app_id=app_id, api_key=SecretStr(key), api_base=base)


class OneSignalPush:
    name = "onesignal"

    def __init__(self, settings: OneSignalSettings, http: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    def __repr__(self) -> str:
        return f"OneSignalPush(app_id={self._settings.app_id!r})"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Key {self._settings.api_key.get_secret_value()}",
            "Accept": "application/json",
        }

    async def verify(self) -> None:
        request = self._http.build_request(
            "GET",
            f"{self._settings.api_base}/notifications",
            params={"app_id": self._settings.app_id, "limit": "1"},
            headers=self._headers(),
        )
        response = await self._send(request)
        if response.status_code in (400, 401, 403, 404):
            raise PushError(
                PushErrorKind.CONFIG,
                f"OneSignal refused the app id or the REST API key (HTTP {response.status_code});"
                " copy both again from the OneSignal dashboard's Settings > Keys & IDs.",
            )
        _raise_for_trouble(response)

    async def send(self, notification: Notification) -> Pushed:
        request = self._http.build_request(
            "POST",
            f"{self._settings.api_base}/notifications",
            json=self.payload(notification),
            headers=self._headers(),
        )
        response = await self._send(request)
        if response.status_code in (401, 403):
            raise PushError(
                PushErrorKind.CONFIG,
                f"OneSignal refused the REST API key (HTTP {response.status_code}).",
            )
        _raise_for_trouble(response)
        if response.status_code != 200:
            raise PushError(
                PushErrorKind.PERMANENT,
                f"OneSignal refused the notification (HTTP {response.status_code}): "
                f"{_errors_text(response)}",
            )
        return Pushed(gone=_gone(response, notification.push_ids))

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The Create message body for one user's devices."""
        if notification.silent:
            # A background notification: no contents, content_available (OneSignal's
            # "Data & background notifications"); iOS sets the badge from it.
            return {
                "app_id": self._settings.app_id,
                "target_channel": "push",
                "include_subscription_ids": list(notification.push_ids),
                "content_available": True,
                "ios_badgeType": "SetTo",
                "ios_badgeCount": notification.badge,
                "idempotency_key": notification.idempotency_key,
            }
        cid = notification.conversation_id
        return {
            "app_id": self._settings.app_id,
            "target_channel": "push",
            "include_subscription_ids": list(notification.push_ids),
            "headings": {"en": notification.title},
            "contents": {"en": notification.text},
            "data": {"conversationId": cid},
            # A later notification of the thread replaces the earlier one on the phone.
            "collapse_id": cid,
            "thread_id": cid,  # iOS groups a thread's notifications
            "android_group": cid,  # Android does the same
            "ios_badgeType": "SetTo",
            "ios_badgeCount": notification.badge,
            # The same key on every try: a retry after a lost answer is not a second push.
            "idempotency_key": notification.idempotency_key,
        }

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            raise PushError(
                PushErrorKind.RETRYABLE,
                f"Could not reach OneSignal ({type(exc).__name__}); will try again.",
            ) from None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()


def _raise_for_trouble(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise PushError(
            PushErrorKind.RETRYABLE,
            f"OneSignal answered HTTP {status}; will try again.",
            retry_after=retry_after(response),
        )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _errors_text(response: httpx.Response) -> str:
    body = _json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return " ".join(str(e) for e in errors)
    return "no reason given."


def _gone(response: httpx.Response, sent_to: tuple[str, ...]) -> tuple[str, ...]:
    """Subscriptions the 200 answer reports as no longer subscribed."""
    body = _json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        invalid = errors.get("invalid_player_ids") or []
        return tuple(str(i) for i in invalid if str(i) in sent_to)
    if isinstance(errors, list) and NO_SUBSCRIBERS in errors and not body.get("id"):
        return sent_to
    return ()
