"""What only Twilio does: the group as a Conversation, one file per message, its webhooks."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from services.server.carriers.base import (
    CarrierError,
    CarrierGroup,
    DeliveryUpdate,
    ErrorKind,
    InboundMessage,
    RecipientStatus,
    WebhookRefused,
)
from tests.services.server.carriers import fake_twilio
from tests.services.server.carriers.fake_twilio import fault_error
from tests.services.server.carriers.harness import (
    TwilioHarness,
    group_spec,
    outbound,
    picture,
)
from tests.services.server.carriers.support import BUSINESS, MEMBERS, Clock, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tw(clock: Clock) -> AsyncIterator[TwilioHarness]:
    harness = TwilioHarness(clock)
    yield harness
    await harness.carrier.aclose()
    await harness.http.aclose()
    harness.assert_clean()


def _calls(tw: TwilioHarness, operation: str) -> list[httpx.Request]:
    return [c.request for c in tw.fake.mock.calls if c.operation_id == operation]


async def test_group_is_one_conversation_named_by_our_id(tw: TwilioHarness) -> None:
    group = await tw.carrier.create_group(group_spec())
    (request,) = _calls(tw, "CreateServiceConversationWithParticipants")
    form = httpx.QueryParams(request.content.decode())
    assert form["UniqueName"] == "conv_7" and form["FriendlyName"] == "Saturday crew"
    bindings = [json.loads(p)["messaging_binding"] for p in form.get_list("Participant")]
    assert bindings == [
        {"projected_address": BUSINESS},
        *({"address": m} for m in MEMBERS),
    ]
    conversation = tw.fake.conversations[group.ref or ""]
    by_number = {p["messaging_binding"].get("address"): p["sid"] for p in conversation.participants}
    assert dict(group.member_refs) == {m: by_number[m] for m in MEMBERS}


async def test_a_name_taken_by_another_roster_is_refused(tw: TwilioHarness) -> None:
    await tw.carrier.create_group(group_spec())
    other = group_spec(("+14155550111", "+14155550144", "+14155550155"))
    with pytest.raises(CarrierError) as caught:
        await tw.carrier.create_group(other)
    assert caught.value.kind is ErrorKind.PERMANENT
    assert "conv_7" in caught.value.message and "other members" in caught.value.message


async def test_text_is_posted_as_the_business_number_with_our_id(tw: TwilioHarness) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    accepted = await tw.carrier.send(outbound(spec, group, "Pizza at 7?"))
    (request,) = _calls(tw, "CreateServiceConversationMessage")
    form = httpx.QueryParams(request.content.decode())
    assert form["Author"] == BUSINESS and form["Body"] == "Pizza at 7?"
    assert json.loads(form["Attributes"]) == {
        "gcsMessageId": "msg_0001",
        "gcsPart": 1,
        "gcsParts": 1,
    }
    assert request.headers["X-Twilio-Webhook-Enabled"] == "false"
    assert accepted.carrier_message_ids == (
        tw.fake.conversations[group.ref or ""].messages[0]["sid"],
    )


async def test_several_files_go_as_one_part_each(tw: TwilioHarness, tmp_path: Path) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    files = tuple(picture(tmp_path, f"p{i}.png", bytes([i]) * 10) for i in range(3))
    accepted = await tw.carrier.send(outbound(spec, group, "Trip photos", files))
    messages = tw.fake.conversations[group.ref or ""].messages
    assert accepted.carrier_message_ids == tuple(m["sid"] for m in messages)
    assert [m["body"] for m in messages] == ["Trip photos", None, None]
    uploads = [tw.fake.media[m["media"][0]["sid"]].content for m in messages]
    assert uploads == [bytes([i]) * 10 for i in range(3)]
    parts = [json.loads(m["attributes"]) for m in messages]
    assert [(p["gcsPart"], p["gcsParts"], p["gcsMessageId"]) for p in parts] == [
        (1, 3, "msg_0001"),
        (2, 3, "msg_0001"),
        (3, 3, "msg_0001"),
    ]
    # The media service is in no OpenAPI document: its requests were checked by hand.
    assert tw.fake.hand_checked.count(f"POST /v1/Services/{fake_twilio.SERVICE_SID}/Media") == 3


async def test_a_retry_after_a_failed_part_never_repeats_earlier_parts(
    tw: TwilioHarness, tmp_path: Path, clock: Clock
) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    files = tuple(picture(tmp_path, f"p{i}.png") for i in range(3))
    message = outbound(spec, group, "Trip photos", files)
    since = clock.now
    tw.fake.faults.add("CreateServiceConversationMessage", Fault(after=None))  # part 1 fine
    tw.fake.faults.add("CreateServiceConversationMessage", Fault(status=503, body={}))
    with pytest.raises(CarrierError) as caught:
        await tw.carrier.send(message)
    assert caught.value.kind is ErrorKind.RETRYABLE
    assert "took 1 of the 3 parts" in caught.value.message
    assert await tw.carrier.find_sent(message, since) is None  # not all parts are there
    accepted = await tw.carrier.send(message)
    messages = tw.fake.conversations[group.ref or ""].messages
    assert len(messages) == 3 and len(accepted.carrier_message_ids) == 3
    found = await tw.carrier.find_sent(message, since)
    assert found == accepted


async def test_find_sent_pages_back_through_a_busy_group(tw: TwilioHarness, clock: Clock) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    since = clock.now
    wanted = outbound(spec, group, "The one", n=1)
    accepted = await tw.carrier.send(wanted)
    for n in range(2, 62):  # 60 later messages push it to the second page of 50
        await tw.carrier.send(outbound(spec, group, f"later {n}", n=n))
    assert await tw.carrier.find_sent(wanted, since) == accepted
    pages = _calls(tw, "ListServiceConversationMessage")
    assert len(pages) == 2 and pages[1].url.params["Page"] == "1"


@pytest.mark.parametrize(
    ("status", "code", "kind", "words"),
    [
        (401, 20003, ErrorKind.CONFIG, "TWILIO_AUTH_TOKEN"),
        (400, 50513, ErrorKind.PERMANENT, "not a participant"),
        (400, 50436, ErrorKind.PERMANENT, "at most 10 people"),
        (400, 63014, ErrorKind.OPTED_OUT, "opted out"),
        (429, 20429, ErrorKind.RETRYABLE, "slow down"),
        (400, 12345, ErrorKind.PERMANENT, "error 12345): Something odd"),
    ],
)
async def test_twilio_errors_become_sentences(
    tw: TwilioHarness, status: int, code: int, kind: ErrorKind, words: str
) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    tw.fail_next_send(fault_error(status, code, "Something odd"))
    with pytest.raises(CarrierError) as caught:
        await tw.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.kind is kind
    assert words in caught.value.message and caught.value.message.endswith(".")


async def test_an_opt_out_naming_the_member_blocks_that_member(tw: TwilioHarness) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    tw.fail_next_send(
        fault_error(400, 21610, f"Attempt to send to unsubscribed recipient {MEMBERS[2]}")
    )
    with pytest.raises(CarrierError) as caught:
        await tw.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.opted_out == (MEMBERS[2],) and MEMBERS[2] in caught.value.message


async def test_sending_to_a_group_never_set_up_is_refused(tw: TwilioHarness) -> None:
    with pytest.raises(CarrierError) as caught:
        await tw.carrier.send(outbound(group_spec(), CarrierGroup(ref=None), "Hello"))
    assert caught.value.kind is ErrorKind.PERMANENT and "never set up" in caught.value.message


async def test_verify_names_an_unknown_service(clock: Clock) -> None:
    harness = TwilioHarness(clock)
    harness.fake.service_sid = "IS" + "0" * 32  # the account has another service
    with pytest.raises(CarrierError) as caught:
        await harness.carrier.verify()
    assert caught.value.kind is ErrorKind.CONFIG
    assert "TWILIO_CONVERSATIONS_SERVICE_SID" in caught.value.message
    await harness.http.aclose()


async def test_numbers_follow_every_page(tw: TwilioHarness) -> None:
    tw.add_numbers()
    assert len(await tw.carrier.numbers()) == 3
    pages = _calls(tw, "ListIncomingPhoneNumber")
    assert len(pages) == 2 and "PageToken" in pages[1].url.params


# --- webhooks --------------------------------------------------------------------------


async def test_a_receipt_with_an_opt_out_code_marks_the_member(tw: TwilioHarness) -> None:
    spec = group_spec()
    group = await tw.carrier.create_group(spec)
    accepted = await tw.carrier.send(outbound(spec, group, "Hello"))
    params = tw.fake.delivery_updated(
        group.ref or "",
        accepted.carrier_message_ids[0],
        group.member_refs[MEMBERS[1]],
        "failed",
        21610,
    )
    (update,) = tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", params))
    assert isinstance(update, DeliveryUpdate)
    assert update.member_ref == group.member_refs[MEMBERS[1]]
    assert update.status is RecipientStatus.FAILED and update.opted_out
    assert update.error_code == "21610" and "STOP" in (update.error or "")


async def test_a_read_receipt_and_an_undelivered_one(tw: TwilioHarness) -> None:
    group = await tw.carrier.create_group(group_spec())
    read = tw.fake.delivery_updated(group.ref or "", "IM" + "1" * 32, "MB" + "2" * 32, "read")
    lost = tw.fake.delivery_updated(
        group.ref or "", "IM" + "1" * 32, "MB" + "2" * 32, "undelivered", 30003
    )
    (first,) = tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", read))
    (second,) = tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", lost))
    assert isinstance(first, DeliveryUpdate) and first.status is RecipientStatus.READ
    assert isinstance(second, DeliveryUpdate) and second.status is RecipientStatus.UNDELIVERED
    assert second.error == "The recipient's phone was unreachable (off or out of coverage)."
    assert not second.opted_out


async def test_without_the_idempotency_header_the_body_decides(tw: TwilioHarness) -> None:
    group = await tw.carrier.create_group(group_spec())
    params = tw.fake.message_added(group.ref or "", MEMBERS[0], "Hi")
    first = tw.fake.webhook("/webhooks/twilio", params, idempotency=None)
    retried = tw.fake.webhook("/webhooks/twilio", {**params, "RetryCount": "1"}, idempotency=None)
    other = tw.fake.webhook(
        "/webhooks/twilio",
        tw.fake.message_added(group.ref or "", MEMBERS[0], "Hi"),
        idempotency=None,
    )
    (a,) = tw.carrier.parse_webhook(first)
    (b,) = tw.carrier.parse_webhook(retried)
    (c,) = tw.carrier.parse_webhook(other)
    assert a.event_id == b.event_id != c.event_id


async def test_own_posts_system_messages_and_other_events_parse_to_nothing(
    tw: TwilioHarness,
) -> None:
    group = await tw.carrier.create_group(group_spec())
    own = {
        **tw.fake.message_added(group.ref or "", MEMBERS[0], "x"),
        "Author": BUSINESS,
        "Attributes": json.dumps({"gcsMessageId": "msg_0001"}),
    }
    system = {**tw.fake.message_added(group.ref or "", MEMBERS[0], "x"), "Author": "system"}
    joined = {
        **tw.fake.message_added(group.ref or "", MEMBERS[0], "x"),
        "EventType": "onParticipantAdded",
    }
    for params in (own, system, joined):
        assert tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", params)) == []


async def test_a_json_webhook_is_checked_by_its_body_hash(tw: TwilioHarness) -> None:
    body = json.dumps(
        {
            "EventType": "onMessageAdded",
            "Author": MEMBERS[0],
            "Body": "hi",
            "ConversationSid": "CH" + "3" * 32,
            "MessageSid": "IM" + "4" * 32,
        }
    ).encode()
    digest = hashlib.sha256(body).hexdigest()
    url = f"https://chat.example.com/webhooks/twilio?bodySHA256={digest}"
    signature = RequestValidator(fake_twilio.AUTH_TOKEN).compute_signature(url, {})
    request = tw.fake.webhook("/webhooks/twilio", {})
    request = dataclasses.replace(
        request,
        url=url,
        body=body,
        headers={
            **request.headers,
            "content-type": "application/json",
            "x-twilio-signature": signature,
        },
    )
    (message,) = tw.carrier.parse_webhook(request)
    assert isinstance(message, InboundMessage) and message.body == "hi"
    with pytest.raises(WebhookRefused):
        tw.carrier.parse_webhook(dataclasses.replace(request, body=body.replace(b"hi", b"yo")))


async def test_a_signature_made_with_another_token_is_refused(tw: TwilioHarness) -> None:
    group = await tw.carrier.create_group(group_spec())
    params = tw.fake.message_added(group.ref or "", MEMBERS[0], "Hi")
    with pytest.raises(WebhookRefused) as caught:
        tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", params, token="f" * 32))
    assert fake_twilio.AUTH_TOKEN not in str(caught.value)


async def test_a_webhook_dated_in_the_future_is_refused(tw: TwilioHarness, clock: Clock) -> None:
    group = await tw.carrier.create_group(group_spec())
    params = tw.fake.message_added(group.ref or "", MEMBERS[0], "Hi")
    later = clock.now.replace(hour=clock.now.hour + 1)
    params["DateCreated"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(WebhookRefused):
        tw.carrier.parse_webhook(tw.fake.webhook("/webhooks/twilio", params))


async def test_the_mock_really_checks_requests(tw: TwilioHarness) -> None:
    """A request the document does not allow is caught (so the clean runs mean something)."""
    url = f"https://{fake_twilio.API}/v1/Services/{fake_twilio.SERVICE_SID}/Conversations/CH1/Messages"
    headers = {"Authorization": tw.carrier._auth}  # type: ignore[attr-defined]
    body = urlencode({"Author": BUSINESS, "MediaSid": "not-a-sid", "Colour": "red"})
    await tw.http.post(
        url, content=body, headers={**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    problems = {(v.where, v.problem) for v in tw.fake.mock.violations}
    assert ("body.Colour", "not declared") in problems
    assert any(where == "body.MediaSid" for where, _ in problems)
    tw.fake.mock.violations.clear()
