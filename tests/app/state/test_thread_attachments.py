"""The thread's attachments: composer files to the outbox, upload bars, cancel, and the
carrier refusing media as too large (said per person, with Compress and resend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.state.thread import ThreadVM, refused_for_size
from services.attachments import AttachmentSource
from services.models import MessageStatus, Recipient
from services.outbox import UploadProgress
from services.store import Store
from services.store_types import OutboxFile
from tests.app.fakes import FakeSync, make_message
from tests.factories import make_admin, make_contacts, make_conversation, make_number
from tests.services import attachment_files as files

pytestmark = pytest.mark.anyio
TOO_LARGE = (
    "The carrier refused the media: 1.2 MB is over its 1 MB limit. "
    "Compress the files and send again."
)


class FakeOutbox:
    """The outbox's upload surface: progress listeners, cancel."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[UploadProgress], None]] = []
        self.uploading: set[str] = set()
        self.cancelled: list[str] = []

    def watch_uploads(self, listener: Callable[[UploadProgress], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def report(self, p: UploadProgress) -> None:
        for listener in self.listeners:
            listener(p)

    def is_uploading(self, local_id: str) -> bool:
        return local_id in self.uploading

    def cancel(self, local_id: str) -> bool:
        self.cancelled.append(local_id)
        return True


class Sync(FakeSync):
    def __init__(self, store: Any, me: Any) -> None:
        super().__init__(store, me)
        self.outbox = FakeOutbox()
        self.files: list[list[Any]] = []

    async def send(self, conversation_id: str, body: str, attachments: Any = ()) -> Any:
        self.files.append(list(attachments))
        return await super().send(conversation_id, body, attachments)


def thread() -> tuple[Store, Any, ThreadVM, Sync]:
    store = Store(":memory:")
    contacts = make_contacts(2)
    conv = make_conversation(contacts=contacts, name="Team")
    store.put_conversation(conv)
    me = make_admin(id="admin")
    sync = Sync(store, me)
    vm = ThreadVM(store=store, sync=sync, me=me, numbers=[make_number()], conversation_id=conv.id)
    store.subscribe(vm.on_store_change)
    return store, conv, vm, sync


async def test_composed_files_go_to_the_outbox_as_checked_and_the_tray_empties() -> None:
    _, _, vm, sync = thread()
    await vm.tray.add(
        [
            AttachmentSource(name="beach.jpg", data=files.photo(2400, 1600)),
            AttachmentSource(name="plan.pdf", data=files.pdf(5000)),
        ]
    )
    assert await vm.send_composed("the plan")
    sent = sync.files[0]
    assert [f.name for f in sent] == ["beach.jpg", "plan.pdf"]
    assert sent[0].content_type == "image/jpeg" and len(sent[0].data) <= 500 * 1024
    assert vm.tray.files == []


async def test_a_send_refused_keeps_the_files_in_the_composer() -> None:
    _, _, vm, sync = thread()
    await vm.tray.add([AttachmentSource(name="plan.pdf", data=files.pdf())])
    sync.errors["send"] = RuntimeError("boom")
    assert not await vm.send_composed("x")
    assert [f.name for f in vm.tray.files] == ["plan.pdf"]


async def test_upload_bars_move_per_file_and_cancel_goes_to_the_outbox() -> None:
    store, conv, vm, sync = thread()
    events: list[tuple[str, Any]] = []
    vm.listen(lambda what, payload: events.append((what, payload)))
    outbox_files = [
        OutboxFile("a.png", "image/png", "/cache/l1/00-a.png", url="https://x/a.png"),
        OutboxFile("b c.pdf", "application/pdf", "/cache/l1/01-b_c.pdf"),
    ]
    store.add_outgoing(conv.id, "two", outbox_files, local_id="l1")
    item = next(r for r in vm.rows if getattr(r, "local_id", None) == "l1")
    assert vm.upload_state(item) == [("a.png", 1.0), ("b c.pdf", None)]
    sync.outbox.uploading.add("l1")
    for sent in (100, 101, 500, 1000):  # 101 is under 5 % more: no redraw
        sync.outbox.report(UploadProgress("l1", 1, sent, 1000, done=sent == 1000))
    assert [p for w, p in events if w == "progress"] == ["c:l1"] * 3
    assert vm.upload_state(item)[1] == ("b c.pdf", 1.0)
    assert vm.can_cancel(item)
    vm.cancel_upload(item)
    assert sync.outbox.cancelled == ["l1"]
    vm.close()
    assert sync.outbox.listeners == []


def test_only_an_undelivered_recipient_with_a_size_reason_counts_as_too_large() -> None:
    big = Recipient(participant_id="p", status=MessageStatus.UNDELIVERED, error=TOO_LARGE)
    other = Recipient(participant_id="p", status=MessageStatus.UNDELIVERED, error="Unreachable")
    failed = Recipient(participant_id="p", status=MessageStatus.FAILED, error=TOO_LARGE)
    assert refused_for_size(big)
    assert not refused_for_size(other) and not refused_for_size(failed)


def refused_message(conv: Any, urls: list[str]) -> Any:
    maria, ben = conv.participants
    return make_message(
        conv,
        body="photos",
        attachments=urls,
        status=MessageStatus.UNDELIVERED,
        recipients=[
            Recipient(
                participant_id=maria.id,
                phone=maria.phone,
                status=MessageStatus.UNDELIVERED,
                error=TOO_LARGE,
            ),
            Recipient(participant_id=ben.id, phone=ben.phone, status=MessageStatus.DELIVERED),
        ],
    )


async def test_too_large_for_one_carrier_names_them_and_compress_and_resend_sends_smaller() -> None:
    store, conv, vm, sync = thread()
    maria = vm.participant_name(conv.participants[0])
    photo = files.photo(1600, 1200)
    urls = ["https://files.example/a1/beach.jpg"]
    store.put_messages(conv.id, [refused_message(conv, urls)])
    item = next(r for r in vm.rows if getattr(r, "body", "") == "photos")
    assert item.too_large_note == (
        f"Not delivered to {maria}: the picture is too large for their carrier."
    )
    assert item.can_compress

    async def load(url: str) -> bytes:
        assert url == urls[0]
        return photo

    assert await vm.compress_and_resend(item, load)
    (resent,) = sync.files
    assert resent[0].name == "beach.jpg" and len(resent[0].data) < len(photo)
    assert sync.sent[-1] == (conv.id, "photos")


async def test_compress_and_resend_is_no_longer_offered_once_the_resend_went() -> None:
    store, conv, vm, sync = thread()
    store.put_messages(conv.id, [refused_message(conv, ["https://files.example/a1/b.jpg"])])
    item = next(r for r in vm.rows if getattr(r, "body", "") == "photos")
    updates: list[Any] = []
    vm.listen(lambda what, payload: updates.append(payload) if what == "update" else None)

    async def load(url: str) -> bytes:
        return files.photo(1600, 1200)

    assert await vm.compress_and_resend(item, load)
    assert len(sync.files) == 1
    old = next(r for r in vm.rows if getattr(r, "key", "") == item.key)
    assert not old.can_compress and old.too_large_note == item.too_large_note
    assert [u.key for u in updates if not u.can_compress] == [item.key]
    # The store redrawing the old message (a status event) keeps it hidden.
    assert not vm.item_for(vm.messages[vm._index(item.key)]).can_compress


async def test_compress_and_resend_tapped_twice_at_once_sends_once() -> None:
    """A double click (or a tap delivered twice) while the first is still compressing."""
    import asyncio

    store, conv, vm, sync = thread()
    store.put_messages(conv.id, [refused_message(conv, ["https://files.example/a1/b.jpg"])])
    item = next(r for r in vm.rows if getattr(r, "body", "") == "photos")
    started = asyncio.Event()

    async def load(url: str) -> bytes:
        started.set()
        await asyncio.sleep(0)  # the second tap lands while this one is loading
        return files.photo(1600, 1200)

    first = asyncio.ensure_future(vm.compress_and_resend(item, load))
    await started.wait()
    assert not next(r for r in vm.rows if getattr(r, "key", "") == item.key).can_compress
    assert not await vm.compress_and_resend(item, load)
    assert await first
    assert len(sync.files) == 1


async def test_compress_and_resend_says_why_a_pdf_cannot_shrink() -> None:
    store, conv, vm, sync = thread()
    store.put_messages(conv.id, [refused_message(conv, ["https://f/x/big.pdf"])])
    item = next(r for r in vm.rows if getattr(r, "body", "") == "photos")
    assert "file is too large" in (item.too_large_note or "")

    async def load(url: str) -> bytes:
        return files.pdf(900_000)

    assert not await vm.compress_and_resend(item, load)
    assert vm.error is not None and "big.pdf" in vm.error and "can't be made smaller" in vm.error
    assert sync.files == []
    # Refused: the button is back, to try again later.
    assert next(r for r in vm.rows if getattr(r, "key", "") == item.key).can_compress


async def test_a_file_this_device_uploaded_keeps_its_size_for_the_chip() -> None:
    store, conv, vm, sync = thread()
    outbox_files = [
        OutboxFile("a.pdf", "application/pdf", "/c/l9/00-a.pdf"),
        OutboxFile("b.pdf", "application/pdf", "/c/l9/01-b.pdf"),
    ]
    store.add_outgoing(conv.id, "files", outbox_files, local_id="l9")
    sync.outbox.report(UploadProgress("l9", 0, 400, 1234))  # halfway: not a size yet
    sync.outbox.report(UploadProgress("l9", 1, 5678, 5678, True))
    local = store.message("c:l9")
    assert local is not None
    sent = local.model_copy(update={"attachments": ["https://f/1/a.pdf", "https://f/2/b.pdf"]})
    assert vm.item_for(sent).sizes == (None, 5678)
    # Someone else's file: no size known, and nothing is fetched to learn it.
    other = make_message(conv, body="x", attachments=["https://f/3/c.pdf"])
    assert vm.item_for(other).sizes == ()
