"""The client's requests and answers on the wire: headers, paging, idempotency, upload, events."""

from __future__ import annotations

import inspect
import json
import ssl
import uuid

import httpx
import pytest

from services.api import ApiClient, InsecureUrlError, UnsupportedFeatureError, errors
from services.models import ConversationType, EventType, GroupKind, MessageStatus
from tests.services.api.conftest import BASE, TOKEN, FakeServer, ok, problem

pytestmark = pytest.mark.anyio

ME = {"user": {"id": "u1", "name": "Ann", "locationId": "loc_me"}}


def summary(n: int, date: int) -> dict[str, object]:
    return {"id": f"conv{n}", "type": "TYPE_GROUP_SMS", "lastMessageDate": date}


def message(n: int) -> dict[str, object]:
    return {
        "id": f"m{n}",
        "conversationId": "conv1",
        "direction": "outbound",
        "body": f"text {n}",
        "dateAdded": "2026-01-01T00:00:00Z",
        "status": "delivered",
    }


# --- headers and base URL ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "path", "version"),
    [
        (lambda api: api.me(), "/users/me", "2021-07-28"),
        (lambda api: api.get_contact("c1"), "/contacts/c1", "2021-07-28"),
        (lambda api: api.get_conversation("conv1"), "/conversations/conv1", "2021-04-15"),
    ],
)
async def test_every_request_carries_auth_and_the_areas_version(call, path, version, make_client):
    server = FakeServer(
        ok({"user": {"id": "u1"}, "contact": {"id": "c1"}, "conversation": {"id": "conv1"}})
    )
    async with make_client(server) as api:
        await call(api)
    request = server.last
    assert request.url.path == path
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Version"] == version
    assert request.headers["Accept"] == "application/json"


async def test_phone_numbers_use_the_newer_version_and_the_location(make_client):
    numbers = {"numbers": [{"phoneNumber": "+14155550100", "isGroupConversationEnabled": True}]}
    server = FakeServer(ok(numbers))
    async with make_client(server) as api:
        result = await api.phone_numbers()
    assert result[0].is_group_conversation_enabled
    assert server.last.url.path == "/phone-system/numbers/location/loc_1"
    assert server.last.headers["Version"] == "2021-07-28"


async def test_location_defaults_to_the_users_own_and_is_asked_once(make_client):
    server = FakeServer(ok(ME), ok({"users": [{"id": "u2"}]}))
    async with make_client(server, location_id=None) as api:
        await api.teammates()
        await api.teammates()
    paths = [r.url.path for r in server.requests]
    assert paths == ["/users/me", "/users/", "/users/"]
    assert server.last.url.params["locationId"] == "loc_me"


async def test_set_token_replaces_the_token(make_client):
    server = FakeServer(ok(ME))
    async with make_client(server) as api:
        api.set_token("new-token")
        await api.me()
    assert server.last.headers["Authorization"] == "Bearer new-token"


async def test_tls_verification_cannot_be_turned_off():
    assert "verify" not in inspect.signature(ApiClient).parameters
    api = ApiClient(BASE, TOKEN)
    pool = api._http._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode is ssl.CERT_REQUIRED
    await api.aclose()


@pytest.mark.parametrize("bad", ["tøken", "tok\nen", "tok\ten"])
def test_a_token_no_server_issued_is_an_auth_error(bad):
    with pytest.raises(errors.AuthError):
        ApiClient(BASE, bad)


async def test_pasted_token_blanks_are_trimmed(make_client):
    server = FakeServer(ok(ME))
    async with make_client(server) as api:
        api.set_token("  abc \n")
        await api.me()
    assert server.last.headers["Authorization"] == "Bearer abc"


