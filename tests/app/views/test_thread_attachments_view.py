"""Attachments in the thread view on Flet's real diff engine: the composer's preview row,
upload bars in one bubble, pictures inline, file chips, and a carrier's size refusal."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft
import pytest

from app.components.attachments import BytesCache, FileChip, ImageAttachment, PickedChip
from app.state.thread import ThreadVM
from app.views.thread import ThreadView
from services.attachments import AttachmentSource
from services.models import MessageStatus, Recipient
from services.outbox import UploadProgress
from services.store import Store
from services.store_types import OutboxFile
from tests.app.conftest import FakeSession, find, settle, texts, walk
from tests.app.fakes import make_message
from tests.app.state.test_thread_attachments import TOO_LARGE, Sync
from tests.factories import make_admin, make_contacts, make_conversation, make_number
from tests.services import attachment_files as files

pytestmark = pytest.mark.anyio
PHOTO = files.photo(1200, 900)
PDF = files.pdf(30_000)


def build(fake: FakeSession, picks: list[list[AttachmentSource]] | None = None) -> Any:
    store = Store(":memory:")
    conv = make_conversation(contacts=make_contacts(2), name="Team")
    store.put_conversation(conv)
    me = make_admin(id="admin")
    sync = Sync(store, me)
    vm = ThreadVM(store=store, sync=sync, me=me, numbers=[make_number()], conversation_id=conv.id)
    store.subscribe(vm.on_store_change)
    queue = list(picks or [])
    downloads: list[str] = []

    async def pick_files() -> list[AttachmentSource]:
        return queue.pop(0) if queue else []

    async def load(url: str) -> bytes:
        downloads.append(f"GET {url}")
        return PDF if url.endswith(".pdf") else PHOTO

    cache = BytesCache(load, sizes=store)  # as the shell wires it

    async def download(url: str) -> None:  # as the shell does: through the cache
        downloads.append(url)
        await cache.get(url)

    view = ThreadView(
        vm,
        page=fake.page,
        cache=cache,
        on_back=None,
        on_participants=lambda: None,
        on_recreate=lambda: None,
        pick_files=pick_files,
        download=download,
    )
    fake.register()
    fake.page.add(view.root)
    return store, conv, vm, view, sync, downloads


async def test_picked_files_show_in_a_row_with_thumbnail_size_and_remove(fake_session):
    picks = [
        [
            AttachmentSource(name="beach.jpg", data=PHOTO),
            AttachmentSource(name="plan.pdf", data=PDF),
            AttachmentSource(name="setup.png", data=files.windows_exe()),
        ]
    ]
    _, _, vm, view, _, _ = build(fake_session, picks)
    box = find(view.root, "picked-files")
    assert not box.visible
    await fake_session.event(view.attach_button, "click")
    await settle(20)
    chips = [c for c in walk(box) if isinstance(c, PickedChip)]
    assert len(chips) == 2 and box.visible
    shown = texts(box)
    assert "beach.jpg" in shown and "plan.pdf" in shown and "29 KB" in shown
    assert any(t.startswith("Compressed from ") for t in shown)
    assert any("setup.png" in t for t in shown)  # refused, in words, before upload
    assert any(isinstance(c, ft.Image) for c in walk(chips[0]))  # the picture's thumbnail
    remove = find(chips[1], "remove-file").content
    focused = fake_session.conn.invoked.count("focus")
    await fake_session.event(remove, "click")
    assert [f.name for f in vm.tray.files] == ["beach.jpg"]
    await settle()
    # The Remove button went with its file: the keyboard focus goes to the composer.
    assert fake_session.conn.invoked.count("focus") == focused + 1
    assert len([c for c in walk(box) if isinstance(c, PickedChip)]) == 1
    # "Send original": the compressed picture goes as picked, and the button goes away.
    original = find(box, "send-original")
    # What it does is the button's hint (for a reader) and its tooltip (for a pointer).
    assert "full quality" in original.content.content.hint
    assert "full quality" in original.content.tooltip.message
    await fake_session.event(original.content, "click")
    assert vm.tray.files[0].prepared is not None and not vm.tray.files[0].prepared.compressed
    with pytest.raises(LookupError):
        find(box, "send-original")


async def test_progress_redraws_one_bubble_and_cancel_reaches_the_outbox(fake_session):
    store, conv, _vm, view, sync, _ = build(fake_session)
    outbox_files = [
        OutboxFile("a.png", "image/png", "/c/l9/00-a.png"),
        OutboxFile("b.pdf", "application/pdf", "/c/l9/01-b.pdf"),
    ]
    sync.outbox.uploading.add("l9")
    store.add_outgoing(conv.id, "files", outbox_files, local_id="l9")
    await settle()
    bubble = view.bubbles["c:l9"]
    bars = [c for c in walk(bubble) if isinstance(c, ft.ProgressBar)]
    assert [b.value for b in bars] == [None, None]
    fake_session.mark()
    sync.outbox.report(UploadProgress("l9", 0, 500, 1000))
    await settle()
    bars = [c for c in walk(bubble) if isinstance(c, ft.ProgressBar)]
    assert [b.value for b in bars] == [0.5, None]
    assert 0 < fake_session.bytes_since_mark() < 4000  # one bubble, not the list
    cancel = find(bubble, "cancel-upload").content
    await fake_session.event(cancel, "click")
    assert sync.outbox.cancelled == ["l9"]


async def test_pictures_inline_open_full_size_and_files_are_chips_that_download(fake_session):
    store, conv, _vm, view, _, downloads = build(fake_session)
    urls = ["https://f/a1/beach.jpg", "https://f/a2/my%20plan.pdf"]
    store.put_messages(conv.id, [make_message(conv, body="look", attachments=urls)])
    await settle(30)
    bubble = next(iter(view.bubbles.values()))
    image = next(c for c in walk(bubble) if isinstance(c, ImageAttachment))
    for _ in range(500):  # the thumbnail is made in a worker thread
        if isinstance(image.box.content, ft.Image):
            break
        await asyncio.sleep(0.01)
    assert image.box.width == 240 and image.box.height == 180 and image.image_bytes == PHOTO
    chip = next(c for c in walk(bubble) if isinstance(c, FileChip))
    # Not downloaded just to be measured: no size until the user downloads it.
    assert chip.name == "my plan.pdf" and "File" in texts(chip) and "29 KB" not in texts(chip)
    assert f"GET {urls[1]}" not in downloads
    await fake_session.event(image.opener, "click")
    dialog = fake_session.page._dialogs.controls[-1]
    assert isinstance(dialog, ft.AlertDialog) and "beach.jpg" in texts(dialog)
    button = next(c for c in walk(chip) if isinstance(c, ft.IconButton))
    await fake_session.event(button, "click")
    await settle()
    assert [d for d in downloads if d.endswith(".pdf")] == [urls[1], f"GET {urls[1]}"]
    assert "29 KB" in texts(chip) and chip.label == "File my plan.pdf, 29 KB"
    assert store.file_size(urls[1]) == len(PDF)  # remembered for the next start


async def test_a_size_remembered_from_an_earlier_run_shows_without_fetching(fake_session):
    store, conv, _vm, view, _, downloads = build(fake_session)
    url = "https://f/a2/plan.pdf"
    store.put_file_size(url, 30_000)  # uploaded or downloaded by this device before a restart
    store.put_messages(conv.id, [make_message(conv, body="the plan", attachments=[url])])
    await settle(30)
    chip = next(c for v in view.bubbles.values() for c in walk(v) if isinstance(c, FileChip))
    assert "29 KB" in texts(chip) and chip.label == "File plan.pdf, 29 KB"
    assert downloads == []


async def test_a_size_refusal_names_who_and_offers_compress_and_resend(fake_session):
    store, conv, vm, view, _, _ = build(fake_session)
    maria = vm.participant_name(conv.participants[0])
    message = make_message(
        conv,
        body="pics",
        attachments=["https://f/a1/beach.jpg"],
        recipients=[
            Recipient(
                participant_id=conv.participants[0].id,
                status=MessageStatus.UNDELIVERED,
                error=TOO_LARGE,
            ),
            Recipient(participant_id=conv.participants[1].id, status=MessageStatus.DELIVERED),
        ],
    )
    store.put_messages(conv.id, [message])
    await settle()
    bubble = next(iter(view.bubbles.values()))
    assert f"Not delivered to {maria}: the picture is too large for their carrier." in texts(bubble)
    assert find(bubble, "compress-resend").visible
    assert not bubble.retry.visible


async def test_a_file_chip_shows_the_size_this_device_knows_without_fetching(fake_session):
    loads: list[str] = []

    async def load(url: str) -> bytes:
        loads.append(url)
        return PDF

    chip = FileChip("https://f/1/a.pdf", lambda _: None, BytesCache(load)).with_size(30_000)
    fake_session.register()
    fake_session.page.add(chip)
    await settle()
    assert "29 KB" in texts(chip) and chip.label == "File a.pdf, 29 KB" and loads == []


async def test_the_cursor_returns_to_the_composer_after_files_are_picked(fake_session):
    _, _, _, view, _, _ = build(fake_session, [[AttachmentSource(name="plan.pdf", data=PDF)], []])
    await fake_session.event(view.attach_button, "click")
    await settle(20)
    # The file dialog took the focus; the caption is typed next, so the composer has it.
    assert fake_session.conn.invoked.count("focus") == 1
    await fake_session.event(view.attach_button, "click")  # the dialog was cancelled
    await settle(20)
    assert fake_session.conn.invoked.count("focus") == 1
