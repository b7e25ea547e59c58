"""Twilio's JSON answers read into our terms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.phones import is_group_capable
from services.server.carriers.base import BusinessNumber
from services.server.carriers.config import is_loopback

CLOCK_SLACK = timedelta(minutes=2)  # Twilio's clock against ours


def attributes_of(value: object) -> Mapping[str, Any]:
    if not isinstance(value, str) or not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def older_than(item: Mapping[str, Any], since: datetime | None) -> bool:
    if since is None:
        return False
    stamp = item.get("date_created")
    if not isinstance(stamp, str):
        return False
    try:
        created = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created < since - CLOCK_SLACK


def downloadable(link: str) -> bool:
    parts = httpx.URL(link)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.host))


def business_number(item: Mapping[str, Any]) -> BusinessNumber:
    found = item.get("capabilities")
    caps: Mapping[str, Any] = found if isinstance(found, dict) else {}
    number = str(item.get("phone_number") or "")
    sms = bool(caps.get("sms"))
    mms = bool(caps.get("mms"))
    return BusinessNumber(
        phone_number=number,
        friendly_name=str(item.get("friendly_name") or number),
        sms=sms,
        mms=mms,
        voice=bool(caps.get("voice")),
        # Group MMS: +1 (US/Canada) long codes with SMS and MMS; never toll-free.
        group_capable=sms and mms and is_group_capable(number),
    )
