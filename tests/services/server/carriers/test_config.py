"""Carrier settings come from the environment only, and say what is wrong without secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.server.carriers.base import CarrierError, ErrorKind
from services.server.carriers.config import (
    CarrierConfigError,
    make_carrier,
    retry_after,
    send_http,
    telnyx_settings,
    twilio_settings,
)
from tests.services.server.carriers import fake_telnyx, fake_twilio
from tests.services.server.carriers.support import PUBLIC_URL

pytestmark = pytest.mark.anyio

SECRETS = (fake_twilio.AUTH_TOKEN, fake_telnyx.API_KEY)


def test_twilio_settings_with_defaults_and_a_hidden_token() -> None:
    settings = twilio_settings(fake_twilio.ENV)
    assert settings.api_base == "https://conversations.twilio.com"
    assert settings.accounts_base == "https://api.twilio.com"
    assert settings.media_base == "https://mcs.us1.twilio.com"
    assert settings.auth_token.get_secret_value() == fake_twilio.AUTH_TOKEN
    assert fake_twilio.AUTH_TOKEN not in repr(settings) and fake_twilio.AUTH_TOKEN not in str(
        settings
    )


def test_telnyx_settings_with_defaults_and_a_hidden_key() -> None:
    settings = telnyx_settings(fake_telnyx.ENV)
    assert settings.api_base == "https://api.telnyx.com/v2"
    assert len(settings.public_key) == 32
    assert fake_telnyx.API_KEY not in repr(settings)


def test_base_urls_may_point_at_this_machine() -> None:
    env = {
        **fake_twilio.ENV,
        "TWILIO_API_BASE": "http://127.0.0.1:8123/",
        "TWILIO_ACCOUNTS_BASE": "http://localhost:8124",
        "TWILIO_MEDIA_BASE": "http://[::1]:8125",
    }
    settings = twilio_settings(env)
    assert settings.api_base == "http://127.0.0.1:8123"
    assert settings.accounts_base == "http://localhost:8124"


@pytest.mark.parametrize(
    ("reader", "env", "variable", "words"),
    [
        (twilio_settings, {"TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID", "is not set"),
        (twilio_settings, {"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID", "Account SID"),
        (twilio_settings, {"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN", "is not set"),
        (twilio_settings, {"TWILIO_AUTH_TOKEN": "ab cd"}, "TWILIO_AUTH_TOKEN", "spaces"),
        (
            twilio_settings,
            {"TWILIO_CONVERSATIONS_SERVICE_SID": "MG" + "0" * 32},
            "TWILIO_CONVERSATIONS_SERVICE_SID",
            "service SID",
        ),
        (
            twilio_settings,
            {"TWILIO_API_BASE": "http://conversations.twilio.com"},
            "TWILIO_API_BASE",
            "https",
        ),
        (
            twilio_settings,
            {"TWILIO_MEDIA_BASE": "https://mcs.example?x=1"},
            "TWILIO_MEDIA_BASE",
            "query",
        ),
        (
            twilio_settings,
            {"TWILIO_ACCOUNTS_BASE": "api.twilio.com"},
            "TWILIO_ACCOUNTS_BASE",
            "not a URL",
        ),
        (telnyx_settings, {"TELNYX_API_KEY": "  "}, "TELNYX_API_KEY", "is not set"),
        (telnyx_settings, {"TELNYX_PUBLIC_KEY": "bm90IGEga2V5"}, "TELNYX_PUBLIC_KEY", "Ed25519"),
        (telnyx_settings, {"TELNYX_PUBLIC_KEY": "%%%"}, "TELNYX_PUBLIC_KEY", "Ed25519"),
        (
            telnyx_settings,
            {"TELNYX_MESSAGING_PROFILE_ID": "profile-1"},
            "TELNYX_MESSAGING_PROFILE_ID",
            "UUID",
        ),
        (telnyx_settings, {"TELNYX_API_BASE": "http://10.0.0.5/v2"}, "TELNYX_API_BASE", "https"),
    ],
)
def test_a_bad_variable_is_named_in_one_sentence(reader, env, variable, words) -> None:  # type: ignore[no-untyped-def]
    base = fake_twilio.ENV if reader is twilio_settings else fake_telnyx.ENV
    with pytest.raises(CarrierConfigError) as caught:
        reader({**base, **env})
    error = caught.value
    assert isinstance(error, CarrierError) and error.kind is ErrorKind.CONFIG
    assert error.variable == variable and variable in error.message and words in error.message
    assert error.message.endswith(".") and error.message.count(". ") == 0
    for value in (*env.values(), *SECRETS):
        if value.strip():
            assert value not in error.message


def test_make_carrier_refuses_an_unknown_kind_and_a_plain_http_public_url() -> None:
    with pytest.raises(CarrierConfigError):
        make_carrier("bandwidth", {}, PUBLIC_URL)  # type: ignore[arg-type]
    with pytest.raises(CarrierConfigError) as caught:
        make_carrier("twilio", fake_twilio.ENV, "http://chat.example.com")
    assert "https" in caught.value.message


async def test_a_carrier_closes_only_the_client_it_made() -> None:
    own = make_carrier("telnyx", fake_telnyx.ENV, PUBLIC_URL)
    client = own._http  # type: ignore[attr-defined]
    await own.aclose()
    assert client.is_closed
    async with httpx.AsyncClient() as shared:
        borrowed = make_carrier("twilio", fake_twilio.ENV, PUBLIC_URL, shared)
        await borrowed.aclose()
        assert not shared.is_closed
    assert fake_twilio.AUTH_TOKEN not in repr(borrowed)


@pytest.mark.parametrize(
    ("failure", "lost"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.PoolTimeout("busy"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.WriteTimeout("slow"), True),
        (httpx.RemoteProtocolError("closed"), True),
        (httpx.ReadError("reset"), True),
    ],
)
async def test_transport_failures_say_whether_the_request_may_have_gone(
    failure: Exception, lost: bool
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as http:
        with pytest.raises(CarrierError) as caught:
            await send_http(http, http.build_request("POST", "https://x.test/"), carrier="Twilio")
    assert caught.value.kind is ErrorKind.RETRYABLE
    assert caught.value.answer_lost is lost
    assert caught.value.message.startswith(
        ("Could not reach Twilio", "Twilio did not", "The connection")
    )


def test_retry_after_reads_seconds_and_dates() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("12")) == 12.0
    later = datetime.now(UTC) + timedelta(seconds=90)
    stamp = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 80 <= (retry_after(answer(stamp)) or 0) <= 91
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(429)) is None
