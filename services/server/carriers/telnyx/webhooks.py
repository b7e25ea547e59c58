"""Telnyx messaging webhooks: Ed25519-verified, then parsed into our events.

Telnyx signs ``"{telnyx-timestamp}|{raw body}"`` with the account's Ed25519 key and sends
the base64 signature in ``telnyx-signature-ed25519``. A time stamp more than five minutes
from when the webhook reached us (either way) is refused, as Telnyx's own SDKs do.

Events (API v2 envelope ``{"data": {"id", "event_type", "payload"}}``):

- ``message.received``: a participant's text. ``payload.from.phone_number`` sent it;
  ``to[]`` and ``cc[]`` are everyone else it was addressed to (our number and, in a
  group, the other members).
- ``message.sent`` / ``message.finalized``: Telnyx sends one per recipient; each ``to[]``
  entry becomes one DeliveryUpdate. Error ``40300`` means that recipient opted out.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.server.carriers.base import (
    DeliveryUpdate,
    InboundMedia,
    InboundMessage,
    RecipientStatus,
    WebhookRefused,
    WebhookRequest,
)

TOLERANCE = timedelta(minutes=5)
OPT_OUT_CODE = "40300"  # "Blocked due to STOP message"

# Telnyx's per-recipient states, in ours.
STATUS = {
    "queued": RecipientStatus.QUEUED,
    "sending": RecipientStatus.QUEUED,
    "sent": RecipientStatus.SENT,
    # The handset's carrier gave no receipt (Telnyx reports it for off-net phones).
    "delivery_unconfirmed": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "sending_failed": RecipientStatus.FAILED,
    "delivery_failed": RecipientStatus.UNDELIVERED,
    "expired": RecipientStatus.UNDELIVERED,
}
_FAILED = frozenset({RecipientStatus.FAILED, RecipientStatus.UNDELIVERED})


def parse(
    request: WebhookRequest, public_key: Ed25519PublicKey
) -> list[InboundMessage | DeliveryUpdate]:
    verify(request, public_key)
    try:
        envelope = json.loads(request.body)
    except ValueError:
        raise WebhookRefused("The webhook's body is not JSON.") from None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return []
    payload = data.get("payload")
    if not isinstance(payload, dict):
        return []
    event = data.get("event_type")
    if event == "message.received":
        message = _inbound(data["id"], payload)
        return [message] if message is not None else []
    if event in ("message.sent", "message.finalized"):
        return list(_deliveries(data["id"], payload))
    return []


def verify(request: WebhookRequest, public_key: Ed25519PublicKey) -> None:
    signature = request.headers.get("telnyx-signature-ed25519", "")
    stamp = request.headers.get("telnyx-timestamp", "").strip()
    if not signature or not stamp:
        raise WebhookRefused("The webhook carries no Telnyx signature, so it is not from Telnyx.")
    if not stamp.isdigit():
        raise WebhookRefused("The webhook's telnyx-timestamp is not a Unix time.")
    sent = datetime.fromtimestamp(int(stamp), UTC)
    if abs(request.received_at - sent) > TOLERANCE:
        raise WebhookRefused(
            "The webhook was signed more than five minutes before (or after) it arrived: "
            "a replay or a wrong clock, refused."
        )
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, stamp.encode() + b"|" + request.body)
    except (binascii.Error, ValueError, InvalidSignature):
        raise WebhookRefused(
            "The webhook's Telnyx signature does not match this account's public key."
        ) from None


def _inbound(event_id: str, payload: dict[str, Any]) -> InboundMessage | None:
    sender = _number(payload.get("from"))
    if not sender:
        return None
    addressed: list[str] = []
    for entry in [*_list(payload.get("to")), *_list(payload.get("cc"))]:
        number = _number(entry)
        if number and number != sender and number not in addressed:
            addressed.append(number)
    media = tuple(
        InboundMedia(
            ref=item["url"],
            mime=item.get("content_type") if isinstance(item.get("content_type"), str) else None,
            size=item.get("size") if isinstance(item.get("size"), int) else None,
        )
        for item in _list(payload.get("media"))
        if isinstance(item.get("url"), str) and item["url"]
    )
    text = payload.get("text")
    return InboundMessage(
        event_id=event_id,
        sender=sender,
        to=tuple(addressed),
        body=text if isinstance(text, str) else "",
        media=media,
        carrier_message_id=payload.get("id") if isinstance(payload.get("id"), str) else None,
    )


def _deliveries(event_id: str, payload: dict[str, Any]) -> list[DeliveryUpdate]:
    message_id = payload.get("id")
    if not isinstance(message_id, str) or not message_id:
        return []
    errors = [e for e in _list(payload.get("errors")) if e.get("code") is not None]
    codes = [str(e["code"]) for e in errors]
    updates: list[DeliveryUpdate] = []
    for entry in _list(payload.get("to")):
        phone = _number(entry)
        status = STATUS.get(str(entry.get("status", "")))
        if not phone or status is None:
            continue
        failed = status in _FAILED
        updates.append(
            DeliveryUpdate(
                # One webhook may name several recipients: each update is applied once.
                event_id=f"{event_id}:{phone}",
                carrier_message_id=message_id,
                phone=phone,
                status=status,
                error_code=codes[0] if failed and codes else None,
                error=_error_sentence(errors) if failed else None,
                opted_out=failed and OPT_OUT_CODE in codes,
            )
        )
    return updates


def _error_sentence(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "Telnyx could not deliver the message to this recipient and gave no reason."
    first = errors[0]
    if str(first.get("code")) == OPT_OUT_CODE:
        return "The recipient opted out (texted STOP) and gets no messages until they text START."
    title = str(first.get("title") or "no reason given")
    return (
        f"Telnyx could not deliver the message to this recipient: {title} (error {first['code']})."
    )


def _number(entry: object) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("phone_number"), str):
        return str(entry["phone_number"])
    return ""


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