async def test_repr_never_shows_the_token(make_client):
    async with make_client(FakeServer(ok(ME))) as api:
        assert TOKEN not in repr(api)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com",
        "http://localhost:8000",
        "http://127.0.0.1:9000",
        "http://[::1]:80",
    ],
)
async def test_allowed_base_urls(url):
    api = ApiClient(url, TOKEN)
    await api.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://192.168.1.20:8000",
        "ftp://api.example.com",
        "api.example.com",
        "https://user:pw@api.example.com",
        "",
    ],
)
def test_insecure_or_invalid_base_urls_are_refused(url):
    with pytest.raises(InsecureUrlError) as caught:
        ApiClient(url, TOKEN)
    assert caught.value.user_message


async def _tiny_asgi_app(scope, receive, send):
    body = json.dumps({"user": {"id": "u1"}}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_plain_http_to_any_name_is_fine_in_process():
    # The embedded backend runs behind an ASGI transport: nothing crosses a network.
    transport = httpx.ASGITransport(app=_tiny_asgi_app)
    async with ApiClient("http://embedded.invalid", TOKEN, transport=transport) as api:
        assert (await api.me()).id == "u1"
        assert await api.download("http://embedded.invalid/media/x") == b'{"user": {"id": "u1"}}'


async def _crashing_asgi_app(scope, receive, send):
    raise RuntimeError("bug in the backend")


async def test_an_embedded_backend_crash_is_a_server_error():
    transport = httpx.ASGITransport(app=_crashing_asgi_app)
    async with ApiClient("http://embedded.invalid", TOKEN, transport=transport) as api:
        api.retry = api.retry.never()
        with pytest.raises(errors.ServerError, match="RuntimeError"):
            await api.me()


async def test_stream_events_in_process_asks_for_long_poll_instead():
    transport = httpx.ASGITransport(app=_tiny_asgi_app)
    async with ApiClient("http://embedded.invalid", TOKEN, transport=transport) as api:
        assert api.supports_events
        assert api.in_process
        assert not api.supports_streaming
        with pytest.raises(UnsupportedFeatureError):
            [e async for e in api.stream_events()]


def test_plain_http_to_a_name_is_refused_on_the_network():
    with pytest.raises(InsecureUrlError):
        ApiClient("http://embedded.invalid", TOKEN)


# --- reads -----------------------------------------------------------------------------


async def test_get_conversation_reads_the_wrapped_contract_answer(make_client):
    conv = {
        "id": "g1",
        "type": "TYPE_GROUP_SMS",
        "kind": "contacts",
        "participants": [
            {
                "id": "p1",
                "contactId": "c1",
                "name": "Ann",
                "phone": "+14155550101",
                "tags": ["updated"],
            }
        ],
    }
    async with make_client(FakeServer(ok({"conversation": conv}))) as api:
        result = await api.get_conversation("g1")
    assert result.kind is GroupKind.CONTACTS
    assert result.participants[0].updated


async def test_get_conversation_reads_leadconnectors_unwrapped_numeric_type(make_client):
    lc = {"id": "g1", "type": 5, "locationId": "loc_1", "unreadCount": 2, "deleted": False}
    async with make_client(FakeServer(ok(lc))) as api:
        result = await api.get_conversation("g1")
    assert result.type is ConversationType.GROUP_SMS
    assert result.unread_count == 2


async def test_not_found_contact(make_client):
    async with make_client(FakeServer(problem(404, "Contact not found"))) as api:
        with pytest.raises(errors.NotFoundError):
            await api.get_contact("gone")


async def test_rate_limit_headers_are_recorded(make_client):
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "97",
        "X-RateLimit-Interval-Milliseconds": "10000",
    }
    async with make_client(FakeServer(ok(ME, **headers))) as api:
        assert api.rate_limit is None
        await api.me()
        assert api.rate_limit is not None
        assert (api.rate_limit.limit, api.rate_limit.remaining) == (100, 97)
        assert api.rate_limit.interval_ms == 10000


