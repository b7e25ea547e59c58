"""The LeadConnector client held to HighLevel's own OpenAPI documents, operation by operation.

For every operation the client uses (``lc_spec.OPERATIONS``):

- its request validates against the documents (path, query, headers with
  ``Version``, security, body) in strict mode, with exactly the named exceptions
  of ``lc_spec.EXCEPTIONS`` and no other violation;
- the answer built from the documents' own examples parses;
- answers generated from the documented response schemas all parse (hypothesis),
  and every documented error answer becomes the hierarchy's error for its status.

The decisions behind the named exceptions are in docs/contract.md, "LeadConnector".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api import (
    ApiError,
    AuthError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
    TooLargeError,
    UnsupportedTypeError,
    ValidationError,
)
from services.models import ConversationType, MessageStatus, UserRole
from tests.json_strategies import from_schema
from tests.openapi_mock import (
    Call,
    OpenApiMock,
    example_of,
    example_response,
    json_response,
    json_schema,
    schema_errors,
)
from tests.services.api import lc_spec
from tests.specs import REPO_ROOT

OPERATIONS = sorted(lc_spec.OPERATIONS)
# The documents give POST /contacts/search no answer schema at all (decision
# "contacts-search-answer"): it is read from recorded answers in test_leadconnector.py.
ANSWERED = [op for op in OPERATIONS if op != "search-contacts-advanced"]
A_URL = "https://storage.googleapis.com/msgsndr/loc/media/photo.jpg"


def run(
    call: Callable[[Any], Any], answer: Callable[[Call], httpx.Response]
) -> tuple[Any, OpenApiMock]:
    """Make one client call against a validating mock; the outcome (value or ApiError)."""
    mock = lc_spec.mock(answer)

    async def go() -> Any:
        async with lc_spec.client(mock) as api:
            try:
                return await call(api)
            except ApiError as error:
                return error

    return asyncio.run(go()), mock


def answering(
    operation_id: str, body: Callable[[Call], httpx.Response]
) -> Callable[[Call], httpx.Response]:
    """``body`` for ``operation_id``; every other operation its documented example."""

    def answer(call: Call) -> httpx.Response:
        return body(call) if call.operation_id == operation_id else example_response(call)

    return answer


def with_url(call: Call) -> httpx.Response:
    return json_response(200, {"uploadedFiles": {"photo.jpg": A_URL}})


# --- requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_request_keeps_to_the_documents_but_for_its_named_exceptions(operation_id):
    call, excused = lc_spec.OPERATIONS[operation_id]
    outcome, mock = run(call, answering("upload-file-attachments", with_url))
    assert operation_id in mock.operations_called()
    assert set(mock.operations_called()) <= set(OPERATIONS)
    mock.assert_clean(excused=excused)
    assert not isinstance(outcome, ApiError) or operation_id == "search-contacts-advanced"


def test_every_named_exception_is_needed_and_decided_in_the_contract():
    needed = {name for _, excused in lc_spec.OPERATIONS.values() for name in excused}
    assert needed == set(lc_spec.EXCEPTION_NAMES)
    contract = (REPO_ROOT / "docs" / "contract.md").read_text()
    section = contract[contract.index("## LeadConnector") :]
    missing = [name for name in lc_spec.EXCEPTION_NAMES if f"`{name}`" not in section]
    assert missing == []


def test_the_validating_mock_would_catch_what_the_old_client_sent():
    """The strict checks are live: the old upload and user list are refused by name."""
    mock = lc_spec.mock()
    request = httpx.Request(
        "POST",
        f"{lc_spec.LC}/conversations/messages/upload",
        headers={"Version": "2021-04-15", "Authorization": "Bearer t", "Idempotency-Key": "k"},
        files={"fileAttachment": ("a.jpg", b"x", "image/jpeg")},
        data={"conversationId": "c", "locationId": "l"},
    )
    request.read()
    upload = {(v.where, v.problem) for v in mock.check(request).violations}
    assert ("header Idempotency-Key", "not declared") in upload
    assert ("body.contactId", "required but missing") in upload
    users = httpx.Request(
        "GET",
        f"{lc_spec.LC}/users/",
        params={"locationId": "l"},
        headers={"Version": "2021-04-15", "Authorization": "Bearer t"},
    )
    problems = {(v.where, v.problem.split(" (")[0]) for v in mock.check(users).violations}
    assert problems == {
        ("operation", "deprecated"),
        ("header Version", "'2021-04-15' is not one of ['2021-07-28']"),
    }


# --- answers: the documents' own examples -----------------------------------------------


def _check_example(operation_id: str, result: Any) -> None:
    """What each operation's example answer says, as the client reads it."""
    if operation_id == "search-conversation":
        (row,) = result.conversations
        assert (row.id, row.name, row.type, row.unread_count) == (
            "ABCHkzuJQ8ZMd4Te84GK",
            "John Doe",
            ConversationType.PHONE,
            1,
        )
        assert result.total == 100
    elif operation_id == "get-conversation":
        assert (result.id, result.contact_id) == ("ve9EPM428kjkvShlRW1KT", "ve9EPM428kjkvShlRW1KT")
    elif operation_id == "get-messages":
        (message,) = result.messages
        assert (result.last_message_id, result.next_page) == ("p1mRSHeLDhAms5q0LMr4", True)
        assert (message.id, message.body, message.message_type) == (
            "ve9EPM428h8vShlRW1KT",
            "Hi there",
            "SMS",  # the example's own value, outside its enum: read as is
        )
        assert message.date_added == datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)
    elif operation_id == "send-a-new-message":
        assert (result.message_id, result.status) == (
            "t22c6DQcTDf3MjRhwf77",
            MessageStatus.DELIVERED,
        )
        assert result.conversation_id == "ABC12h2F6uBrIkfXYazb"
    elif operation_id == "create-contact" or operation_id == "create-contact":
        assert result.id == "seD4PfOuKoVMLkEZqohJ" and result.first_name == "rubika"
    elif operation_id in ("get-contact", "update-contact"):
        assert (result.id, result.first_name, result.dnd) == (
            "seD4PfOuKoVMLkEZqohJ",
            "rubika",
            True,
        )
    elif operation_id == "search-users":
        (user,) = result
        assert (user.id, user.roles.role) == ("0IHuJvc2ofPAAA8GzTRi", UserRole.ADMIN)
    elif operation_id == "active-numbers":
        (number,) = result
        assert number.phone_number == "+14155552671" and number.is_group_conversation_enabled
    else:
        assert result is None, operation_id  # mark_read and delete_contact return nothing


