"""LeadConnector (HighLevel API v2), to the letter of its OpenAPI documents.

The generic client (``client.py``) decides *what* to ask; this module says how
LeadConnector's documents want each request put, and turns each of its answers
— any shape those documents allow, not just the usual one — into the plain data
the contract's models read. Where the documents contradict themselves the
decision and its reason are in ``docs/contract.md`` ("LeadConnector"); the names
used there appear in the comments below.

Nothing here does I/O. A shape no reading can rescue raises
``MalformedResponseError``; everything else is read, with odd values made safe
(a fractional or negative count, a date that is not a date) rather than refused.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.api.errors import MalformedResponseError

log = logging.getLogger(__name__)

SEND_TYPE = "SMS"
# The upload's file part: named in the operation's prose, absent from its schema
# (decision "upload-file-field").
FILE_FIELD = "fileAttachment"
# Business numbers come in pages of 50 unless asked; 1000 is the documented maximum.
NUMBERS_PAGE_SIZE = 1000
# /users/search pages with skip/limit (strings in the document); bounded so a server
# that ignores skip cannot keep the client asking forever.
USERS_PAGE_SIZE = 100
USERS_MAX_PAGES = 50

# GET /conversations/{id} gives the channel as a number.
_CONVERSATION_TYPES = {
    1: "TYPE_PHONE",
    2: "TYPE_EMAIL",
    3: "TYPE_FB_MESSENGER",
    4: "TYPE_REVIEW",
    5: "TYPE_GROUP_SMS",
}
_MAX_COUNT = 2**31 - 1
# The latest instant a date can name (9999-12-31), in milliseconds.
_MAX_MS = 253_402_300_799_999
# A message whose dateAdded is no date at all is kept, dated at the epoch (decision
# "unreadable-dates"): a visible oddity, where dropping it would lose a message.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- requests ----------------------------------------------------------------------


def send_body(
    contact_id: str,
    text: str,
    attachments: Iterable[str],
    from_number: str | None,
    to_number: str | None,
) -> dict[str, Any]:
    """``SendMessageBodyDto`` for one SMS/MMS to a contact.

    ``subType`` and ``status`` are left out although the schema requires them
    (decisions "send-subtype" and "send-status").
    """
    body: dict[str, Any] = {"type": SEND_TYPE, "contactId": contact_id, "message": text}
    urls = list(attachments)
    if urls:
        body["attachments"] = urls
    if from_number is not None:
        body["fromNumber"] = from_number
    if to_number is not None:
        body["toNumber"] = to_number
    return body


def upload_fields(
    conversation_id: str, contact_id: str, location_id: str, *, group: bool
) -> dict[str, str]:
    """``UploadFilesDto``'s form fields (the file goes under ``FILE_FIELD``).

    A group conversation's upload says ``isGroupSms`` and carries one file (every
    upload here does). ``attachmentUrls`` is left out: this upload sends a file, not
    URLs, and a form cannot carry an empty list (decision "upload-attachment-urls").
    """
    fields = {
        "conversationId": conversation_id,
        "contactId": contact_id,
        "locationId": location_id,
    }
    if group:
        fields["isGroupSms"] = "true"
    return fields


def conversations_query(
    location_id: str, limit: int, start_after_date: int | None, query: str | None, status: str
) -> dict[str, Any]:
    """``GET /conversations/search``'s query: it pages by date only (no ``startAfterId``)."""
    return {
        "locationId": location_id,
        "limit": limit,
        "startAfterDate": start_after_date,
        "query": query or None,
        "status": status,
    }


def users_query(company_id: str, location_id: str, skip: int) -> dict[str, str]:
    """``GET /users/search``'s query for one page of a location's users."""
    return {
        "companyId": company_id,
        "locationId": location_id,
        "skip": str(skip),
        "limit": str(USERS_PAGE_SIZE),
    }


# --- answers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Uploaded:
    """An ``UploadFilesResponseDto``: the files' URLs, and Twilio's media ids when given."""

    urls: tuple[str, ...]
    twilio_media_sids: tuple[str, ...] = ()


def uploaded(payload: Any, what: str) -> Uploaded:
    """``{uploadedFiles: {name: url}, twilioMediaSids?: [sid]}``."""
    files = _object(payload, what).get("uploadedFiles")
    if not isinstance(files, dict):
        raise MalformedResponseError(f"{what}: answer has no 'uploadedFiles' object")
    urls = tuple(u for u in files.values() if isinstance(u, str) and u.strip())
    sids = payload.get("twilioMediaSids")
    media = tuple(s for s in sids if isinstance(s, str)) if isinstance(sids, list) else ()
    return Uploaded(urls, media)


def conversation_page(payload: Any, what: str) -> dict[str, Any]:
    """``SendConversationResponseDto``: rows without an id are skipped."""
    data = _object(payload, what)
    rows = data.get("conversations")
    if not isinstance(rows, list):
        raise MalformedResponseError(f"{what}: answer has no 'conversations' list")
    kept = [_conversation(row) for row in rows if isinstance(row, dict) and _has_id(row)]
    return {"conversations": kept, "total": _count(data.get("total"))}


def conversation(payload: Any, conversation_id: str, what: str) -> dict[str, Any]:
    """``GetConversationByIdResponse`` (unwrapped, numeric type); wrapped answers too."""
    data = _object(payload, what)
    inner = data.get("conversation")
    if isinstance(inner, dict):
        data = inner
    return _conversation({**data, "id": _str_or(data.get("id"), conversation_id)})