async def test_search_conversations_sends_only_given_params(make_client):
    server = FakeServer(ok({"conversations": [summary(1, 5)], "total": 1}))
    async with make_client(server) as api:
        page = await api.search_conversations(limit=5, status="unread")
    assert page.total == 1
    assert dict(server.last.url.params) == {"locationId": "loc_1", "limit": "5", "status": "unread"}


# --- paging ----------------------------------------------------------------------------


async def test_iter_conversations_pages_by_date_and_id(make_client):
    server = FakeServer(
        ok({"conversations": [summary(1, 300), summary(2, 200)], "total": 3}),
        ok({"conversations": [summary(3, 200)], "total": 3}),
    )
    async with make_client(server) as api:
        ids = [c.id async for c in api.iter_conversations(page_size=2)]
    assert ids == ["conv1", "conv2", "conv3"]
    second = server.requests[1].url.params
    assert (second["startAfterDate"], second["startAfterId"]) == ("200", "conv2")
    assert "startAfterDate" not in server.requests[0].url.params


async def test_iter_conversations_stops_when_the_server_repeats_a_page(make_client):
    server = FakeServer(ok({"conversations": [summary(1, 300), summary(2, 200)], "total": 9}))
    async with make_client(server) as api:
        ids = [c.id async for c in api.iter_conversations(page_size=2)]
    assert ids == ["conv1", "conv2", "conv1", "conv2"]
    assert len(server.requests) == 2


async def test_iter_messages_follows_last_message_id_while_next_page(make_client):
    server = FakeServer(
        ok(
            {
                "messages": {
                    "lastMessageId": "m2",
                    "nextPage": True,
                    "messages": [message(3), message(2)],
                }
            }
        ),
        ok({"messages": {"lastMessageId": "m1", "nextPage": False, "messages": [message(1)]}}),
    )
    async with make_client(server) as api:
        ids = [m.id async for m in api.iter_messages("conv1", page_size=2)]
    assert ids == ["m3", "m2", "m1"]
    assert "lastMessageId" not in server.requests[0].url.params
    assert server.requests[1].url.params["lastMessageId"] == "m2"
    assert server.requests[1].url.path == "/conversations/conv1/messages"


async def test_get_messages_reads_the_nested_answer(make_client):
    nested = {"messages": {"lastMessageId": "m1", "nextPage": False, "messages": [message(1)]}}
    async with make_client(FakeServer(ok(nested))) as api:
        page = await api.get_messages("conv1")
    assert page.messages[0].status is MessageStatus.DELIVERED
    assert page.last_message_id == "m1"


async def test_iter_contacts_sends_search_after_back(make_client):
    first = [{"id": "c1", "searchAfter": [1, "c1"]}, {"id": "c2", "searchAfter": [2, "c2"]}]
    server = FakeServer(
        ok({"contacts": first, "total": 3}),
        ok({"contacts": [{"id": "c3", "searchAfter": [3, "c3"]}], "total": 3}),
    )
    async with make_client(server) as api:
        ids = [c.id async for c in api.iter_contacts("an", page_limit=2)]
    assert ids == ["c1", "c2", "c3"]
    bodies = [json.loads(r.content) for r in server.requests]
    assert bodies[0] == {"locationId": "loc_1", "query": "an", "pageLimit": 2}
    assert bodies[1]["searchAfter"] == [2, "c2"]
    assert server.requests[0].headers["Version"] == "2021-07-28"


# --- writes ----------------------------------------------------------------------------


async def test_create_group_body_and_a_fresh_idempotency_key(make_client):
    server = FakeServer(ok({"conversation": {"id": "g1", "type": "TYPE_GROUP_SMS"}}, 201))
    async with make_client(server) as api:
        await api.create_group("contacts", "+14155550100", ["c1", "c2"], ["u2"], name="Crew")
        await api.create_group(GroupKind.TEAMMATES, "+14155550100", user_ids=["u2", "u3"])
    first, second = server.requests
    assert json.loads(first.content) == {
        "locationId": "loc_1",
        "kind": "contacts",
        "fromNumber": "+14155550100",
        "participants": [{"contactId": "c1"}, {"contactId": "c2"}, {"userId": "u2"}],
        "name": "Crew",
    }
    assert json.loads(second.content)["kind"] == "teammates"
    keys = [r.headers["Idempotency-Key"] for r in server.requests]
    assert keys[0] != keys[1]
    assert all(uuid.UUID(k) for k in keys)


