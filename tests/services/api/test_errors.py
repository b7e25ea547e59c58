"""Every error status and transport failure maps to its class in the one hierarchy."""

from __future__ import annotations

import email.utils
import time

import httpx
import pydantic
import pytest

from services.api import RetryPolicy, errors
from services.api.responses import parse_retry_after
from tests.services.api.conftest import TOKEN, FakeServer, ok, problem

pytestmark = pytest.mark.anyio

STATUS_CLASSES = [
    (400, errors.BadRequestError),
    (401, errors.AuthError),
    (403, errors.ForbiddenError),
    (404, errors.NotFoundError),
    (409, errors.ConflictError),
    (413, errors.TooLargeError),
    (415, errors.UnsupportedTypeError),
    (418, errors.BadRequestError),
    (422, errors.ValidationError),
    (429, errors.RateLimitedError),
    (500, errors.ServerError),
    (502, errors.ServerError),
    (503, errors.ServerError),
    (504, errors.ServerError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_error_status_maps_to_its_class(status, cls, make_client):
    server = FakeServer(problem(status, "Nope."))
    async with make_client(server, retry=errors_only_once()) as api:
        with pytest.raises(cls) as caught:
            await api.get_contact("c1")
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, errors.ResponseError)
    assert error.status_code == status
    assert error.server_message == "Nope."
    assert error.user_message.endswith(".")
    assert TOKEN not in str(error)
    assert TOKEN not in error.user_message


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
    ],
)
async def test_connection_failures_are_network_errors(exc, make_client):
    async with make_client(FakeServer(exc), retry=errors_only_once()) as api:
        with pytest.raises(errors.NetworkError) as caught:
            await api.me()
    assert type(caught.value) is errors.NetworkError
    assert "connection" in caught.value.user_message


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("slow connect"),
        httpx.ReadTimeout("slow read"),
        httpx.WriteTimeout("slow write"),
        httpx.PoolTimeout("pool full"),
    ],
)
async def test_timeouts_are_request_timeouts(exc, make_client):
    async with make_client(FakeServer(exc), retry=errors_only_once()) as api:
        with pytest.raises(errors.RequestTimeout) as caught:
            await api.me()
    # A timeout is a network failure too, so callers may catch both at once.
    assert isinstance(caught.value, errors.NetworkError)


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.RemoteProtocolError("dropped"), True),
    ],
)
async def test_network_errors_say_whether_the_request_left(exc, sent, make_client):
    async with make_client(FakeServer(exc), retry=errors_only_once()) as api:
        with pytest.raises(errors.NetworkError) as caught:
            await api.me()
    assert caught.value.request_sent is sent


async def test_validation_error_lists_every_message(make_client):
    messages = ["A group needs at least 2 people.", "Ann Lee has Do Not Disturb on."]
    async with make_client(FakeServer(problem(422, messages))) as api:
        with pytest.raises(errors.ValidationError) as caught:
            await api.create_group("contacts", "+14155550100", ["c1"])
    assert caught.value.messages == messages
    assert all(m in caught.value.user_message for m in messages)


async def test_validation_error_with_a_single_string_message(make_client):
    async with make_client(FakeServer(problem(422, "Name is too long."))) as api:
        with pytest.raises(errors.ValidationError) as caught:
            await api.create_group("contacts", "+14155550100", ["c1", "c2"])
    assert caught.value.messages == ["Name is too long."]
    assert caught.value.user_message == "Name is too long."


async def test_conflict_passes_on_the_servers_words(make_client):
    words = "Ann Lee has Do Not Disturb on, so this group can't receive messages."
    async with make_client(FakeServer(problem(409, words))) as api:
        with pytest.raises(errors.ConflictError) as caught:
            await api.send_message("conv1", "hi")
    assert caught.value.user_message == words


async def test_rate_limited_error_tells_how_long_to_wait(make_client):
    server = FakeServer(problem(429, "slow down", **{"Retry-After": "12"}))
    async with make_client(server, retry=errors_only_once()) as api:
        with pytest.raises(errors.RateLimitedError) as caught:
            await api.me()
    assert caught.value.retry_after == 12
    assert caught.value.user_message == "Too many requests right now. Try again in 12 seconds."


async def test_error_status_without_a_json_body_still_maps(make_client):
    page = httpx.Response(502, text="<html>Bad gateway</html>")
    async with make_client(FakeServer(page), retry=errors_only_once()) as api:
        with pytest.raises(errors.ServerError) as caught:
            await api.me()
    assert caught.value.status_code == 502
    assert caught.value.server_message == ""


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, content=b"\xff\xfe{"),
        httpx.Response(200, text='{"user": {"id": "u1"'),
        ok({"user": {"name": "no id"}}),
        ok({"user": {"id": ["not", "a", "string"]}}),
        ok(["a", "list"]),
    ],
)
async def test_malformed_answers_raise_malformed_response_error(reply, make_client):
    async with make_client(FakeServer(reply)) as api:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await api.me()
    assert not isinstance(caught.value, pydantic.ValidationError)
    # The pydantic traceback is not chained onto ours.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_missing_list_field_is_malformed(make_client):
    async with make_client(FakeServer(ok({"people": []}))) as api:
        with pytest.raises(errors.MalformedResponseError, match="users"):
            await api.teammates()


async def test_unexpected_redirect_is_malformed_not_followed(make_client):
    moved = httpx.Response(301, headers={"Location": "https://elsewhere.test/users/me"})
    server = FakeServer(moved)
    async with make_client(server) as api:
        with pytest.raises(errors.MalformedResponseError, match="redirect"):
            await api.me()
    assert len(server.requests) == 1


def test_unsupported_feature_names_the_feature():
    error = errors.UnsupportedFeatureError("create group chats")
    assert error.user_message == "This backend can't create group chats."
    assert error.feature == "create group chats"


def test_every_error_is_an_api_error_with_a_sentence():
    leaves = [
        errors.NetworkError(),
        errors.RequestTimeout(),
        errors.MalformedResponseError(),
        errors.UnsupportedFeatureError("x"),
        errors.InsecureUrlError(),
        errors.ValidationError(),
        errors.RateLimitedError(),
        errors.ConflictError(),
        errors.ServerError(),
    ]
    leaves += [cls(status_code=status) for status, cls in STATUS_CLASSES if status < 409]
    for error in leaves:
        assert isinstance(error, errors.ApiError)
        assert error.user_message[0].isupper()
        assert error.user_message.endswith(".")
        assert len(error.user_message) < 200


def test_insecure_url_error_is_a_value_error():
    assert issubclass(errors.InsecureUrlError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "sentence"),
    [
        (None, "Too many requests right now. Try again in a moment."),
        (1, "Too many requests right now. Try again in 1 second."),
        (0.2, "Too many requests right now. Try again in 1 second."),
        (12, "Too many requests right now. Try again in 12 seconds."),
    ],
)
def test_rate_limit_sentence(seconds, sentence):
    assert errors.RateLimitedError(retry_after=seconds).user_message == sentence


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("3", 3.0), ("1.5", 1.5), ("-4", 0.0), ("soon", None)],
)
def test_parse_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date():
    header = email.utils.formatdate(time.time() + 3600, usegmt=True)
    seconds = parse_retry_after(header)
    assert seconds is not None
    assert 3500 < seconds <= 3600


def errors_only_once() -> RetryPolicy:
    return RetryPolicy.never()
