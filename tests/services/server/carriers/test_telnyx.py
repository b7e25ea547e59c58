"""What only Telnyx does: no group object, a lost send found in the MDRs, Ed25519 webhooks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.server.carriers.base import (
    CarrierError,
    DeliveryUpdate,
    ErrorKind,
    InboundMedia,
    RecipientStatus,
    WebhookRefused,
)
from tests.services.server.carriers import fake_telnyx
from tests.services.server.carriers.fake_telnyx import telnyx_error
from tests.services.server.carriers.harness import (
    TelnyxHarness,
    group_spec,
    outbound,
    picture,
)
from tests.services.server.carriers.support import BUSINESS, MEMBERS, Clock, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tx(clock: Clock) -> AsyncIterator[TelnyxHarness]:
    harness = TelnyxHarness(clock)
    yield harness
    await harness.carrier.aclose()
    await harness.http.aclose()
    harness.assert_clean()


async def test_a_group_is_its_numbers_and_costs_no_call(tx: TelnyxHarness) -> None:
    group = await tx.carrier.create_group(group_spec())
    assert group.ref is None and dict(group.member_refs) == {}
    assert tx.fake.mock.calls == []


async def test_a_picture_goes_as_a_url_telnyx_fetches(tx: TelnyxHarness, tmp_path: Path) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    photo = picture(tmp_path)
    accepted = await tx.carrier.send(outbound(spec, group, "Look", (photo,)))
    (call,) = tx.fake.mock.calls
    assert call.json() == {
        "from": BUSINESS,
        "to": list(MEMBERS),
        "text": "Look",
        "media_urls": [photo.public_url],
    }
    assert accepted.recipients == {m: RecipientStatus.QUEUED for m in MEMBERS}


async def test_media_of_a_megabyte_is_refused_before_calling(
    tx: TelnyxHarness, tmp_path: Path
) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    big = picture(tmp_path, "big.png", b"x" * 1_000_000)
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.send(outbound(spec, group, "", (big,)))
    assert caught.value.kind is ErrorKind.PERMANENT and "attachments" in caught.value.message
    assert tx.fake.mock.calls == []


async def test_nine_contacts_are_more_than_telnyx_delivers_to(tx: TelnyxHarness) -> None:
    nine = tuple(f"+1604555{101 + i:04d}" for i in range(9))
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.create_group(group_spec(nine))
    assert (
        caught.value.message
        == "Telnyx delivers a group MMS to at most 8 people besides the business number."
    )


async def test_an_opt_out_named_only_by_pointer_is_still_named(tx: TelnyxHarness) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    body = {
        "errors": [
            {
                "code": "40300",
                "title": "Blocked due to STOP message",
                "source": {"pointer": "/to/2"},
            }
        ]
    }
    tx.fail_next_send(Fault(status=400, body=body))
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.kind is ErrorKind.OPTED_OUT and caught.value.opted_out == (MEMBERS[2],)


@pytest.mark.parametrize(
    ("status", "code", "kind", "words"),
    [
        (401, "10009", ErrorKind.CONFIG, "TELNYX_API_KEY"),
        (403, "10010", ErrorKind.CONFIG, "not allowed"),
        (422, "40013", ErrorKind.PERMANENT, "error 40013): Invalid source number. Check it."),
        (503, "10007", ErrorKind.RETRYABLE, "server error"),
    ],
)
async def test_telnyx_errors_become_sentences(
    tx: TelnyxHarness, status: int, code: str, kind: ErrorKind, words: str
) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    tx.fail_next_send(
        Fault(status=status, body=telnyx_error(code, "Invalid source number", "Check it."))
    )
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.kind is kind
    assert words in caught.value.message and caught.value.message.endswith(".")


# --- find_sent through the MDRs ---------------------------------------------------------


async def test_a_miss_in_the_first_minute_is_not_trusted(tx: TelnyxHarness, clock: Clock) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    since = clock.now
    clock.advance(10)
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.find_sent(outbound(spec, group, "Hello"), since)
    assert caught.value.kind is ErrorKind.RETRYABLE and caught.value.answer_lost
    assert caught.value.retry_after == 50.0
    clock.advance(60)
    assert await tx.carrier.find_sent(outbound(spec, group, "Hello"), since) is None
    (mdr_call, *_) = [c.request for c in tx.fake.mock.calls if c.operation_id == "GetPaginatedMdrs"]
    assert dict(mdr_call.url.params) == {
        "cli": BUSINESS,
        "cld": MEMBERS[0],
        "direction": "OUTBOUND",
        "message_type": "MMS",
        "start_date": "2026-05-04T15:29:30Z",
    }


async def test_another_groups_message_to_the_same_member_is_not_taken(
    tx: TelnyxHarness, clock: Clock
) -> None:
    ours = group_spec()
    theirs = group_spec((MEMBERS[0], "+14155550144", "+14155550155"), "conv_8")
    since = clock.now
    await tx.carrier.send(outbound(theirs, await tx.carrier.create_group(theirs), "Hello"))
    clock.advance(120)
    message = outbound(ours, await tx.carrier.create_group(ours), "Hello")
    assert await tx.carrier.find_sent(message, since) is None


async def test_the_groups_previous_message_is_not_taken(tx: TelnyxHarness, clock: Clock) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    await tx.carrier.send(outbound(spec, group, "First", n=1))
    since = clock.now  # the second send starts in the same second
    clock.advance(120)
    assert await tx.carrier.find_sent(outbound(spec, group, "Second", n=2), since) is None


async def test_a_record_whose_message_is_gone_decides_alone(
    tx: TelnyxHarness, clock: Clock
) -> None:
    spec = group_spec()
    group = await tx.carrier.create_group(spec)
    since = clock.now
    accepted = await tx.carrier.send(outbound(spec, group, "Hello"))
    tx.fake.faults.add(
        "GetMessage", Fault(status=404, body=telnyx_error("10005", "Resource not found", ""))
    )
    clock.advance(90)
    found = await tx.carrier.find_sent(outbound(spec, group, "Hello"), since)
    assert found is not None and found.carrier_message_ids == accepted.carrier_message_ids


# --- account ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"enabled": False}, "is disabled"),
        ({"webhook_api_version": "1"}, "webhook API version to 2"),
    ],
)
async def test_verify_refuses_a_profile_that_cannot_work(
    tx: TelnyxHarness, change: dict[str, object], words: str
) -> None:
    tx.fake.profile.update(change)
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.verify()
    assert caught.value.kind is ErrorKind.CONFIG and words in caught.value.message


async def test_verify_names_an_unknown_profile(clock: Clock) -> None:
    harness = TelnyxHarness(clock)
    harness.fake.faults.add(
        "RetrieveMessagingProfile",
        Fault(status=404, body=telnyx_error("10005", "Resource not found", "")),
    )
    with pytest.raises(CarrierError) as caught:
        await harness.carrier.verify()
    assert caught.value.kind is ErrorKind.CONFIG
    assert "TELNYX_MESSAGING_PROFILE_ID" in caught.value.message
    await harness.http.aclose()


async def test_numbers_are_those_of_our_profile_page_by_page(tx: TelnyxHarness) -> None:
    for i in range(260):  # two pages of 250
        tx.fake.add_number(f"+1604555{1000 + i:04d}", kind="long-code", sms=True, mms=True)
    numbers = await tx.carrier.numbers()
    assert len(numbers) == 260 and all(n.group_capable for n in numbers)
    pages = [c.request.url.params for c in tx.fake.mock.calls]
    assert [p["page[number]"] for p in pages] == ["1", "2"]
    assert {p["filter[messaging_profile_id]"] for p in pages} == {fake_telnyx.PROFILE_ID}
    # The deepObject page parameters were the only excused ones (checked by hand in the fake).
    assert tx.fake.mock.excused_names() == {"deepObject page[number]", "deepObject page[size]"}


# --- webhooks --------------------------------------------------------------------------


async def test_a_status_webhook_with_the_stop_code_marks_the_member(tx: TelnyxHarness) -> None:
    errors = [{"code": "40300", "title": "Blocked due to STOP message"}]
    envelope = tx.fake.status(
        "message.finalized",
        "00000000-0000-0000-0000-0000000000aa",
        BUSINESS,
        [(MEMBERS[1], "delivery_failed")],
        errors,
    )
    (update,) = tx.carrier.parse_webhook(tx.fake.signed(envelope))
    assert isinstance(update, DeliveryUpdate)
    assert update.phone == MEMBERS[1] and update.status is RecipientStatus.UNDELIVERED
    assert update.opted_out and update.error_code == "40300" and "STOP" in (update.error or "")


async def test_one_update_per_recipient_named_in_a_webhook(tx: TelnyxHarness) -> None:
    envelope = tx.fake.status(
        "message.sent",
        "00000000-0000-0000-0000-0000000000aa",
        BUSINESS,
        [
            (MEMBERS[0], "sent"),
            (MEMBERS[1], "delivery_unconfirmed"),
            (MEMBERS[2], "sending_failed"),
        ],
        [{"code": "40008", "title": "Undeliverable"}],
    )
    updates = tx.carrier.parse_webhook(tx.fake.signed(envelope))
    assert [(u.phone, u.status) for u in updates if isinstance(u, DeliveryUpdate)] == [
        (MEMBERS[0], RecipientStatus.SENT),
        (MEMBERS[1], RecipientStatus.SENT),
        (MEMBERS[2], RecipientStatus.FAILED),
    ]
    assert len({u.event_id for u in updates}) == 3
    failed = updates[2]
    assert isinstance(failed, DeliveryUpdate) and not failed.opted_out
    assert (
        failed.error
        == "Telnyx could not deliver the message to this recipient: Undeliverable (error 40008)."
    )


async def test_other_event_types_parse_to_nothing(tx: TelnyxHarness) -> None:
    envelope = tx.fake.received(MEMBERS[0], [BUSINESS], [], "hi")
    envelope["data"]["event_type"] = "message.finalized.unknown"
    assert tx.carrier.parse_webhook(tx.fake.signed(envelope)) == []


@pytest.mark.parametrize("problem", ["other key", "future", "not a number", "not base64"])
async def test_bad_signatures_are_refused(tx: TelnyxHarness, clock: Clock, problem: str) -> None:
    envelope = tx.fake.received(MEMBERS[0], [BUSINESS], [], "hi")
    if problem == "other key":
        request = tx.fake.signed(envelope, key=Ed25519PrivateKey.generate())
    elif problem == "future":
        request = tx.fake.signed(envelope, signed_at=clock.now + timedelta(minutes=6))
    else:
        request = tx.fake.signed(envelope)
        header = "telnyx-timestamp" if problem == "not a number" else "telnyx-signature-ed25519"
        request = dataclasses.replace(request, headers={**request.headers, header: "x!y"})
    with pytest.raises(WebhookRefused):
        tx.carrier.parse_webhook(request)


async def test_a_webhook_four_minutes_late_still_counts(tx: TelnyxHarness, clock: Clock) -> None:
    envelope = tx.fake.received(MEMBERS[0], [BUSINESS], [], "hi")
    request = tx.fake.signed(envelope, signed_at=clock.now - timedelta(minutes=4))
    assert len(tx.carrier.parse_webhook(request)) == 1


async def test_media_links_must_be_https(tx: TelnyxHarness) -> None:
    with pytest.raises(CarrierError) as caught:
        await tx.carrier.fetch_media(InboundMedia(ref="http://media.example.net/a.png"))
    assert caught.value.kind is ErrorKind.PERMANENT


async def test_the_mock_really_checks_requests(tx: TelnyxHarness) -> None:
    """A request the document does not allow is caught (so the clean runs mean something)."""
    await tx.http.post(
        f"https://{fake_telnyx.API}/v2/messages/group_mms",
        json={"to": [MEMBERS[0]], "text": 5, "colour": "red"},
        headers={"Authorization": f"Bearer {fake_telnyx.API_KEY}"},
    )
    problems = {(v.where, v.problem) for v in tx.fake.mock.violations}
    assert ("body.from", "required but missing") in problems
    assert ("body.colour", "not declared") in problems
    tx.fake.mock.violations.clear()