async def test_create_group_uses_the_given_idempotency_key(make_client):
    server = FakeServer(ok({"conversation": {"id": "g1"}}, 201))
    async with make_client(server) as api:
        await api.create_group("contacts", "+14155550100", ["c1", "c2"], idempotency_key="draft-7")
    assert server.last.headers["Idempotency-Key"] == "draft-7"


async def test_send_message_body(make_client):
    server = FakeServer(ok({"conversationId": "conv1", "messageId": "m9", "status": "queued"}, 201))
    async with make_client(server) as api:
        result = await api.send_message(
            "conv1", "hi all", ["https://x/a.png"], client_message_id="cm-1"
        )
    assert result.status is MessageStatus.QUEUED
    assert json.loads(server.last.content) == {
        "type": "SMS",
        "conversationId": "conv1",
        "message": "hi all",
        "attachments": ["https://x/a.png"],
        "clientMessageId": "cm-1",
    }
    assert server.last.headers["Idempotency-Key"] == "cm-1"


async def test_send_message_generates_a_client_message_id(make_client):
    server = FakeServer(ok({"conversationId": "conv1", "messageId": "m9"}, 201))
    async with make_client(server) as api:
        await api.send_message("conv1", "a")
        await api.send_message("conv1", "b")
    ids = [json.loads(r.content)["clientMessageId"] for r in server.requests]
    assert ids[0] != ids[1]
    assert all(uuid.UUID(i) for i in ids)


async def test_send_message_passes_leadconnectors_one_to_one_fields(make_client):
    server = FakeServer(ok({"conversationId": "conv1", "messageId": "m9"}, 201))
    async with make_client(server) as api:
        await api.send_message(
            "conv1", "hi", contact_id="c1", from_number="+14155550100", to_number="+14155550101"
        )
    body = json.loads(server.last.content)
    assert (body["contactId"], body["fromNumber"], body["toNumber"]) == (
        "c1",
        "+14155550100",
        "+14155550101",
    )


async def test_mark_read_puts_unread_zero(make_client):
    server = FakeServer(ok({"success": True}))
    async with make_client(server) as api:
        await api.mark_read("conv1")
    assert server.last.method == "PUT"
    assert json.loads(server.last.content) == {"unreadCount": 0}


async def test_update_contact_sends_camel_case_patch(make_client):
    server = FakeServer(ok({"contact": {"id": "c1", "firstName": "Bo"}}))
    async with make_client(server) as api:
        contact = await api.update_contact("c1", first_name="Bo", phone="+14155550102")
    assert contact.first_name == "Bo"
    assert server.last.method == "PATCH"
    assert json.loads(server.last.content) == {"firstName": "Bo", "phone": "+14155550102"}


async def test_delete_contact(make_client):
    server = FakeServer(ok({"succeded": True}))
    async with make_client(server) as api:
        await api.delete_contact("c1")
    assert (server.last.method, server.last.url.path) == ("DELETE", "/contacts/c1")


async def test_sandbox_controls(make_client):
    server = FakeServer(ok({"ok": True}))
    async with make_client(server) as api:
        await api.sandbox_inbound("+14155550101", ["+14155550100"], "STOP", ["https://x/a.png"])
        inbound = json.loads(server.last.content)
        await api.sandbox_carrier(latency_ms=0, fail_rate=0.5)
        carrier = json.loads(server.last.content)
    assert inbound == {
        "from": "+14155550101",
        "to": ["+14155550100"],
        "body": "STOP",
        "mediaUrls": ["https://x/a.png"],
    }
    assert carrier == {"latencyMs": 0, "failRate": 0.5}