@pytest.mark.parametrize("operation_id", [op for op in ANSWERED if op != "upload-file-attachments"])
def test_each_operations_own_example_answer_is_read(operation_id):
    call, _ = lc_spec.OPERATIONS[operation_id]
    result, mock = run(call, example_response)
    assert not isinstance(result, ApiError), result
    _check_example(operation_id, result)
    mock.assert_clean()


def test_the_upload_example_names_no_file_and_is_refused_by_name():
    """``uploadedFiles`` is a bare object: its example is {} (decision "upload-answer-url")."""
    call, _ = lc_spec.OPERATIONS["upload-file-attachments"]
    result, _ = run(call, example_response)
    assert isinstance(result, MalformedResponseError)
    assert "names no uploaded file URL (Twilio media: MExxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx)" in str(
        result
    )


# Where the documents' examples break their own schemas (docs/contract.md lists them).
KNOWN_CONTRADICTIONS = {
    ("get-messages", "200"): [
        "messages.0.messageType: 'SMS' is not one of",
        "messages.0.meta.callDuration: 120 is not of type 'string'",
    ],
    ("send-a-new-message", "request"): ["subType: 'Email' is not of type 'object'"],
    ("update-contact", "request"): ["dateOfBirth: '1990-09-25' is not of type 'object', 'null'"],
    ("create-contact", "request"): ["dateOfBirth: '1990-09-25' is not of type 'object', 'null'"],
}


def test_the_documents_own_contradictions_are_the_known_ones():
    mock = lc_spec.mock()
    found: dict[tuple[str, str], list[str]] = {}
    for operation_id in OPERATIONS:
        operation = mock.operation(operation_id)
        schemas = {status: operation.response_schema(status) for status in operation.responses()}
        schemas["request"] = operation.request_schema("application/json")
        for status, schema in schemas.items():
            if schema is not None:
                errors = schema_errors(json_schema(schema, closed=False), example_of(schema))
                if errors:
                    found[(operation_id, status)] = errors
    assert found.keys() == KNOWN_CONTRADICTIONS.keys()
    for key, starts in KNOWN_CONTRADICTIONS.items():
        assert len(found[key]) == len(starts) and all(
            error.startswith(start) for error, start in zip(found[key], starts, strict=True)
        ), found[key]


