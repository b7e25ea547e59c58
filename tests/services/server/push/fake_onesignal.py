"""A stand-in for OneSignal's REST API, checking every request against its documented shape.

Served through ``httpx.MockTransport``: OneSignal can't be made, on demand, to fail
with a 500, to rate-limit, or to report a device gone, and tests have no internet.

Shapes relied on, as OneSignal documents them:

- Create message, push channel — ``POST https://api.onesignal.com/notifications``
  (https://documentation.onesignal.com/reference/push-notification, OpenAPI
  ``POST /notifications?c=push``): header ``Authorization: Key <App API key>``
  ("Your App API key with prefix `Key `"); JSON body with ``app_id`` (the app's
  UUID), ``contents`` ({language: text}, "en" required), ``headings`` (same shape),
  one targeting mode only — here ``include_subscription_ids`` (at most 2,000
  subscription ids) with ``target_channel: "push"`` — ``data`` (a JSON object handed
  to the app on tap), ``collapse_id`` (a later notification with the same id replaces
  the earlier one; at most 64 characters), ``thread_id`` (iOS grouping) and
  ``android_group`` (Android grouping)
  (https://documentation.onesignal.com/docs/notification-grouping),
  ``ios_badgeType`` ("None" | "SetTo" | "Increase") with ``ios_badgeCount`` (an
  integer), and ``idempotency_key`` (a UUID: a request repeated with the same key is
  not sent twice; https://documentation.onesignal.com/docs/idempotent-notification-requests
  documents it under its older name ``external_id``). A background ("silent")
  notification omits ``contents`` and sets ``content_available: true``
  (https://documentation.onesignal.com/docs/data-notifications); ours carries only
  the badge.
- Its answers: 200 ``{"id": "<notification uuid>", "external_id": …}``; a 200 whose
  ``errors`` is an object ``{"invalid_player_ids": [subscription ids]}`` names
  targeted subscriptions that no longer accept pushes (the notification still went to
  the others); a 200 with ``"id": ""`` and ``errors: ["All included players are not
  subscribed"]`` when none of them does (OneSignal's CreateNotificationSuccessResponse
  model: "errors: Polymorphic field: may be an array of human-readable strings and/or
  an object (for example with invalid_aliases, invalid_external_user_ids, or
  invalid_player_ids)", onesignal-rust-api 5.5 models/create_notification_success_response.rs;
  https://github.com/OneSignal/onesignal-node-api DefaultApi.md "200: OK, invalid_aliases,
  or No Subscribed Players"); 400 ``{"errors": ["…"]}`` for a malformed request; 403
  "Access denied. Please include an 'Authorization: ...' header with a valid API key"
  for a wrong key; 429 and 5xx when it can't take the request now.
- View messages — ``GET https://api.onesignal.com/notifications?app_id=…&limit=…``
  (https://documentation.onesignal.com/reference/view-messages): the same
  ``Authorization: Key …`` header; 200 ``{"total_count", "offset", "limit",
  "notifications": [...]}``. The server makes this call once at start, to prove the id
  and key.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

APP_ID = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
API_KEY = "os_v2_app_testsecretkeythatmustneverbelogged"
BASE = "https://api.onesignal.com"

# Every field the server may send, as documented; anything else is a mistake.
KNOWN_FIELDS = {
    "app_id",
    "target_channel",
    "include_subscription_ids",
    "headings",
    "contents",
    "data",
    "collapse_id",
    "thread_id",
    "android_group",
    "ios_badgeType",
    "ios_badgeCount",
    "idempotency_key",
    "content_available",
}
ACCESS_DENIED = (
    "Access denied.  Please include an 'Authorization: ...' header with a valid API key "
    "(https://documentation.onesignal.com/docs/en/keys-and-ids#api-keys)."
)


@dataclass
class Sent:
    body: dict[str, Any]

    @property
    def to(self) -> list[str]:
        return list(self.body["include_subscription_ids"])

    @property
    def text(self) -> str:
        return str(self.body["contents"]["en"])

    @property
    def title(self) -> str:
        return str(self.body["headings"]["en"])

    @property
    def silent(self) -> bool:
        return self.body.get("content_available") is True

    @property
    def badge(self) -> int:
        return int(self.body["ios_badgeCount"])


@dataclass
class FakeOneSignal:
    """Records what was sent; ``fail_next`` scripts failures; ``gone`` lists dead devices."""

    api_key: str = API_KEY
    app_id: str = APP_ID
    sent: list[Sent] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    fail_next: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    problems: list[str] = field(default_factory=list)
    # Called with each create request before it is answered (what happens meanwhile).
    on_create: list[Callable[[], None]] = field(default_factory=list)
    _keys: set[str] = field(default_factory=set)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Key {self.api_key}":
            return httpx.Response(403, json={"errors": [ACCESS_DENIED]})
        if request.url.path != "/notifications":
            return httpx.Response(404, json={"errors": ["Not found"]})
        if request.method == "GET":
            return self._view(request)
        if request.method != "POST":
            return httpx.Response(405)
        while self.on_create:
            self.on_create.pop(0)()
        if self.fail_next:
            status, headers = self.fail_next.popleft()
            return httpx.Response(status, headers=headers, json={"errors": ["Try again"]})
        try:
            body = json.loads(request.content)
        except ValueError:
            return self._bad("Body is not JSON.")
        problem = self._check(request, body)
        if problem:
            return self._bad(problem)
        key = body.get("idempotency_key")
        if key in self._keys:  # repeated: answered, not sent again
            return httpx.Response(200, json={"id": str(uuid.uuid5(uuid.NAMESPACE_URL, key))})
        self._keys.add(key)
        targets = body["include_subscription_ids"]
        dead = [t for t in targets if t in self.gone]
        if len(dead) == len(targets):
            return httpx.Response(
                200, json={"id": "", "errors": ["All included players are not subscribed"]}
            )
        self.sent.append(Sent(body))
        answer: dict[str, Any] = {"id": str(uuid.uuid4()), "external_id": None}
        if dead:
            answer["errors"] = {"invalid_player_ids": dead}
        return httpx.Response(200, json=answer)

    def _check_silent(self, body: dict[str, Any]) -> str | None:
        """A background notification: no contents (or it would show), a badge to set."""
        if "contents" in body or "headings" in body:
            return "A background notification has no contents."
        if body.get("ios_badgeType") != "SetTo":
            return "A badge update sets the badge."
        count = body.get("ios_badgeCount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return "ios_badgeCount must be a whole number."
        return _uuid_problem(body)

    def _view(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("app_id") != self.app_id:
            return httpx.Response(400, json={"errors": ["app_id not found"]})
        return httpx.Response(
            200, json={"total_count": 0, "offset": 0, "limit": 1, "notifications": []}
        )

    def _bad(self, problem: str) -> httpx.Response:
        self.problems.append(problem)
        return httpx.Response(400, json={"errors": [problem]})

    def _check(self, request: httpx.Request, body: Any) -> str | None:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return "Content-Type must be application/json."
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        unknown = set(body) - KNOWN_FIELDS
        if unknown:
            return f"Unknown fields: {sorted(unknown)}"
        if body.get("app_id") != self.app_id:
            return "app_id not found"
        ids = body.get("include_subscription_ids")
        if not isinstance(ids, list) or not ids or len(ids) > 2000:
            return "include_subscription_ids must list 1 to 2,000 subscription ids."
        if not all(isinstance(i, str) and i for i in ids):
            return "Subscription ids are strings."
        if body.get("target_channel") != "push":
            return "target_channel must be push here."
        if body.get("content_available") is True:
            return self._check_silent(body)
        for name in ("contents", "headings"):
            value = body.get(name)
            if not isinstance(value, dict) or not isinstance(value.get("en"), str):
                return f"{name} must have English text."
        if not body["contents"]["en"]:
            return "Notification content must not be null for any languages."
        if not isinstance(body.get("data"), dict):
            return "data must be an object."
        for name in ("collapse_id", "thread_id", "android_group"):
            value = body.get(name)
            if not isinstance(value, str) or not value or len(value) > 64:
                return f"{name} must be a string of at most 64 characters."
        if body.get("ios_badgeType") not in ("None", "SetTo", "Increase"):
            return "ios_badgeType must be None, SetTo or Increase."
        count = body.get("ios_badgeCount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return "ios_badgeCount must be a whole number."
        return _uuid_problem(body)


def _uuid_problem(body: dict[str, Any]) -> str | None:
    try:
        uuid.UUID(str(body.get("idempotency_key")))
    except ValueError:
        return "idempotency_key must be a UUID."
    return None
