"""The durable outbox against the in-process sandbox behind a flaky network:
exactly once, in order, across lost answers, 5xx, refusals and restarts."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from services.api import (
    ApiClient,
    AuthError,
    ConflictError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    TooLargeError,
    UnsupportedTypeError,
    ValidationError,
)
from services.api.errors import ApiError
from services.models import ConversationSummary, Message
from services.outbox import Outbox, OutgoingFile, is_retryable
from services.store import Store
from services.sync import LiveMode
from tests.services.sync_support import (
    FAST,
    FlakyTransport,
    client_for,
    eventually,
    is_send,
    make_sync,
    sandbox_app,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return sandbox_app(tmp_path)


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[ApiClient]:
    async with client_for(app, "demo-admin") as client:
        yield client


async def groups(admin: ApiClient) -> tuple[list[ConversationSummary], ConversationSummary]:
    """The sendable groups of the demo seed, and the blocked one."""
    found = (await admin.search_conversations(limit=50)).conversations
    open_groups = [c for c in found if c.is_group and not c.blocked]
    blocked = next(c for c in found if c.blocked)
    return open_groups, blocked


async def server_thread(admin: ApiClient, cid: str) -> list[Message]:
    """Every message of a thread on the server, oldest first."""
    return list(reversed([m async for m in admin.iter_messages(cid, page_size=100)]))


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (NetworkError("x"), True),
        (RequestTimeout("x"), True),
        (ServerError("x", status_code=503), True),
        (RateLimitedError("x", status_code=429, retry_after=3), True),
        (AuthError("x", status_code=401), True),
        (ConflictError("x", status_code=409), False),
        (ForbiddenError("x", status_code=403), False),
        (NotFoundError("x", status_code=404), False),
        (ValidationError("x", status_code=422, messages=["bad"]), False),
        (TooLargeError("x", status_code=413), False),
        (UnsupportedTypeError("x", status_code=415), False),
    ],
)
def test_only_errors_time_can_fix_are_retried(error: ApiError, retry: bool) -> None:
    assert is_retryable(error) is retry


async def test_lost_answers_and_5xx_never_duplicate_or_reorder(
    tmp_path: Path, app: Starlette, admin: ApiClient
) -> None:
    open_groups, _ = await groups(admin)
    threads = [g.id for g in open_groups[:2]]
    flaky = FlakyTransport(
        httpx.ASGITransport(app=app), seed=7, server_error=0.2, lose_answer=0.3, applies=is_send
    )
    client = client_for(flaky, "demo-admin", retry=RetryPolicy.never())
    store = Store(str(tmp_path / "cache.db"))
    outbox = Outbox(client, store, tmp_path / "files", backoff=FAST)
    worker = asyncio.create_task(outbox.run())
    try:
        for i in range(20):
            for cid in threads:
                await outbox.add(cid, f"{cid[-4:]} #{i}")
        await eventually(lambda: store.outbox() == [], within=60)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await client.aclose()
    assert flaky.counts["lost"] > 0 and flaky.counts["5xx"] > 0
    for cid in threads:
        mine = [m.body for m in await server_thread(admin, cid) if m.body.startswith(cid[-4:])]
        assert mine == [f"{cid[-4:]} #{i}" for i in range(20)]
        shown = [m for m in store.messages(cid, limit=100)]
        assert [m.body for m in shown] == mine
        assert all(m.local_state == "sent" for m in shown)


async def test_a_blocked_group_fails_the_message_with_retry_and_delete(
    tmp_path: Path, admin: ApiClient
) -> None:
    _, blocked = await groups(admin)
    store = Store()
    outbox = Outbox(admin, store, tmp_path / "files", backoff=FAST)
    worker = asyncio.create_task(outbox.run())
    try:
        local = await outbox.add(blocked.id, "hello?")

        def state() -> str:
            return store.messages(blocked.id)[-1].local_state

        await eventually(lambda: state() == "failed")
        failed = store.messages(blocked.id)[-1]
        assert failed.error and "Do Not Disturb" in failed.error
        outbox.retry(local.local_id or "")
        assert state() == "sending"
        await eventually(lambda: state() == "failed")
        outbox.discard(local.local_id or "")
        assert [m for m in store.messages(blocked.id) if m.local_id == local.local_id] == []
        assert store.outbox() == []
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert all(m.body != "hello?" for m in await server_thread(admin, blocked.id))


def png_bytes(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_attachments_upload_once_even_when_the_send_is_retried(
    tmp_path: Path, app: Starlette, admin: ApiClient
) -> None:
    open_groups, _ = await groups(admin)
    cid = open_groups[0].id
    uploads: list[str] = []
    sends = 0

    def lose_first_send(request: httpx.Request) -> bool:
        nonlocal sends
        if request.url.path.endswith("/upload"):
            uploads.append(request.url.path)
        if is_send(request):
            sends += 1
            return sends == 1
        return False

    flaky = FlakyTransport(httpx.ASGITransport(app=app), lose_answer=1.0, applies=lose_first_send)
    client = client_for(flaky, "demo-admin", retry=RetryPolicy.never())
    store = Store(str(tmp_path / "cache.db"))
    outbox = Outbox(client, store, tmp_path / "files", backoff=FAST)
    original = tmp_path / "blue.png"
    original.write_bytes(png_bytes("blue"))
    local = await outbox.add(
        cid, "two pictures", [OutgoingFile("red.png", "image/png", data=png_bytes("red")), original]
    )
    original.unlink()  # the outbox kept its own copy
    assert len(local.local_files) == 2
    worker = asyncio.create_task(outbox.run())
    try:
        await eventually(lambda: store.outbox() == [])
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await client.aclose()
    assert len(uploads) == 2 and sends == 2
    sent = [m for m in await server_thread(admin, cid) if m.body == "two pictures"]
    assert len(sent) == 1 and len(sent[0].attachments) == 2
    assert not (tmp_path / "files" / (local.local_id or "")).exists()


async def test_messages_queued_offline_go_out_after_a_restart_with_no_user_action(
    tmp_path: Path, app: Starlette, admin: ApiClient
) -> None:
    open_groups, _ = await groups(admin)
    cid = open_groups[0].id
    db = str(tmp_path / "cache.db")
    down = FlakyTransport(httpx.ASGITransport(app=app))
    down.down = True
    offline = client_for(down, "demo-admin", retry=RetryPolicy.never())
    store = Store(db)
    sync = make_sync(offline, store, live=LiveMode.LONG_POLL, files_dir=tmp_path / "files")
    await sync.start()
    for i in range(3):
        await sync.send(cid, f"queued offline {i}", [OutgoingFile("n.txt", data=b"note %d" % i)])
    await asyncio.sleep(0.1)  # the worker tries and fails while the backend is down
    await sync.stop()
    store.close()
    await offline.aclose()

    store = Store(db)  # the app starts again, now with the backend back
    assert [m.local_state for m in store.messages(cid)[-3:]] == ["sending"] * 3
    online = client_for(httpx.ASGITransport(app=app), "demo-admin")
    sync = make_sync(online, store, files_dir=tmp_path / "files")
    await sync.start()
    try:
        await eventually(lambda: store.outbox() == [])
    finally:
        await sync.stop()
        await online.aclose()
    bodies = [m.body for m in await server_thread(admin, cid) if m.body.startswith("queued")]
    assert bodies == [f"queued offline {i}" for i in range(3)]
    assert [m.local_state for m in store.messages(cid)[-3:]] == ["sent"] * 3
