"""The client against LeadConnector's public API, replayed from recorded answer shapes.

The shapes live in ``tests/services/api/leadconnector/`` (see its README for
where each comes from). LeadConnector cannot be reached from tests, so a
validating mock of HighLevel's own OpenAPI documents (``lc_spec.mock``) answers
with them: every request these tests make is also checked against the documents,
and a test fails on any violation that is not one of the named exceptions.
(``test_leadconnector_spec.py`` holds the client to the documents operation by
operation, with their own examples and generated answers.)
"""

from __future__ import annotations

import email
import email.policy
import inspect
import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.api import (
    ApiClient,
    AuthError,
    InsecureUrlError,
    MalformedResponseError,
    NetworkError,
    RetryPolicy,
    UnsupportedFeatureError,
    ValidationError,
)
from services.models import ConversationType, DndStatus, MessageStatus, UserRole
from tests.openapi_mock import Call, OpenApiMock, json_response
from tests.services.api import lc_spec
from tests.services.api.conftest import Sleeps

pytestmark = pytest.mark.anyio

LC = lc_spec.LC
TOKEN = lc_spec.TOKEN
LOCATION = lc_spec.LOCATION
COMPANY = lc_spec.COMPANY
SHAPES = Path(__file__).parent / "leadconnector"
GROUP_ID = "tDtDnQdgm2LXpyiqYvZ6"
PHONE_ID = "ABCHkzuJQ8ZMd4Te84GK"

Route = tuple[str, str]


def shape(name: str) -> httpx.Response:
    """A fresh response replaying one recorded shape."""
    recorded = json.loads((SHAPES / f"{name}.json").read_text())
    return json_response(recorded["status"], recorded["body"], recorded["headers"])