# --- upload and download ---------------------------------------------------------------


async def test_upload_is_multipart_with_the_group_fields(make_client):
    server = FakeServer(ok({"uploadedFiles": {"photo.png": "https://files.test/abc"}}))
    async with make_client(server) as api:
        url = await api.upload("conv1", "photo.png", b"\x89PNG data", "image/png")
    assert url == "https://files.test/abc"
    request = server.last
    assert request.url.path == "/conversations/messages/upload"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'name="fileAttachment"; filename="photo.png"' in body
    assert b"Content-Type: image/png\r\n\r\n\x89PNG data" in body
    assert b'name="conversationId"\r\n\r\nconv1' in body
    assert b'name="isGroupSms"\r\n\r\ntrue' in body
    assert body.count(b'name="fileAttachment"') == 1


class ChunkCountingTransport(httpx.AsyncBaseTransport):
    """Reads the request body chunk by chunk, noting how much progress was reported meanwhile."""

    def __init__(self, progress: list[tuple[int, int]]) -> None:
        self.progress = progress
        self.reported_while_sending: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async for _chunk in request.stream:  # type: ignore[union-attr]
            self.reported_while_sending.append(self.progress[-1][0])
        return httpx.Response(200, json={"uploadedFiles": {"f.pdf": "https://files.test/f"}})


async def test_upload_progress_follows_the_bytes_as_they_leave():
    progress: list[tuple[int, int]] = []
    transport = ChunkCountingTransport(progress)
    data = b"%PDF" + b"x" * 300_000
    async with ApiClient(BASE, TOKEN, transport=transport) as api:
        await api.upload(
            "conv1",
            "f.pdf",
            data,
            "application/pdf",
            on_progress=lambda s, t: progress.append((s, t)),
        )
    total = progress[-1][1]
    assert total > len(data)
    assert progress[0] == (0, total)
    assert progress[-1] == (total, total)
    sent = [s for s, _ in progress]
    assert sent == sorted(sent)
    # Each chunk was being sent while progress still stood before it: real, not faked up front.
    assert len(transport.reported_while_sending) > 3
    assert transport.reported_while_sending == sent[:-1]


async def test_upload_answer_without_a_url_is_malformed(make_client):
    async with make_client(FakeServer(ok({"uploadedFiles": {}}))) as api:
        with pytest.raises(errors.MalformedResponseError):
            await api.upload("conv1", "a.png", b"x", "image/png")


@pytest.mark.parametrize(
    ("status", "cls"), [(413, errors.TooLargeError), (415, errors.UnsupportedTypeError)]
)
async def test_upload_refusals(status, cls, make_client):
    async with make_client(FakeServer(problem(status, "no"))) as api:
        with pytest.raises(cls):
            await api.upload("conv1", "a.png", b"x", "image/png")


async def test_download_sends_the_token_only_to_the_backend_itself(make_client):
    server = FakeServer(httpx.Response(200, content=b"bytes"))
    async with make_client(server) as api:
        assert await api.download("/media/abc") == b"bytes"
        own = server.last
        assert await api.download("https://cdn.example.com/abc") == b"bytes"
        foreign = server.last
    assert own.url == httpx.URL(f"{BASE}/media/abc")
    assert own.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in foreign.headers


async def test_download_refuses_plain_http_to_a_remote_host(make_client):
    server = FakeServer(httpx.Response(200, content=b"bytes"))
    async with make_client(server) as api:
        with pytest.raises(InsecureUrlError):
            await api.download("http://cdn.example.com/abc")
    assert server.requests == []


# --- live updates ----------------------------------------------------------------------