def messages_page(payload: Any, conversation_id: str, what: str) -> dict[str, Any]:
    """A page of a thread, flat (as documented) or nested in ``messages`` (as served)."""
    data = _object(payload, what)
    inner = data.get("messages")
    page = inner if isinstance(inner, dict) else data
    rows = page.get("messages")
    if not isinstance(rows, list):
        raise MalformedResponseError(f"{what}: answer has no 'messages' list")
    kept = [
        _message(row, conversation_id) for row in rows if isinstance(row, dict) and _has_id(row)
    ]
    last = page.get("lastMessageId")
    return {
        "lastMessageId": last if isinstance(last, str) else None,
        "nextPage": page.get("nextPage") is True,
        "messages": kept,
    }


def send_result(payload: Any, conversation_id: str, what: str) -> dict[str, Any]:
    """``SendMessageResponseDto``; a GMB-style ``messageIds`` list stands in for ``messageId``."""
    data = _object(payload, what)
    message_id = data.get("messageId")
    ids = data.get("messageIds")
    if not isinstance(message_id, str) and isinstance(ids, list) and ids:
        message_id = ids[0]
    if not isinstance(message_id, str):
        raise MalformedResponseError(f"{what}: answer has no 'messageId'")
    result = {
        "conversationId": _str_or(data.get("conversationId"), conversation_id),
        "messageId": message_id,
    }
    if isinstance(data.get("status"), str):
        result["status"] = data["status"]
    return result


def contact(payload: Any, contact_id: str, what: str) -> dict[str, Any]:
    """``{contact: GetContectByIdSchema}`` (every field optional, the id too)."""
    data = _object(payload, what)
    inner = data.get("contact")
    record = inner if isinstance(inner, dict) else {}
    return _contact({**record, "id": _str_or(record.get("id"), contact_id)})


def contact_page(payload: Any, what: str) -> dict[str, Any]:
    """``POST /contacts/search``'s answer (undocumented there): ``{contacts, total}``."""
    data = _object(payload, what)
    rows = data.get("contacts")
    if not isinstance(rows, list):
        raise MalformedResponseError(f"{what}: answer has no 'contacts' list")
    kept = [_contact(row) for row in rows if isinstance(row, dict) and _has_id(row)]
    return {"contacts": kept, "total": _count(data.get("total"))}


def users_page(payload: Any, what: str) -> tuple[list[dict[str, Any]], int | None]:
    """``SearchUserSuccessfulResponseDto``: the users with an id, and ``count`` if given."""
    data = _object(payload, what)
    rows = data.get("users")
    rows = rows if isinstance(rows, list) else []
    users = [u for u in rows if isinstance(u, dict) and _has_id(u)]
    count = data.get("count")
    return users, (_count(count) if _is_number(count) else None)


def numbers(payload: Any, what: str) -> list[Any]:
    """``active-numbers``' ``numbers`` list."""
    rows = _object(payload, what).get("numbers")
    if not isinstance(rows, list):
        raise MalformedResponseError(f"{what}: answer has no 'numbers' list")
    return rows


# --- helpers -----------------------------------------------------------------------


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise MalformedResponseError(f"{what}: answer is not a JSON object")
    return payload


def _has_id(row: dict[str, Any]) -> bool:
    return isinstance(row.get("id"), str)


def _str_or(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: Any) -> int:
    """A count from a JSON number: whole, not negative, not absurd; 0 when not a number."""
    if not _is_number(value) or not math.isfinite(value):
        return 0
    return max(0, min(int(value), _MAX_COUNT))


def _ms(value: Any) -> int | None:
    """Milliseconds since the epoch from a number, a digit string or an ISO date."""
    if _is_number(value) and math.isfinite(value):
        return max(0, min(int(value), _MAX_MS))
    if isinstance(value, str) and value.strip().isdigit():
        return max(0, min(int(value.strip()), _MAX_MS))
    when = _instant(value)
    return None if when is None else int(when.timestamp() * 1000)


def _instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO-8601 string (no zone means UTC) or epoch milliseconds."""
    if _is_number(value) or (isinstance(value, str) and value.strip().isdigit()):
        ms = _ms(value)
        return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _conversation(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    kind: Any = row.get("type")
    if isinstance(kind, int | float) and not isinstance(kind, bool):
        whole = int(kind) if math.isfinite(kind) and kind == int(kind) else 0
        out["type"] = _CONVERSATION_TYPES.get(whole, "unknown")
    elif not isinstance(kind, str):
        out.pop("type", None)
    out["unreadCount"] = _count(row.get("unreadCount"))
    if "lastMessageDate" in row:
        out["lastMessageDate"] = _ms(row["lastMessageDate"])
    return out


def _message(row: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    out = dict(row)
    out["conversationId"] = _str_or(row.get("conversationId"), conversation_id)
    when = _instant(row.get("dateAdded"))
    if when is None:
        log.warning("message %s has no readable dateAdded; dated at the epoch", row.get("id"))
        when = EPOCH
    out["dateAdded"] = when.isoformat()
    return out


def _contact(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if "dateUpdated" in row:
        when = _instant(row["dateUpdated"])
        out["dateUpdated"] = when.isoformat() if when else None
    return out
