"""The carrier door's contract, one table of cases run against every carrier (apprise-style).

Each case gets a harness (harness.py): a carrier built by ``make_carrier`` over a fake
account whose every request is validated against the carrier's official OpenAPI
document. After each case the fake must have seen no violation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.server.carriers.base import (
    Carrier,
    CarrierError,
    DeliveryUpdate,
    ErrorKind,
    InboundMessage,
    RecipientStatus,
    WebhookRefused,
)
from tests.services.server.carriers.harness import (
    PNG,
    Harness,
    group_spec,
    outbound,
    picture,
)
from tests.services.server.carriers.support import BUSINESS, MEMBERS, Fault

pytestmark = pytest.mark.anyio

Run = Callable[[Harness, Path], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    name: str
    run: Run


CASES: list[Case] = []


def case(run: Run) -> Run:
    CASES.append(Case(run.__name__, run))
    return run


async def _group(h: Harness):  # type: ignore[no-untyped-def]
    spec = group_spec()
    return spec, await h.carrier.create_group(spec)


# --- the door itself -----------------------------------------------------------------


@case
async def is_a_carrier_with_limits(h: Harness, tmp: Path) -> None:
    assert isinstance(h.carrier, Carrier)
    assert h.carrier.name == h.name
    limits = h.carrier.limits
    assert 2 <= limits.max_participants <= 9
    assert limits.max_media_files == 10 and limits.max_body_chars == 1600
    assert limits.why.endswith(".") and h.name.capitalize() in limits.why


@case
async def verify_passes_with_good_credentials(h: Harness, tmp: Path) -> None:
    await h.carrier.verify()


@case
async def verify_fails_in_a_sentence_without_secrets(h: Harness, tmp: Path) -> None:
    h.break_credentials()
    with pytest.raises(CarrierError) as caught:
        await h.carrier.verify()
    error = caught.value
    assert error.kind is ErrorKind.CONFIG
    assert error.message.endswith(".") and "\n" not in error.message
    for secret in h.secrets:
        assert secret not in error.message and secret not in str(error)
        assert secret not in repr(error) and secret not in repr(h.carrier)


@case
async def numbers_report_capabilities(h: Harness, tmp: Path) -> None:
    h.add_numbers()
    numbers = {n.phone_number: n for n in await h.carrier.numbers()}
    assert set(numbers) == {"+14155550100", "+18005550199", "+14155550177"}
    assert numbers["+14155550100"].group_capable
    assert numbers["+18005550199"].mms and not numbers["+18005550199"].group_capable
    assert numbers["+14155550177"].sms and not numbers["+14155550177"].mms
    assert not numbers["+14155550177"].group_capable


# --- groups ----------------------------------------------------------------------------


@case
async def creates_a_group_of_three_once(h: Harness, tmp: Path) -> None:
    spec, first = await _group(h)
    again = await h.carrier.create_group(spec)  # as after a lost answer
    assert again == first
    if first.ref is not None:
        assert set(first.member_refs) == set(MEMBERS)


@case
async def refuses_a_group_over_the_limit(h: Harness, tmp: Path) -> None:
    limit = h.carrier.limits.max_participants
    members = tuple(f"+1604555{101 + i:04d}" for i in range(limit + 1))
    calls = len(h.fake.mock.calls)
    with pytest.raises(CarrierError) as caught:
        await h.carrier.create_group(group_spec(members))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.message == h.carrier.limits.why
    assert len(h.fake.mock.calls) == calls  # refused before any call


# --- sending ---------------------------------------------------------------------------


@case
async def sends_a_text(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    accepted = await h.carrier.send(outbound(spec, group, "Pizza at 7?"))
    assert len(accepted.carrier_message_ids) == 1
    assert set(accepted.recipients) <= set(MEMBERS)


@case
async def sends_a_picture(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    message = outbound(spec, group, "Look", (picture(tmp),))
    accepted = await h.carrier.send(message)
    assert accepted.carrier_message_ids


@case
async def refuses_a_body_over_the_limit_before_calling(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    calls = len(h.fake.mock.calls)
    too_long = "x" * (h.carrier.limits.max_body_chars + 1)
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(outbound(spec, group, too_long))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert f"{h.carrier.limits.max_body_chars:,}" in caught.value.message
    assert len(h.fake.mock.calls) == calls


@case
async def opt_out_on_send_is_opted_out(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    h.opt_out(MEMBERS[1])
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(outbound(spec, group, "Hello"))
    error = caught.value
    assert error.kind is ErrorKind.OPTED_OUT
    if h.names_opted_out_on_send:
        assert error.opted_out == (MEMBERS[1],)
        assert MEMBERS[1] in error.message
    else:
        assert error.opted_out == ()
        assert "did not say who" in error.message


@case
async def server_error_is_retryable_and_may_have_gone_through(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    h.fail_next_send(Fault(status=500, body={}))
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.kind is ErrorKind.RETRYABLE
    assert caught.value.answer_lost  # a 500 to a create may hide a create


@case
async def rate_limit_is_retryable_after_the_wait_asked(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    h.fail_next_send(Fault(status=429, body={}, headers={"Retry-After": "7"}))
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(outbound(spec, group, "Hello"))
    assert caught.value.kind is ErrorKind.RETRYABLE
    assert caught.value.retry_after == 7.0
    assert not caught.value.answer_lost


@case
async def timeout_after_sending_is_found_by_find_sent(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    since = h.clock.now
    message = outbound(spec, group, "Did this go?")
    h.fail_next_send(Fault(after=httpx.ReadTimeout("no answer")))
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(message)
    assert caught.value.kind is ErrorKind.RETRYABLE and caught.value.answer_lost
    h.clock.advance(5)
    found = await h.carrier.find_sent(message, since)
    assert found is not None and len(found.carrier_message_ids) == 1


@case
async def connect_failure_never_left_and_find_sent_says_none(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    since = h.clock.now
    message = outbound(spec, group, "Did this go?")
    h.fail_next_send(Fault(before=httpx.ConnectError("refused")))
    with pytest.raises(CarrierError) as caught:
        await h.carrier.send(message)
    assert caught.value.kind is ErrorKind.RETRYABLE
    assert not caught.value.answer_lost
    h.clock.advance(120)
    assert await h.carrier.find_sent(message, since) is None


@case
async def find_sent_tells_sent_from_unsent(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    since = h.clock.now
    sent = outbound(spec, group, "First", n=1)
    accepted = await h.carrier.send(sent)
    h.clock.advance(120)
    found = await h.carrier.find_sent(sent, since)
    assert found is not None
    assert found.carrier_message_ids == accepted.carrier_message_ids
    later = h.clock.now
    h.clock.advance(120)
    assert await h.carrier.find_sent(outbound(spec, group, "Second", n=2), later) is None


# --- webhooks --------------------------------------------------------------------------


@case
async def parses_a_signed_reply_with_a_picture(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    events = h.carrier.parse_webhook(h.reply(spec, group, MEMBERS[1], "On my way", media=True))
    assert len(events) == 1
    message = events[0]
    assert isinstance(message, InboundMessage)
    assert message.sender == MEMBERS[1] and message.body == "On my way"
    # Threadable: by the carrier's group id, or by every number it was addressed to.
    everyone = {BUSINESS, *MEMBERS} - {MEMBERS[1]}
    assert message.carrier_group_ref == group.ref if group.ref else set(message.to) == everyone
    assert len(message.media) == 1 and message.media[0].mime == "image/png"
    content, mime = await h.carrier.fetch_media(message.media[0])
    assert (content, mime) == (PNG, "image/png")


@case
async def delivery_updates_name_each_participant(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    accepted = await h.carrier.send(outbound(spec, group, "Hello"))
    seen: dict[str, DeliveryUpdate] = {}
    for request in h.receipts(spec, group, accepted):
        (update,) = h.carrier.parse_webhook(request)
        assert isinstance(update, DeliveryUpdate)
        seen[h.recipient(update, group)] = update
    assert set(seen) == set(MEMBERS)
    for update in seen.values():
        assert update.status is RecipientStatus.DELIVERED
        assert update.carrier_message_id in accepted.carrier_message_ids
        assert not update.opted_out and update.error is None
    assert len({u.event_id for u in seen.values()}) == len(MEMBERS)


@case
async def dedupe_id_is_stable_across_a_repeated_delivery(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    request = h.reply(spec, group, MEMBERS[0], "Same again")
    (first,) = h.carrier.parse_webhook(request)
    (repeat,) = h.carrier.parse_webhook(dataclasses.replace(request, received_at=h.clock.now))
    (other,) = h.carrier.parse_webhook(h.reply(spec, group, MEMBERS[0], "Same again"))
    assert first.event_id == repeat.event_id
    assert other.event_id != first.event_id


@case
async def refuses_forged_and_unsigned_webhooks(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    genuine = h.reply(spec, group, MEMBERS[0], "Refund")
    forged = dataclasses.replace(genuine, body=genuine.body.replace(b"Refund", b"Pay me more"))
    assert forged.body != genuine.body
    with pytest.raises(WebhookRefused):
        h.carrier.parse_webhook(forged)
    unsigned_headers = {
        k: v for k, v in genuine.headers.items() if "signature" not in k and "timestamp" not in k
    }
    with pytest.raises(WebhookRefused):
        h.carrier.parse_webhook(dataclasses.replace(genuine, headers=unsigned_headers))
    moved = dataclasses.replace(genuine, url=genuine.url.replace("chat.", "evil."))
    if h.name == "twilio":  # Twilio signs the URL; Telnyx signs only the body
        with pytest.raises(WebhookRefused):
            h.carrier.parse_webhook(moved)
    assert h.carrier.parse_webhook(genuine)  # the genuine one still passes


@case
async def refuses_a_stale_webhook(h: Harness, tmp: Path) -> None:
    spec, group = await _group(h)
    with pytest.raises(WebhookRefused) as caught:
        h.carrier.parse_webhook(h.stale_reply(spec, group, MEMBERS[2]))
    assert str(caught.value).endswith(".")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_contract(harness: Harness, case: Case, tmp_path: Path) -> None:
    await case.run(harness, tmp_path)
    harness.assert_clean()


def test_every_case_is_listed() -> None:
    assert len(CASES) == len({c.name for c in CASES}) >= 18