async def test_events_long_poll(make_client):
    batch = {
        "events": [
            {
                "id": "7",
                "type": "MessageCreated",
                "dateAdded": "2026-01-01T00:00:00Z",
                "data": {"x": 1},
            },
            {"id": "8", "type": "SomethingNew", "data": {}},
        ],
        "cursor": "8",
    }
    server = FakeServer(ok(batch))
    async with make_client(server) as api:
        result = await api.events(after="6", wait=99)
    assert [e.type for e in result.events] == [EventType.MESSAGE_CREATED, EventType.UNKNOWN]
    assert result.cursor == "8"
    assert dict(server.last.url.params) == {"after": "6", "wait": "30"}
    assert server.last.headers["Accept"] == "application/json"
    # The read timeout outlasts the server's wait.
    assert server.last.extensions["timeout"]["read"] > 30


SSE_BODY = (
    ": keep-alive\n\n"
    "id: 11\nevent: MessageCreated\n"
    'data: {"id": "11", "type": "MessageCreated", "data": {"a": 1}}\n\n'
    ": keep-alive\n\n"
    'id: 12\nevent: ContactDeleted\ndata: {"contactId": "c9"}\n\n'
    'id: 13\nevent: BrandNewThing\ndata: {"z": true}\n\n'
)


async def test_stream_events_decodes_frames_and_skips_keep_alives(make_client):
    reply = httpx.Response(200, text=SSE_BODY, headers={"Content-Type": "text/event-stream"})
    server = FakeServer(reply)
    async with make_client(server) as api:
        events = [e async for e in api.stream_events(after="10")]
    assert [(e.id, e.type) for e in events] == [
        ("11", EventType.MESSAGE_CREATED),
        ("12", EventType.CONTACT_DELETED),
        ("13", EventType.UNKNOWN),
    ]
    assert events[1].data == {"contactId": "c9"}
    assert server.last.headers["Accept"] == "text/event-stream"
    assert server.last.url.params["after"] == "10"


async def test_stream_events_error_status_maps(make_client):
    async with make_client(FakeServer(problem(401, "Invalid JWT"))) as api:
        with pytest.raises(errors.AuthError):
            [e async for e in api.stream_events()]


async def test_stream_events_from_a_backend_that_does_not_stream(make_client):
    async with make_client(FakeServer(ok({"events": []}))) as api:
        with pytest.raises(UnsupportedFeatureError):
            [e async for e in api.stream_events()]


async def test_stream_events_dropped_connection(make_client):
    async with make_client(FakeServer(httpx.RemoteProtocolError("peer closed"))) as api:
        with pytest.raises(errors.NetworkError):
            [e async for e in api.stream_events()]


# --- LeadConnector: extensions are explained, never attempted ---------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.create_group("contacts", "+14155550100", ["c1", "c2"]),
        lambda api: api.events(),
        lambda api: api.me(),
        lambda api: api.sandbox_inbound("+14155550101", ["+14155550100"], "hi"),
        lambda api: api.sandbox_carrier(latency_ms=1),
    ],
)
async def test_leadconnector_lacks_the_extensions(call, make_client):
    server = FakeServer(ok({}))
    async with make_client(server, base_url="https://services.leadconnectorhq.com") as api:
        with pytest.raises(UnsupportedFeatureError) as caught:
            await call(api)
    assert caught.value.user_message.startswith("This backend can't ")
    assert server.requests == []


async def test_capabilities_tell_the_ui_before_it_tries(make_client):
    async with make_client(
        FakeServer(ok({})), base_url="https://services.leadconnectorhq.com"
    ) as lc:
        assert not lc.supports_groups
        assert not lc.supports_events
    async with make_client(FakeServer(ok({}))) as ours:
        assert ours.supports_groups
        assert ours.supports_events
        assert ours.supports_streaming
        assert not ours.in_process


async def test_leadconnector_contact_update_uses_put(make_client):
    server = FakeServer(ok({"contact": {"id": "c1"}}))
    async with make_client(server, base_url="https://services.leadconnectorhq.com") as api:
        await api.update_contact("c1", first_name="Bo")
    assert server.last.method == "PUT"
