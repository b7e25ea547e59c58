"""Telnyx's JSON answers read into our terms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.phones import is_group_capable
from services.server.carriers.base import BusinessNumber, RecipientStatus
from services.server.carriers.telnyx import webhooks

# Telnyx's clock against ours (both NTP-kept); small, because the previous message of a
# busy group may be only seconds older than this one.
CLOCK_SLACK = timedelta(seconds=30)


def recipients(data: Mapping[str, Any]) -> dict[str, RecipientStatus]:
    found: dict[str, RecipientStatus] = {}
    for entry in items(data.get("to")):
        status = webhooks.STATUS.get(str(entry.get("status", "")))
        if isinstance(entry.get("phone_number"), str) and status is not None:
            found[entry["phone_number"]] = status
    return found


def business_number(item: Mapping[str, Any]) -> BusinessNumber:
    number = str(item.get("phone_number") or "")
    features = item.get("features") if isinstance(item.get("features"), dict) else {}
    sms = isinstance(features, dict) and isinstance(features.get("sms"), dict)
    mms = isinstance(features, dict) and isinstance(features.get("mms"), dict)
    long_code = str(item.get("type") or "") in ("long-code", "longcode")
    return BusinessNumber(
        phone_number=number,
        friendly_name=number,  # the messaging listing carries no name
        sms=sms,
        mms=mms,
        voice=False,  # the messaging listing does not say; Telnyx voice is set up apart
        group_capable=sms and mms and long_code and is_group_capable(number),
    )


def answer_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def items(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at_or_after(record: Mapping[str, Any], since: datetime) -> bool:
    stamp = record.get("created_at")
    if not isinstance(stamp, str):
        return False
    try:
        created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created >= since - CLOCK_SLACK