class LeadConnector:
    """Answers ``(method, path)`` with recorded shapes in turn (the last one repeats).

    It sits behind the validating mock, which checks each request first.
    """

    def __init__(self, routes: dict[Route, list[str | Exception]]) -> None:
        self.routes = {key: list(names) for key, names in routes.items()}
        self.mock: OpenApiMock = lc_spec.mock(self.answer)

    def answer(self, call: Call) -> httpx.Response:
        request = call.request
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"statusCode": 404, "message": "Not Found"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return shape(answer)

    @property
    def requests(self) -> list[httpx.Request]:
        return [call.request for call in self.mock.calls]

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connect(sleeps: Sleeps) -> Iterator[Callable[..., ApiClient]]:
    servers: list[LeadConnector] = []

    def build(server: LeadConnector, company_id: str | None = COMPANY) -> ApiClient:
        servers.append(server)
        return lc_spec.client(
            server.mock, retry=RetryPolicy(sleep=sleeps, rng=lambda: 0.5), company_id=company_id
        )

    yield build
    # Whatever a test checks, what it sent must keep to HighLevel's documents.
    for server in servers:
        server.mock.assert_clean()


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def form_of(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """Multipart fields of a request: name -> (filename, payload), parsed by the stdlib."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    parsed = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="Content-Disposition")
        fields[str(name)] = (part.get_filename(), part.get_payload(decode=True))
    return fields


# --- where requests go and how they are signed -----------------------------------------


CONVERSATIONS = "2021-04-15"
OTHERS = "2021-07-28"


@pytest.mark.parametrize(
    ("call", "route", "answer", "version"),
    [
        (
            lambda api: api.search_conversations(),
            ("GET", "/conversations/search"),
            "conversations_search_page1",
            CONVERSATIONS,
        ),
        (
            lambda api: api.get_conversation(GROUP_ID),
            ("GET", f"/conversations/{GROUP_ID}"),
            "conversation_get_group",
            CONVERSATIONS,
        ),
        (
            lambda api: api.get_messages(PHONE_ID),
            ("GET", f"/conversations/{PHONE_ID}/messages"),
            "messages_nested",
            CONVERSATIONS,
        ),
        (
            lambda api: api.send_message(PHONE_ID, "Hi", contact_id="c1"),
            ("POST", "/conversations/messages"),
            "send_message",
            CONVERSATIONS,
        ),
        (
            lambda api: api.search_contacts("doe"),
            ("POST", "/contacts/search"),
            "contacts_search",
            OTHERS,
        ),
        (lambda api: api.teammates(), ("GET", "/users/search"), "users_search_page2", OTHERS),
        (
            lambda api: api.phone_numbers(),
            ("GET", f"/phone-system/numbers/location/{LOCATION}"),
            "phone_numbers",
            OTHERS,
        ),
    ],
)
async def test_each_area_gets_its_version_header_and_the_bearer_token(
    call, route, answer, version, connect
):
    server = LeadConnector({route: [answer]})
    async with connect(server) as api:
        await call(api)
    assert server.requests
    for request in server.requests:
        assert (request.method, request.url.path) == route
        assert request.url.scheme == "https"
        assert request.url.host == "services.leadconnectorhq.com"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Version"] == version
        assert request.headers["Accept"] == "application/json"


# --- conversations -----------------------------------------------------------------------


async def test_conversations_page_by_start_after_date_across_pages(connect):
    server = LeadConnector(
        {
            ("GET", "/conversations/search"): [
                "conversations_search_page1",
                "conversations_search_page2",
            ]
        }
    )
    async with connect(server) as api:
        rows = [row async for row in api.iter_conversations(page_size=2)]
    assert [r.id for r in rows] == [GROUP_ID, PHONE_ID, "p1mRSHeLDhAms5q0LMr4"]
    first, second = server.requests
    assert first.url.params["locationId"] == LOCATION
    assert first.url.params["limit"] == "2"
    assert first.url.params["status"] == "all"
    assert "startAfterDate" not in first.url.params
    # The next page starts after the sort value (lastMessageDate, ms) of the last row.
    assert second.url.params["startAfterDate"] == "1700000200000"
    # The numeric-string date of the documented example is read as milliseconds.
    assert rows[2].last_message_date == 1628008053263


async def test_rows_are_named_after_their_contact_as_leadconnector_has_no_name(connect):
    server = LeadConnector(
        {
            ("GET", "/conversations/search"): [
                "conversations_search_page1",
                "conversations_search_page2",
            ]
        }
    )
    async with connect(server) as api:
        rows = [row async for row in api.iter_conversations(page_size=2)]
    assert rows[1].name == "John Doe"  # fullName
    assert rows[2].name == "Jane Roe"  # contactName when fullName is empty
    assert rows[1].contact_id == "9VEmS0si86GW6gXWU89b"
    assert rows[1].unread_count == 0 and rows[0].unread_count == 2


async def test_group_sms_conversations_are_listed_and_readable(connect):
    server = LeadConnector(
        {
            ("GET", "/conversations/search"): ["conversations_search_page1"],
            ("GET", f"/conversations/{GROUP_ID}"): ["conversation_get_group"],
        }
    )
    async with connect(server) as api:
        page = await api.search_conversations()
        listed = page.conversations[0]
        conversation = await api.get_conversation(GROUP_ID)
    assert listed.type is ConversationType.GROUP_SMS and listed.is_group
    assert page.total == 3
    # GET answers unwrapped with the numeric type: 5 is Group SMS.
    assert conversation.id == GROUP_ID
    assert conversation.type is ConversationType.GROUP_SMS
    assert conversation.unread_count == 2
    # LeadConnector names no members: an empty list, never a crash.
    assert conversation.participants == []


async def test_one_to_one_conversation_reads_as_phone(connect):
    server = LeadConnector({("GET", f"/conversations/{PHONE_ID}"): ["conversation_get_phone"]})
    async with connect(server) as api:
        conversation = await api.get_conversation(PHONE_ID)
    assert conversation.type is ConversationType.PHONE
    assert conversation.contact_id == "9VEmS0si86GW6gXWU89b"


async def test_marking_read_names_the_location_leadconnector_requires(connect):
    server = LeadConnector({("PUT", f"/conversations/{PHONE_ID}"): ["conversation_get_phone"]})
    async with connect(server) as api:
        await api.mark_read(PHONE_ID)
    assert body_of(server.requests[0]) == {"unreadCount": 0, "locationId": LOCATION}


# --- messages ----------------------------------------------------------------------------


async def test_the_nested_messages_answer_is_read(connect):
    server = LeadConnector({("GET", f"/conversations/{PHONE_ID}/messages"): ["messages_nested"]})
    async with connect(server) as api:
        page = await api.get_messages(PHONE_ID, limit=3, last_message_id="older")
    request = server.requests[0]
    assert request.url.params["limit"] == "3"
    assert request.url.params["lastMessageId"] == "older"
    assert page.next_page is True
    assert page.last_message_id == "m3Hs8DQcTDf3MjRhwf77"
    newest, photo, scheduled = page.messages
    assert newest.date_added.year == 2024 and newest.date_added.tzinfo is not None
    assert newest.status is MessageStatus.DELIVERED
    assert newest.user_id == LOCATION
    assert newest.attachments == []  # absent in the answer
    assert photo.attachments == ["https://storage.googleapis.com/msgsndr/photo.jpg"]
    assert photo.message_type == "TYPE_SMS"
    # A status outside ours ("scheduled") is UNKNOWN, not a failure to read the page.
    assert scheduled.status is MessageStatus.UNKNOWN


async def test_the_documented_flat_messages_answer_is_read_too(connect):
    server = LeadConnector({("GET", f"/conversations/{PHONE_ID}/messages"): ["messages_flat"]})
    async with connect(server) as api:
        page = await api.get_messages(PHONE_ID)
    assert page.next_page is False
    assert [m.id for m in page.messages] == ["ve9EPM428h8vShlRW1KT"]
    assert page.messages[0].status is MessageStatus.UNKNOWN  # "connected"


async def test_one_to_one_sms_is_sent_with_contact_and_numbers(connect):
    server = LeadConnector({("POST", "/conversations/messages"): ["send_message"]})
    async with connect(server) as api:
        result = await api.send_message(
            PHONE_ID,
            "See you at 5",
            ["https://storage.googleapis.com/msgsndr/photo.jpg"],
            client_message_id="local-1",
            contact_id="9VEmS0si86GW6gXWU89b",
            from_number="+14155552671",
            to_number="+15550001234",
        )
    (request,) = server.requests
    # Only LeadConnector's documented fields: no conversationId, no clientMessageId (and
    # neither the subType nor the status its schema requires: docs/contract.md).
    assert body_of(request) == {
        "type": "SMS",
        "contactId": "9VEmS0si86GW6gXWU89b",
        "message": "See you at 5",
        "attachments": ["https://storage.googleapis.com/msgsndr/photo.jpg"],
        "fromNumber": "+14155552671",
        "toNumber": "+15550001234",
    }
    assert request.headers["Content-Type"] == "application/json"
    assert "Idempotency-Key" not in request.headers  # LeadConnector declares none
    assert result.message_id == "t22c6DQcTDf3MjRhwf77"
    # LeadConnector names the conversation it sent into.
    assert result.conversation_id == "ABCHkzuJQ8ZMd4Te84GK"
    assert result.status is MessageStatus.PENDING


async def test_a_send_by_conversation_finds_its_contact_once(connect):
    server = LeadConnector(
        {
            ("GET", f"/conversations/{PHONE_ID}"): ["conversation_get_phone"],
            ("POST", "/conversations/messages"): ["send_message"],
        }
    )
    async with connect(server) as api:
        # The outbox sends by conversation id only, as with the embedded backend.
        await api.send_message(PHONE_ID, "one")
        await api.send_message(PHONE_ID, "two")
    assert len(server.sent("GET", f"/conversations/{PHONE_ID}")) == 1
    posts = server.sent("POST", "/conversations/messages")
    assert [body_of(p)["contactId"] for p in posts] == ["9VEmS0si86GW6gXWU89b"] * 2
    assert [body_of(p)["message"] for p in posts] == ["one", "two"]


async def test_a_send_whose_answer_is_lost_is_not_repeated(connect, sleeps):
    # LeadConnector ignores Idempotency-Key, so a repeat could text the contact twice.
    lost = httpx.ReadError("connection reset")
    server = LeadConnector({("POST", "/conversations/messages"): [lost, "send_message"]})
    async with connect(server) as api:
        with pytest.raises(NetworkError):
            await api.send_message(PHONE_ID, "Hi", contact_id="c1")
    assert len(server.requests) == 1
    assert sleeps.delays == []


async def test_a_file_is_uploaded_with_leadconnectors_form_fields(connect):
    server = LeadConnector(
        {
            ("GET", f"/conversations/{PHONE_ID}"): ["conversation_get_phone"],
            ("POST", "/conversations/messages/upload"): ["upload"],
        }
    )
    async with connect(server) as api:
        url = await api.upload(PHONE_ID, "photo.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")
    assert url.endswith("/media/photo.jpg")
    (upload,) = server.sent("POST", "/conversations/messages/upload")
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["Version"] == CONVERSATIONS
    # Its documents declare no Idempotency-Key: a repeat at worst leaves an unused file.
    assert "Idempotency-Key" not in upload.headers
    fields = form_of(upload)
    assert fields["fileAttachment"] == ("photo.jpg", b"\xff\xd8\xff jpeg")
    assert fields["conversationId"] == (None, PHONE_ID.encode())
    assert fields["contactId"] == (None, b"9VEmS0si86GW6gXWU89b")
    assert fields["locationId"] == (None, LOCATION.encode())
    # A one-to-one conversation: not a group-SMS upload.
    assert "isGroupSms" not in fields


async def test_a_group_file_is_a_group_sms_upload_of_one_file(connect):
    server = LeadConnector(
        {
            ("GET", f"/conversations/{GROUP_ID}"): ["conversation_get_group"],
            ("POST", "/conversations/messages/upload"): ["upload_group"],
        }
    )
    async with connect(server) as api:
        url = await api.upload(GROUP_ID, "photo.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")
    # The URL is the answer; the Twilio media ids that come with it are read, not needed.
    assert url.endswith("/media/group-photo.jpg")
    (upload,) = server.sent("POST", "/conversations/messages/upload")
    fields = form_of(upload)
    assert fields["isGroupSms"] == (None, b"true")
    group_contact = json.loads((SHAPES / "conversation_get_group.json").read_text())["body"]
    assert fields["contactId"] == (None, group_contact["contactId"].encode())
    assert [name for name, (filename, _) in fields.items() if filename] == ["fileAttachment"]


async def test_an_upload_answer_naming_no_file_is_refused_with_its_media_ids(connect):
    def no_url(call: Call) -> httpx.Response:
        if call.operation_id == "get-conversation":
            return shape("conversation_get_phone")
        return json_response(200, {"uploadedFiles": {}, "twilioMediaSids": ["ME1"]})

    server = LeadConnector({})
    server.mock.answer = no_url
    async with connect(server) as api:
        with pytest.raises(MalformedResponseError) as caught:
            await api.upload(PHONE_ID, "photo.jpg", b"x", "image/jpeg")
    assert "names no uploaded file URL (Twilio media: ME1)" in str(caught.value)


# --- what the public API lacks -----------------------------------------------------------


async def _first_event(api: ApiClient) -> None:
    async for _ in api.stream_events():
        break


@pytest.mark.parametrize(
    ("call", "sentence"),
    [
        (
            lambda api: api.create_group("contacts", "+14155552671", ["c1", "c2"]),
            "This backend can't create group chats.",
        ),
        (
            lambda api: api.participants(GROUP_ID),
            "This backend can't list the members of group chats.",
        ),
        (lambda api: api.events(), "This backend can't receive live updates."),
        (_first_event, "This backend can't receive live updates."),
        (lambda api: api.me(), "This backend can't tell who is signed in."),
        (
            lambda api: api.sandbox_inbound("+15550001234", ["+14155552671"], "hi"),
            "This backend can't simulate incoming texts.",
        ),
    ],
)
async def test_missing_features_are_refused_before_anything_is_sent(call, sentence, connect):
    server = LeadConnector({})
    async with connect(server) as api:
        with pytest.raises(UnsupportedFeatureError) as caught:
            await call(api)
    assert caught.value.user_message == sentence
    assert server.requests == []


async def test_a_send_into_a_group_is_refused_and_nothing_is_sent(connect):
    server = LeadConnector({("GET", f"/conversations/{GROUP_ID}"): ["conversation_get_group"]})
    async with connect(server) as api:
        with pytest.raises(UnsupportedFeatureError) as caught:
            await api.send_message(GROUP_ID, "Hello all")
    assert caught.value.user_message == "This backend can't send messages into group chats."
    assert caught.value.retryable is False
    # Its send has no group or conversation field: sending to the group's contact would
    # text one member privately, so nothing is sent.
    assert server.sent("POST", "/conversations/messages") == []


async def test_the_feature_flags_say_what_leadconnector_lacks(connect):
    async with connect(LeadConnector({})) as api:
        assert api.leadconnector
        assert not api.supports_groups
        assert not api.supports_events
        assert not api.supports_streaming


# --- contacts, teammates, numbers ---------------------------------------------------------


async def test_contacts_search_reads_leadconnector_contacts(connect):
    server = LeadConnector({("POST", "/contacts/search"): ["contacts_search"]})
    async with connect(server) as api:
        page = await api.search_contacts("doe", page_limit=3, search_after=[1, "x"])
    assert body_of(server.requests[0]) == {
        "locationId": LOCATION,
        "query": "doe",
        "pageLimit": 3,
        "searchAfter": [1, "x"],
    }
    john, jane, max_ = page.contacts
    assert page.total == 3
    # Search rows carry only lower-case names.
    assert (john.first_name, john.last_name, john.display_name) == ("John", "Doe", "John Doe")
    assert not john.dnd and john.dnd_status is DndStatus.INACTIVE
    assert jane.dnd and jane.dnd_status is DndStatus.ACTIVE
    # The global "dnd" flag means every channel, SMS included.
    assert max_.dnd and max_.dnd_settings is None
    assert john.search_after == [1709294400000, "9VEmS0si86GW6gXWU89b"]
    assert john.assigned_to == LOCATION


async def test_contact_pages_continue_from_the_last_search_after(connect):
    server = LeadConnector(
        {("POST", "/contacts/search"): ["contacts_search", "contacts_search_end"]}
    )
    async with connect(server) as api:
        contacts = [c async for c in api.iter_contacts("", page_limit=3)]
    assert len(contacts) == 3
    first, second = server.requests
    assert "searchAfter" not in body_of(first)
    assert body_of(second)["searchAfter"] == [1709294200000, "ocQHyuzHvysMo5N5VsXc"]


async def test_teammates_come_from_the_user_search_page_by_page(connect):
    server = LeadConnector({("GET", "/users/search"): ["users_search_page1", "users_search_page2"]})
    async with connect(server) as api:
        admin, staff, third = await api.teammates()
    first, second = (dict(r.url.params) for r in server.requests)
    # /users/ is deprecated; its replacement wants the company as well as the location.
    assert first == {"companyId": COMPANY, "locationId": LOCATION, "skip": "0", "limit": "100"}
    assert second["skip"] == "2"
    assert admin.roles.role is UserRole.ADMIN and admin.is_admin
    assert staff.assigned_data_only and staff.phone is None
    assert staff.display_name == "Sam Staff"
    assert third.id == "p1mRSHeLDhAms5q0LMr4"


async def test_teammates_without_a_company_id_are_refused_before_asking(connect):
    server = LeadConnector({("GET", "/users/search"): ["users_search_page1"]})
    async with connect(server, company_id=None) as api:
        with pytest.raises(UnsupportedFeatureError) as caught:
            await api.teammates()
    assert caught.value.user_message == "This backend can't list teammates."
    assert server.requests == []


async def test_business_numbers_are_read_from_the_paged_list(connect):
    server = LeadConnector(
        {("GET", f"/phone-system/numbers/location/{LOCATION}"): ["phone_numbers"]}
    )
    async with connect(server) as api:
        sales, toll_free = await api.phone_numbers()
    # Its pages hold 50 numbers by default; ask for the documented maximum.
    assert server.requests[0].url.params["pageSize"] == "1000"
    assert sales.is_group_conversation_enabled and sales.capabilities.mms
    assert sales.linked_user == "fGiae4CHkzoskh8thsik"
    assert sales.linked_ring_all_users == ["user_123", "user_456"]
    assert toll_free.friendly_name == "" and toll_free.linked_user is None
    assert not toll_free.is_group_conversation_enabled and not toll_free.capabilities.mms


# --- errors and rate limits ---------------------------------------------------------------


async def test_rate_limit_headers_are_parsed(connect):
    server = LeadConnector({("GET", "/conversations/search"): ["conversations_search_page1"]})
    async with connect(server) as api:
        assert api.rate_limit is None
        await api.search_conversations()
    limit = api.rate_limit
    assert limit is not None
    assert (limit.limit, limit.remaining, limit.interval_ms) == (100, 97, 10_000)
    assert (limit.daily_limit, limit.daily_remaining) == (200_000, 199_421)


async def test_a_429_waits_one_burst_interval_then_succeeds(connect, sleeps):
    server = LeadConnector(
        {("GET", "/conversations/search"): ["error_429", "conversations_search_page1"]}
    )
    async with connect(server) as api:
        page = await api.search_conversations()
    assert len(page.conversations) == 2
    # No Retry-After is documented: wait X-RateLimit-Interval-Milliseconds.
    assert sleeps.delays == [10.0]
    assert len(server.requests) == 2


@pytest.mark.parametrize("answer", ["error_401_invalid_jwt", "error_401_documented"])
async def test_a_rejected_token_asks_the_user_to_sign_in_again(answer, connect, sleeps):
    server = LeadConnector({("GET", "/conversations/search"): [answer]})
    async with connect(server) as api:
        with pytest.raises(AuthError) as caught:
            await api.search_conversations()
    error = caught.value
    assert error.status_code == 401
    assert "sign in again" in error.user_message
    assert TOKEN not in str(error) and TOKEN not in error.user_message
    assert len(server.requests) == 1 and sleeps.delays == []


async def test_a_422_lists_every_message(connect):
    server = LeadConnector({("POST", "/conversations/messages"): ["error_422"]})
    async with connect(server) as api:
        with pytest.raises(ValidationError) as caught:
            await api.send_message(PHONE_ID, "Hi", contact_id="c1")
    assert caught.value.messages == [
        "contactId must be a string",
        "type must be one of SMS, Email",
    ]


# --- transport security -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://services.leadconnectorhq.com", "http://services.leadconnectorhq.com:80/"]
)
def test_plain_http_to_leadconnector_is_refused(url):
    with pytest.raises(InsecureUrlError) as caught:
        ApiClient(url, TOKEN, location_id=LOCATION)
    assert "https://" in caught.value.user_message


async def test_tls_verification_is_on_for_leadconnector():
    assert "verify" not in inspect.signature(ApiClient).parameters
    api = ApiClient(LC, TOKEN, location_id=LOCATION)
    try:
        assert api.leadconnector
        pool = api._http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode is ssl.CERT_REQUIRED
        assert pool._ssl_context.check_hostname is True
    finally:
        await api.aclose()