# --- answers: generated from the documented schemas ----------------------------------------

GENERATED = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _generated_outcome_is_right(operation_id: str, body: Any, result: Any) -> None:
    """What the client made of a generated answer ``body``, checked against the body."""
    if operation_id == "upload-file-attachments":
        urls = [u for u in body["uploadedFiles"].values() if isinstance(u, str) and u.strip()]
        if urls:
            assert result == urls[0]
        else:  # a bare object naming no file: refused by name, never a crash
            assert isinstance(result, MalformedResponseError), result
            assert "names no uploaded file URL" in str(result)
        return
    if operation_id == "create-contact":
        given_id = (body.get("contact") or {}).get("id")
        if given_id:
            assert result.id == given_id
        else:  # a created contact without an id can't be chosen: refused by name
            assert isinstance(result, MalformedResponseError), result
        return
    assert not isinstance(result, ApiError), result
    if operation_id == "search-conversation":
        assert [c.id for c in result.conversations] == [r["id"] for r in body["conversations"]]
        assert all(c.unread_count >= 0 for c in result.conversations)
    elif operation_id == "get-conversation":
        assert result.id == body["id"] or not body["id"]
        assert result.type in ConversationType
    elif operation_id == "get-messages":
        assert [m.id for m in result.messages] == [m["id"] for m in body["messages"]]
        assert all(m.date_added.tzinfo is not None for m in result.messages)
    elif operation_id == "send-a-new-message":
        assert result.message_id == body["messageId"]
    elif operation_id in ("get-contact", "update-contact"):
        given_id = (body.get("contact") or {}).get("id")
        assert result.id == (given_id or lc_spec.CONTACT)
    elif operation_id == "search-users":
        ids = [u["id"] for u in body.get("users", []) if "id" in u]
        assert [u.id for u in result] == list(dict.fromkeys(ids))
    elif operation_id == "active-numbers":
        assert [n.phone_number for n in result] == [n["phoneNumber"] for n in body["numbers"]]


@pytest.mark.parametrize("operation_id", ANSWERED)
def test_every_answer_the_documents_allow_is_read(operation_id):
    call, _ = lc_spec.OPERATIONS[operation_id]
    operation = lc_spec.mock().operation(operation_id)
    schema = operation.response_schema(operation.success_status())
    assert schema is not None
    bodies = from_schema(json_schema(schema))

    @GENERATED
    @given(body=bodies)
    def check(body: Any) -> None:
        result, mock = run(call, answering(operation_id, lambda _: json_response(200, body)))
        _generated_outcome_is_right(operation_id, body, result)
        mock.assert_clean()

    check()


ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    404: NotFoundError,
    413: TooLargeError,
    415: UnsupportedTypeError,
    422: ValidationError,
    500: ServerError,
}
DOCUMENTED_ERRORS = [
    (operation_id, int(status))
    for operation_id in ANSWERED
    for status, response in lc_spec.mock().operation(operation_id).responses().items()
    if re.fullmatch(r"[45]\d\d", status) and "content" in response
]


def test_the_documented_errors_are_the_ones_the_client_maps():
    assert {status for _, status in DOCUMENTED_ERRORS} == set(ERRORS)


@pytest.mark.parametrize(("operation_id", "status"), DOCUMENTED_ERRORS)
def test_every_documented_error_answer_becomes_its_error(operation_id, status):
    call, _ = lc_spec.OPERATIONS[operation_id]
    schema = lc_spec.mock().operation(operation_id).response_schema(status)
    bodies = from_schema(json_schema(schema))

    @settings(GENERATED, max_examples=10)
    @given(body=bodies)
    def check(body: Any) -> None:
        result, _ = run(call, answering(operation_id, lambda _: json_response(status, body)))
        assert type(result) is ERRORS[status], result
        assert result.user_message

    check()


@given(sids=st.lists(st.text(max_size=5), max_size=3))
@settings(GENERATED, max_examples=10)
def test_twilio_media_ids_are_read_when_present(sids):
    from services.api import leadconnector

    answer = leadconnector.uploaded({"uploadedFiles": {"a": A_URL}, "twilioMediaSids": sids}, "x")
    assert answer.urls == (A_URL,) and answer.twilio_media_sids == tuple(sids)
