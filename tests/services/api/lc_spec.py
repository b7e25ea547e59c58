"""HighLevel's own OpenAPI documents for LeadConnector, and the client's named exceptions to them.

The documents are ``../shared/specs/leadconnector/apps/*.json`` (unchanged from
the public GoHighLevel/highlevel-api-docs at the commit ``SOURCE`` names). Every
request the client makes is validated against them by ``tests.openapi_mock``;
the only violations allowed are those below, each decided and explained in
``docs/contract.md`` under "LeadConnector" (a test checks every name is there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from services.api import ApiClient, RetryPolicy
from tests.openapi_mock import (
    MISSING,
    UNDECLARED,
    Answer,
    Document,
    NamedException,
    OpenApiMock,
    load_document,
)
from tests.specs import spec_path

LC = "https://services.leadconnectorhq.com"
TOKEN = "pit-0123456789abcdef"
LOCATION = "ve9EPM428kjkvShlRW1KT"
COMPANY = "5DP41231LkQsiKESj6rh"

APPS = ("conversations", "contacts", "users", "phone-system")


def documents() -> list[Document]:
    return [load_document(spec_path("leadconnector", "apps", f"{app}.json")) for app in APPS]


def _exception(name: str, operation: str, where: str, problem: str, reason: str) -> NamedException:
    return NamedException(name, operation, where, problem, reason)


_SEARCH_BODY_REASON = (
    "SearchBodyV2DTO declares no properties (its body is documented only on an external "
    "page); the client sends the fields HighLevel's SDK and that page name"
)

EXCEPTIONS: tuple[NamedException, ...] = (
    _exception(
        "send-subtype",
        "send-a-new-message",
        "body.subType",
        MISSING,
        "typed as an object with the example 'Email'; an SMS has no subtype",
    ),
    _exception(
        "send-status",
        "send-a-new-message",
        "body.status",
        MISSING,
        "a message's status is the server's report, not the sender's claim",
    ),
    _exception(
        "upload-file-field",
        "upload-file-attachments",
        "body.fileAttachment",
        UNDECLARED,
        "the operation's prose asks for the file under fileAttachment; its schema omits it",
    ),
    _exception(
        "upload-attachment-urls",
        "upload-file-attachments",
        "body.attachmentUrls",
        MISSING,
        "the upload sends a file, not URLs; a form cannot carry an empty list",
    ),
    *(
        _exception(
            "contacts-search-body",
            "search-contacts-advanced",
            f"body.{field}",
            UNDECLARED,
            _SEARCH_BODY_REASON,
        )
        for field in ("locationId", "query", "pageLimit", "searchAfter")
    ),
)

EXCEPTION_NAMES = sorted({e.name for e in EXCEPTIONS})


def mock(answer: Answer | None = None) -> OpenApiMock:
    """A validating LeadConnector, answering with ``answer`` or the documents' examples."""
    return OpenApiMock(documents(), answer, exceptions=EXCEPTIONS)


def client(
    transport: httpx.AsyncBaseTransport,
    *,
    retry: RetryPolicy | None = None,
    company_id: str | None = COMPANY,
) -> ApiClient:
    return ApiClient(
        LC,
        TOKEN,
        transport=transport,
        location_id=LOCATION,
        company_id=company_id,
        retry=retry or RetryPolicy.never(),
    )


# Every LeadConnector operation the client uses, with a call that makes it and the
# named exceptions that call needs. (Some calls first ask for the conversation.)
Call = Callable[[ApiClient], Any]
CONVERSATION = "tDtDnQdgm2LXpyiqYvZ6"
CONTACT = "ocQHyuzHvysMo5N5VsXc"

OPERATIONS: dict[str, tuple[Call, tuple[str, ...]]] = {
    "search-conversation": (
        lambda api: api.search_conversations(limit=2, start_after_date=1700000200000, query="doe"),
        (),
    ),
    "get-conversation": (lambda api: api.get_conversation(CONVERSATION), ()),
    "update-conversation": (lambda api: api.mark_read(CONVERSATION), ()),
    "get-messages": (
        lambda api: api.get_messages(CONVERSATION, limit=3, last_message_id="older"),
        (),
    ),
    "send-a-new-message": (
        lambda api: api.send_message(
            CONVERSATION,
            "See you at 5",
            ["https://storage.googleapis.com/msgsndr/photo.jpg"],
            contact_id=CONTACT,
            from_number="+14155552671",
            to_number="+15550001234",
        ),
        ("send-subtype", "send-status"),
    ),
    "upload-file-attachments": (
        lambda api: api.upload(CONVERSATION, "photo.jpg", b"\xff\xd8\xff jpeg", "image/jpeg"),
        ("upload-file-field", "upload-attachment-urls"),
    ),
    "search-contacts-advanced": (
        lambda api: api.search_contacts("doe", page_limit=3, search_after=[1, "x"]),
        ("contacts-search-body",),
    ),
    "get-contact": (lambda api: api.get_contact(CONTACT), ()),
    "update-contact": (lambda api: api.update_contact(CONTACT, first_name="Ann"), ()),
    "delete-contact": (lambda api: api.delete_contact(CONTACT), ()),
    "create-contact": (
        lambda api: api.create_contact(first_name="Ann", last_name="Lee", phone="+14155550188"),
        (),
    ),
    "search-users": (lambda api: api.teammates(), ()),
    "active-numbers": (lambda api: api.phone_numbers(), ()),
}
