"""The bubble's Retry / Delete for a message that failed (issue 6's outbox)."""

from __future__ import annotations

import pytest

from services.models import Direction, MessageStatus
from tests.app.conftest import FakeSession, settle
from tests.app.fakes import make_message
from tests.app.views.test_thread_view import build


@pytest.mark.anyio
async def test_a_refused_outbox_message_offers_retry_and_delete_and_delete_removes_it(
    fake_session: FakeSession,
):
    store, conv, _vm, view, _sync = build(fake_session, n_messages=3)
    local = store.add_outgoing(conv.id, "Is 3pm OK?", local_id="loc-1", user_id="admin")
    store.outbox_set_state("loc-1", "failed", "This group is blocked.")
    await settle()
    bubble = view.bubbles[local.key]
    assert bubble.retry.visible and bubble.delete.visible
    await fake_session.event(bubble.delete, "click")
    await settle()
    assert local.key not in view.bubbles
    assert all(getattr(m, "local_id", None) != "loc-1" for m in store.messages(conv.id))


@pytest.mark.anyio
async def test_a_message_the_carrier_failed_offers_retry_but_no_delete(fake_session):
    store, conv, _vm, view, _sync = build(fake_session, n_messages=1)
    failed = make_message(conv, body="To the carrier", status=MessageStatus.FAILED, recipients=[])
    store.put_messages(conv.id, [failed])
    await settle()
    bubble = view.bubbles[f"s:{failed.id}"]
    assert bubble.retry.visible  # sends it again as a new message
    assert not bubble.delete.visible  # it is on the server: nothing to delete here


@pytest.mark.anyio
async def test_a_message_that_did_not_fail_makes_none_of_the_failure_controls(fake_session):
    """Retry, Delete, the carrier's note and Compress are made when first shown: every new
    message builds its bubble, and those seven controls were a third of that (issue 19)."""
    store, conv, _vm, view, _sync = build(fake_session, n_messages=1)
    received = make_message(conv, body="See you at 6", direction=Direction.INBOUND)
    store.put_messages(conv.id, [received])
    mine = store.add_outgoing(conv.id, "On my way", local_id="loc-2", user_id="admin")
    await settle()
    for key in (f"s:{received.id}", mine.key):
        bubble = view.bubbles[key]
        made = (bubble._retry, bubble._delete_button, bubble._refusal)
        assert made == (None, None, None), key
    assert view.bubbles[f"s:{received.id}"]._state_icon is None  # no state beside theirs
    assert view.bubbles[mine.key].state_icon.visible  # "sending" beside one's own

    store.outbox_set_state("loc-2", "failed", "This group is blocked.")
    await settle()
    failed = view.bubbles[mine.key]
    assert failed.retry.visible and failed.delete.visible
    assert failed.retry in failed.meta.controls and failed.delete in failed.meta.controls
