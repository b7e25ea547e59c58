"""Telnyx's error answers, ``{"errors": [{code, title, detail, source}]}``, as sentences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from services.server.carriers.base import CarrierError, ErrorKind
from services.server.carriers.config import numbers_named, server_trouble
from services.server.carriers.telnyx import webhooks
from services.server.carriers.telnyx.shapes import answer_of, items


def failure(response: httpx.Response, action: str, members: tuple[str, ...] = ()) -> CarrierError:
    """The CarrierError for Telnyx's non-2xx answer: ``{"errors": [{code, title, detail}]}``."""
    errors = items(answer_of(response).get("errors"))
    codes = [str(e.get("code")) for e in errors]
    first = errors[0] if errors else {}
    tag = codes[0] if codes else str(response.status_code)
    if webhooks.OPT_OUT_CODE in codes:
        blocked = next(e for e in errors if str(e.get("code")) == webhooks.OPT_OUT_CODE)
        named = blocked_numbers(blocked, members)
        who = " and ".join(named) if named else "a member of this group (Telnyx did not say who)"
        return CarrierError(
            ErrorKind.OPTED_OUT,
            f"Telnyx would not {action}: {who} opted out (texted STOP) of texts from this "
            "business.",
            code=webhooks.OPT_OUT_CODE,
            opted_out=named,
        )
    if response.status_code == 401 or "10009" in codes:
        return CarrierError(
            ErrorKind.CONFIG,
            "Telnyx refused the API key in TELNYX_API_KEY; create a new key in the Telnyx "
            "portal and set it.",
            code=tag,
        )
    if response.status_code == 403 or "10010" in codes:
        return CarrierError(
            ErrorKind.CONFIG,
            f"The API key in TELNYX_API_KEY is not allowed to {action}.",
            code=tag,
        )
    trouble = server_trouble(response, "Telnyx")
    if trouble is not None:
        return trouble
    title = str(first.get("title") or "").strip()
    detail = str(first.get("detail") or "").strip()
    said = ": " + " ".join(part.rstrip(".") + "." for part in (title, detail) if part)
    return CarrierError(
        ErrorKind.PERMANENT,
        f"Telnyx refused to {action} (HTTP {response.status_code}, error {tag})"
        + (said if title or detail else "."),
        code=tag,
    )


def blocked_numbers(error: Mapping[str, Any], members: tuple[str, ...]) -> tuple[str, ...]:
    """Members named by a 40300 error: in its detail, or by ``source.pointer`` "/to/N"."""
    named = numbers_named(str(error.get("detail") or ""), members)
    if named:
        return named
    source = error.get("source")
    pointer = str(source.get("pointer") or "") if isinstance(source, dict) else ""
    index = pointer.rsplit("/", 1)[-1]
    if pointer.startswith("/to/") and index.isdigit() and int(index) < len(members):
        return (members[int(index)],)
    return ()


def check_profile(data: object) -> None:
    if not isinstance(data, dict):
        return
    if data.get("enabled") is False:
        raise CarrierError(
            ErrorKind.CONFIG,
            "The Telnyx messaging profile in TELNYX_MESSAGING_PROFILE_ID is disabled; enable "
            "it in the Telnyx portal.",
        )
    version = data.get("webhook_api_version")
    if version is not None and version != "2":
        raise CarrierError(
            ErrorKind.CONFIG,
            "The Telnyx messaging profile sends webhooks in an old format; set its webhook API "
            "version to 2, which group messages need.",
        )
