"""Who may see which event: a user's streams share the bytes built for them."""

from __future__ import annotations

import zlib

import pytest

from services.api import ApiClient
from services.api.errors import NotFoundError
from services.server import seed
from services.server.embedded import EmbeddedTransport
from services.server.events import StoredEvent
from services.server.sse import GZIP_HEADER
from services.server.visibility import Visibility

pytestmark = pytest.mark.anyio


def _counting(judge: Visibility, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many events the judge has looked at (each chunk it builds looks at all of its)."""
    looked: list[int] = []
    allows = judge.allows

    def counted(event: StoredEvent) -> bool:
        looked.append(event.seq)
        return allows(event)

    monkeypatch.setattr(judge, "allows", counted)
    return looked


async def _events(
    transport: EmbeddedTransport, admin: ApiClient, staff: ApiClient | None = None
) -> list[StoredEvent]:
    """Messages into a conversation the staff user may see and, with ``staff``, one they
    may not."""
    page = await admin.search_conversations(limit=50)
    theirs = (
        {c.id for c in (await staff.search_conversations(limit=50)).conversations}
        if staff
        else set()
    )
    open_ = [c for c in page.conversations if not c.blocked]
    chosen = (
        [open_[0]]
        if staff is None
        else [
            next(c for c in open_ if c.id in theirs),
            next(c for c in open_ if c.id not in theirs),
        ]
    )
    for conversation in chosen:
        for n in range(3):
            await admin.send_message(conversation.id, f"hello {n}")
    return transport.server.hub.after(0)


async def _staff_judge(
    transport: EmbeddedTransport, admin: ApiClient, staff: ApiClient
) -> tuple[list[StoredEvent], Visibility]:
    """Events the staff user may see some of, and the staff user's judge."""
    stored = await _events(transport, admin, staff)
    user = transport.server.user_for_token(seed.STAFF_TOKEN)
    assert user is not None
    return stored, transport.server.visibility(user)


async def test_streams_at_two_cursors_taking_turns_build_each_chunk_once(
    transport: EmbeddedTransport, admin: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit landing mid-flush leaves a user's streams at two cursors, woken in turns."""
    stored = await _events(transport, admin)
    server = transport.server
    user = server.user_for_token(seed.ADMIN_TOKEN)
    assert user is not None
    judge = server.visibility(user)
    looked = _counting(judge, monkeypatch)
    behind, ahead = stored, stored[2:]
    chunks = [judge.chunk(part, "http://x/") for _ in range(50) for part in (behind, ahead)]
    assert chunks[:2] * 50 == chunks and chunks[0].endswith(chunks[1])
    assert len(looked) == len(behind) + len(ahead), "each range built once, not every turn"


async def test_a_chunk_holds_only_what_its_user_may_see_and_follows_access_changes(
    transport: EmbeddedTransport, admin: ApiClient, staff: ApiClient
) -> None:
    stored, judge = await _staff_judge(transport, admin, staff)
    server = transport.server
    seen = judge.chunk(stored, "http://x/")
    allowed = [e for e in stored if judge.allows(e)]
    assert 0 < len(allowed) < len(stored), "the demo's staff user sees some of it, not all"
    assert seen == b"".join(e.frame("http://x/") for e in allowed)
    # The access epoch moves (a contact reassigned): nothing kept from before is reused.
    server.hub._access_epoch += 1
    assert judge.chunk(stored, "http://x/") == seen
    assert judge.epoch == server.hub.access_epoch


async def test_a_burst_for_a_gzip_stream_is_deflated_together_and_reads_back_whole(
    transport: EmbeddedTransport, admin: ApiClient, staff: ApiClient
) -> None:
    stored, judge = await _staff_judge(transport, admin, staff)
    allowed = [e for e in stored if judge.allows(e)]
    plain = b"".join(e.frame("http://x/") for e in allowed)
    burst = judge.chunk(stored, "http://x/", gzip=True)
    one_by_one = b"".join(e.frame("http://x/", gzip=True) for e in allowed)
    assert len(burst) < len(one_by_one) / 2  # what the events repeat is sent once
    # A stream is any run of chunks behind gzip's header: a burst, then a lone event.
    lone = judge.chunk(stored[-1:], "http://x/", gzip=True)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    read = inflate.decompress(GZIP_HEADER + burst + lone)
    assert read == plain + b"".join(e.frame("http://x/") for e in stored[-1:] if judge.allows(e))
    assert lone in (b"", stored[-1].frame("http://x/", gzip=True))  # one event: the shared bytes


async def test_a_contact_reassigned_away_closes_its_conversation_to_the_next_send(
    transport: EmbeddedTransport, admin: ApiClient, staff: ApiClient
) -> None:
    """The route's remembered answer follows the contact at once: no stream has read the
    log (none is open), and the next send is already refused."""
    theirs = (await staff.search_conversations(limit=50)).conversations
    summary = next(c for c in theirs if not c.blocked and c.participant_count)
    conversation = await staff.get_conversation(summary.id)
    await staff.send_message(conversation.id, "while it is mine")
    contact_id = next(p.contact_id for p in conversation.participants if p.contact_id)
    assert contact_id is not None
    await admin.update_contact(contact_id, assigned_to=seed.ADMIN_ID)
    with pytest.raises(NotFoundError):
        await staff.send_message(conversation.id, "after it was reassigned")
