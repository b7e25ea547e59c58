"""Twilio's answers and error codes, turned into CarrierError sentences for staff.

Twilio errors are JSON ``{"code": 21610, "message": "…", "more_info": "…", "status": 400}``.
Codes come from https://www.twilio.com/docs/api/errors/<code>.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.server.carriers.base import CarrierError, ErrorKind
from services.server.carriers.config import numbers_named, server_trouble

# The recipient opted out: 21610 "Attempt to send to unsubscribed recipient" (the
# From/To pair is blocked after STOP); 63014 "Channel message blocked by user action"
# (the recipient opted out or blocked the sender).
OPT_OUT_CODES = frozenset({21610, 63014})

# Error codes whose meaning we can say in a business owner's words.
_PERMANENT: dict[int, str] = {
    50426: "Twilio takes at most 10 participants when it creates a group.",
    50434: "Twilio refused a group member without a phone number.",
    50435: (
        "Twilio could not start the group text: it needs the business number and at least "
        "two contacts, all US or Canadian mobile numbers."
    ),
    50436: "Twilio allows at most 10 people in a group text: the business number and 9 contacts.",
    50513: (
        "Twilio refused the message because the business number is not a participant of "
        "this group at Twilio."
    ),
    21606: "Twilio says the business number cannot send text messages.",
    21408: "Twilio says this account may not send messages to that region.",
}

# Delivery errors reported per recipient (receipts and onDeliveryUpdated).
_DELIVERY: dict[int, str] = {
    21610: "The recipient opted out (texted STOP) and gets no messages until they text START.",
    63014: "The recipient blocked messages from this business or opted out.",
    30003: "The recipient's phone was unreachable (off or out of coverage).",
    30004: "The recipient's carrier or the recipient blocked the message.",
    30005: "The recipient's number is unknown or no longer in service.",
    30006: "The recipient's number is a landline or cannot receive texts.",
    30007: "The recipient's carrier filtered the message as spam.",
    30008: "The recipient's carrier could not deliver the message for an unknown reason.",
}


def body_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON object Twilio answered, or {} when it answered something else."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def code_of(body: dict[str, Any]) -> int | None:
    code = body.get("code")
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None


def failure(response: httpx.Response, action: str, members: tuple[str, ...] = ()) -> CarrierError:
    """The CarrierError for Twilio's non-2xx answer to ``action`` ("send the message")."""
    trouble = server_trouble(response, "Twilio")
    if trouble is not None:
        return trouble
    body = body_of(response)
    code = code_of(body)
    said = str(body.get("message") or "").strip()
    tag = str(code) if code is not None else str(response.status_code)
    if response.status_code == 401 or code == 20003:
        return CarrierError(
            ErrorKind.CONFIG,
            "Twilio refused the Account SID and Auth Token (TWILIO_ACCOUNT_SID, "
            "TWILIO_AUTH_TOKEN); check both in the Twilio Console.",
            code=tag,
        )
    if code == 20429:
        return CarrierError(
            ErrorKind.RETRYABLE, "Twilio asked us to slow down; will try again.", code=tag
        )
    if code in OPT_OUT_CODES:
        named = numbers_named(said, members)
        who = " and ".join(named) if named else "a member of this group (Twilio did not say who)"
        return CarrierError(
            ErrorKind.OPTED_OUT,
            f"Twilio would not {action}: {who} opted out of texts from this business.",
            code=tag,
            opted_out=named,
        )
    if code in _PERMANENT:
        return CarrierError(ErrorKind.PERMANENT, _PERMANENT[code], code=tag)
    detail = f": {said.rstrip('.')}." if said else "."
    return CarrierError(
        ErrorKind.PERMANENT,
        f"Twilio refused to {action} (HTTP {response.status_code}, error {tag}){detail}",
        code=tag,
    )


def delivery_error(code: int) -> str:
    known = _DELIVERY.get(code)
    if known:
        return known
    return (
        f"Twilio reported error {code} for this recipient; see "
        f"https://www.twilio.com/docs/api/errors/{code}."
    )
