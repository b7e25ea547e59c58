"""The outbox's uploads as the composer sees them: progress per file, cancel, retry.

Against the in-process sandbox; a gate in the transport holds one upload open
so that cancelling it is not a race.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from services.api import RetryPolicy
from services.outbox import CANCELLED, Outbox, OutgoingFile, UploadProgress
from services.store import Store
from tests.services.sync_support import FAST, client_for, eventually, sandbox_app

pytestmark = pytest.mark.anyio


def picture(size: int = 400) -> bytes:
    """Noise, so the PNG stays large enough to go up in several pieces."""
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 80).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


class GatedTransport(httpx.AsyncBaseTransport):
    """Forwards to the sandbox; the upload numbered ``hold`` waits for ``gate``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, hold: int) -> None:
        self.inner, self.hold = inner, hold
        self.uploads: list[str] = []
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/upload"):
            self.uploads.append(request.url.path)
            if len(self.uploads) == self.hold:
                self.waiting.set()
                await self.gate.wait()
        return await self.inner.handle_async_request(request)


async def first_group(client: object) -> str:
    page = await client.search_conversations(limit=50)  # type: ignore[attr-defined]
    return next(c.id for c in page.conversations if c.is_group and not c.blocked)


async def test_progress_per_file_then_cancel_and_retry_only_the_rest(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path)
    gated = GatedTransport(httpx.ASGITransport(app=app), hold=2)
    client = client_for(gated, "demo-admin", retry=RetryPolicy.never())
    store = Store(str(tmp_path / "cache.db"))
    outbox = Outbox(client, store, tmp_path / "files", backoff=FAST)
    seen: list[UploadProgress] = []
    outbox.watch_uploads(seen.append)
    cid = await first_group(client)
    files = [
        OutgoingFile("one.png", "image/png", data=picture()),
        OutgoingFile("two.png", "image/png", data=picture()),
    ]
    local = await outbox.add(cid, "two pictures", files)
    assert local.local_id is not None
    worker = asyncio.create_task(outbox.run())
    try:
        await asyncio.wait_for(gated.waiting.wait(), 20)
        assert outbox.is_uploading(local.local_id)
        assert outbox.cancel(local.local_id)
        lid = local.local_id
        await eventually(lambda: getattr(store.outbox_entry(lid), "state", "") == "failed")
        entry = store.outbox_entry(lid)
        assert entry is not None and entry.error == CANCELLED
        assert outbox.uploaded(local.local_id) == [True, False]
        # The first file went up in pieces, each reported, and was marked done.
        first = [p for p in seen if p.index == 0]
        assert first[-1].done and first[-1].sent == first[-1].total == len(files[0].data or b"")
        assert any(0 < p.sent < p.total for p in first)
        gated.gate.set()
        outbox.retry(local.local_id)
        await eventually(lambda: store.outbox() == [])
        # The store remembers each file's size by its URL, for the chips after a restart.
        page = await client.get_messages(cid, limit=5)
        mine = next(m for m in page.messages if m.body == "two pictures")
        assert [store.file_size(url) for url in mine.attachments] == [
            len(f.data or b"") for f in files
        ]
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await client.aclose()
    # Three uploads in all: the first file once, the cancelled second one twice.
    assert len(gated.uploads) == 3
    assert any(p.index == 1 and p.done for p in seen)
    assert not outbox.cancel(local.local_id)  # nothing left to cancel
