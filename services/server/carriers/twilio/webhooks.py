"""Twilio Conversations webhooks: verified with Twilio's own RequestValidator, then parsed.

Twilio signs the full URL it called plus, for a form post, every parameter sorted by name
(HMAC-SHA1 with the Auth Token, ``X-Twilio-Signature``). A JSON body is covered instead by
``bodySHA256`` in the URL's query. The signature has no time stamp, so a replay is told by
the event's own signed date (``DateCreated``/``DateUpdated``): older than
``REPLAY_WINDOW`` is refused. Twilio does not queue Conversations webhooks for long (a
5 s timeout and a few quick retries), so an older one is a replay, not a late delivery.

Events we use (the service's post-event webhook with these filters):

- ``onMessageAdded``: a participant's text; ``Author`` is their number, ``Media`` a JSON
  list of ``{Sid, Filename, ContentType, Size}``. There is no roster in it: ``to`` stays
  empty and ``carrier_group_ref`` (the conversation SID) names the group.
- ``onDeliveryUpdated``: one recipient's receipt (``ParticipantSid``, ``Status``,
  ``ErrorCode``) for one message (``MessageSid``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator, get_signature_algorithm

from services.server.carriers.base import (
    DeliveryUpdate,
    InboundMedia,
    InboundMessage,
    RecipientStatus,
    WebhookRefused,
    WebhookRequest,
)
from services.server.carriers.twilio.errors import OPT_OUT_CODES, delivery_error

REPLAY_WINDOW = timedelta(hours=1)
FUTURE_SKEW = timedelta(minutes=5)
# Varies between Twilio's retries of one event, so it stays out of the fallback dedupe hash.
_RETRY_FIELDS = frozenset({"RetryCount"})
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

_RECEIPT_STATUS = {
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
    "undelivered": RecipientStatus.UNDELIVERED,
}


class _Params(dict[str, list[str]]):
    """Form fields with every value kept, in the shape RequestValidator reads (getall)."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str:
        values = self.get(name)
        return values[0] if values else ""


def parse(request: WebhookRequest, auth_token: str) -> list[InboundMessage | DeliveryUpdate]:
    params = _verified_params(request, auth_token)
    _refuse_stale(params, request.received_at)
    event = params.first("EventType")
    event_id = _event_id(request, params)
    if event == "onMessageAdded":
        message = _inbound(params, event_id)
        return [message] if message is not None else []
    if event == "onDeliveryUpdated":
        update = _delivery(params, event_id)
        return [update] if update is not None else []
    return []


# --- signature -------------------------------------------------------------------------


def _verified_params(request: WebhookRequest, auth_token: str) -> _Params:
    signature = request.headers.get("x-twilio-signature", "")
    if not signature:
        raise WebhookRefused("The webhook carries no X-Twilio-Signature, so it is not from Twilio.")
    algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings"))
    validator = RequestValidator(auth_token)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRefused("The webhook body is not UTF-8 text.") from None
    if content_type == "application/json":
        # Twilio signs the URL (with bodySHA256 in it) and hashes the raw body.
        if "bodySHA256=" not in request.url:
            raise WebhookRefused("A JSON webhook from Twilio must carry bodySHA256 in its URL.")
        valid = validator.validate(request.url, text, signature, algorithm)
        params = _json_params(text) if valid else _Params()
    else:
        params = _Params()
        for name, value in parse_qsl(text, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        valid = validator.validate(request.url, params, signature, algorithm)
    if not valid:
        raise WebhookRefused(
            "The webhook's X-Twilio-Signature does not match: it was not signed with this "
            "account's Auth Token for this URL."
        )
    return params


def _json_params(text: str) -> _Params:
    try:
        data = json.loads(text)
    except ValueError:
        raise WebhookRefused("The webhook's JSON body cannot be read.") from None
    if not isinstance(data, dict):
        raise WebhookRefused("The webhook's JSON body is not an object.")
    params = _Params()
    for name, value in data.items():
        params[name] = [value if isinstance(value, str) else json.dumps(value)]
    return params


def _refuse_stale(params: _Params, received_at: datetime) -> None:
    stamp = params.first("DateUpdated") or params.first("DateCreated")
    if not stamp:
        return
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if received_at - when > REPLAY_WINDOW:
        raise WebhookRefused(
            "The webhook describes an event more than an hour old: a replay, refused."
        )
    if when - received_at > FUTURE_SKEW:
        raise WebhookRefused("The webhook is dated in the future: refused.")


def _event_id(request: WebhookRequest, params: _Params) -> str:
    token = request.headers.get("i-twilio-idempotency-token", "").strip()
    if token:
        return token
    stable = sorted(
        (name, value)
        for name, values in params.items()
        if name not in _RETRY_FIELDS
        for value in values
    )
    digest = hashlib.sha256(json.dumps(stable).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


# --- events ----------------------------------------------------------------------------


def _inbound(params: _Params, event_id: str) -> InboundMessage | None:
    author = params.first("Author")
    if not _E164.match(author):
        return None  # "system", or a chat identity: not a phone in the group
    if "gcsMessageId" in _attributes(params.first("Attributes")):
        return None  # one of our own sends, echoed back
    return InboundMessage(
        event_id=event_id,
        sender=author,
        to=(),
        body=params.first("Body"),
        media=_media(params.first("Media")),
        carrier_group_ref=params.first("ConversationSid") or None,
        carrier_message_id=params.first("MessageSid") or None,
    )


def _attributes(text: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _media(text: str) -> tuple[InboundMedia, ...]:
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return ()
    found: list[InboundMedia] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        sid = item.get("Sid") or item.get("MediaSid")
        if not isinstance(sid, str) or not sid:
            continue
        size = item.get("Size")
        found.append(
            InboundMedia(
                ref=sid,
                mime=_text_or_none(item.get("ContentType")),
                size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
                name=_text_or_none(item.get("Filename")),
            )
        )
    return tuple(found)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _delivery(params: _Params, event_id: str) -> DeliveryUpdate | None:
    message_sid = params.first("MessageSid")
    participant = params.first("ParticipantSid")
    status = _RECEIPT_STATUS.get(params.first("Status").lower())
    if not message_sid or not participant or status is None:
        return None
    raw_code = params.first("ErrorCode")
    code = int(raw_code) if raw_code.isdigit() and int(raw_code) != 0 else None
    failed = status in (RecipientStatus.FAILED, RecipientStatus.UNDELIVERED)
    return DeliveryUpdate(
        event_id=event_id,
        carrier_message_id=message_sid,
        member_ref=participant,
        status=status,
        error_code=str(code) if code is not None else None,
        error=delivery_error(code) if code is not None and failed else None,
        opted_out=code in OPT_OUT_CODES,
    )
