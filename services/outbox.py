"""The durable outbox: nothing the user sends is lost, nothing is sent twice.

A message (and copies of its files) is committed to the store before any
network call, so it survives a crash or a restart and shows as "sending" at
once. The worker sends each conversation's oldest entry, one at a time per
conversation so a thread keeps its order, with the entry's clientMessageId —
a repeat after a lost answer is a replay the server recognises, not a second
message. Files are uploaded first and their URLs remembered, so a retry does
not upload them again.

Errors that time can fix (network, timeouts, 5xx, 429, an expired sign-in)
leave the entry queued and retry it with backoff; errors it cannot fix (the
group is blocked, access was lost, the message breaks a rule, a file is too
large or of a refused type) mark it failed, with Retry and Delete for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.api import (
    ApiClient,
    ApiError,
    AuthError,
    MalformedResponseError,
    NetworkError,
    RateLimitedError,
    ServerError,
)
from services.backoff import Backoff
from services.limits import ALLOWED_ATTACHMENT_TYPES
from services.store import Store
from services.store_types import LocalMessage, OutboxEntry, OutboxFile

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

CANCELLED = "Upload cancelled. Retry sends the files not sent yet."


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """How far one file of an outbox entry has gone up (``sent`` of ``total`` bytes)."""

    local_id: str
    index: int  # the file's place in the message
    sent: int
    total: int
    done: bool = False


ProgressListener = Callable[[UploadProgress], None]


class _Cancelled(Exception):
    """The user cancelled an entry's uploads (not the worker being stopped)."""


@dataclass(frozen=True)
class OutgoingFile:
    """A file to send: its bytes (already checked and compressed) or a path to them."""

    name: str
    content_type: str | None = None
    data: bytes | None = None
    path: str | None = None


def is_retryable(error: ApiError) -> bool:
    """Whether waiting and sending again can succeed (else the message is failed)."""
    if isinstance(error, (NetworkError, ServerError, RateLimitedError, MalformedResponseError)):
        return True
    # Signing in again fixes it without a new message; keep it queued meanwhile.
    return isinstance(error, AuthError)


class Outbox:
    def __init__(
        self,
        client: ApiClient,
        store: Store,
        files_dir: Path,
        *,
        backoff: Backoff | None = None,
        user_id: str | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._files_dir = files_dir
        self._backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.user_id = user_id
        # Called when a send got through: the server is reachable (Sync reconnects now).
        self.on_reached_server: Callable[[], None] | None = None
        self._wake = asyncio.Event()
        # local_id -> monotonic time before which it is not retried (in memory only:
        # after a restart everything queued is tried at once).
        self._not_before: dict[str, float] = {}
        # Progress goes to listeners only (it changes too often for the store).
        self._listeners: list[ProgressListener] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._uploading: set[str] = set()
        self._cancelled: set[str] = set()
        # Before anything can be added: copies left by entries that finished elsewhere.
        self._remove_orphans({e.local_id for e in store.outbox()})

    # --- what the user does --------------------------------------------------------

    async def add(
        self, conversation_id: str, body: str, attachments: Sequence[OutgoingFile | Path] = ()
    ) -> LocalMessage:
        local_id = str(uuid.uuid4())
        files = await asyncio.to_thread(self._keep_files, local_id, attachments)
        message = self._store.add_outgoing(
            conversation_id, body, files, local_id=local_id, user_id=self.user_id
        )
        self.nudge()
        return message

    def retry(self, local_id: str) -> None:
        self._store.outbox_set_state(local_id, "queued")
        self._not_before.pop(local_id, None)
        self.nudge()

    def discard(self, local_id: str) -> None:
        if self._store.outbox_remove(local_id) is not None:
            self._remove_files(local_id)

    def cancel(self, local_id: str) -> bool:
        """Stop an entry's uploads now; it fails with Retry (files sent so far are kept).

        Only while files are going up: once they are, the send itself is one
        short request that the server may already have carried out.
        """
        task = self._running.get(local_id)
        if task is None or task.done() or local_id not in self._uploading:
            return False
        self._cancelled.add(local_id)
        task.cancel()
        return True

    def watch_uploads(self, listener: ProgressListener) -> Callable[[], None]:
        """Call ``listener`` as files go up (on the event loop); returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def uploaded(self, local_id: str) -> list[bool]:
        """For each file of an entry, whether it is already on the server."""
        entry = self._store.outbox_entry(local_id)
        return [] if entry is None else [f.url is not None for f in entry.files]

    def is_uploading(self, local_id: str) -> bool:
        return local_id in self._uploading

    def nudge(self, *, now: bool = False) -> None:
        """Look at the queue again; ``now`` also cancels waits (the network is back)."""
        if now:
            self._not_before.clear()
        self._wake.set()

    # --- the worker ----------------------------------------------------------------

    async def run(self) -> None:
        """Send until cancelled. Owned by Sync, which cancels it on stop."""
        while True:
            self._wake.clear()
            due, wait = self._due()
            if not due:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                # cancellation that races with the wake-up, and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                continue
            # One entry per conversation at a time; different threads go in parallel.
            async with asyncio.TaskGroup() as group:
                for entry in due:
                    task = group.create_task(self._attempt(entry))
                    self._running[entry.local_id] = task
                    task.add_done_callback(self._forget(entry.local_id))

    def _forget(self, local_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(local_id, None)

        return forget

    def _due(self) -> tuple[list[OutboxEntry], float | None]:
        now = time.monotonic()
        due: list[OutboxEntry] = []
        soonest: float | None = None
        for entry in self._store.outbox_heads():
            at = self._not_before.get(entry.local_id, 0.0)
            if at <= now:
                due.append(entry)
            else:
                soonest = at - now if soonest is None else min(soonest, at - now)
        return due, soonest

    async def _attempt(self, entry: OutboxEntry) -> None:
        try:
            urls = await self._upload(entry)
            result = await self._client.send_message(
                entry.conversation_id, entry.body, urls, client_message_id=entry.local_id
            )
        except _Cancelled:
            self._store.outbox_set_state(entry.local_id, "failed", CANCELLED)
        except ApiError as error:
            self._failed_attempt(entry, error)
        except OSError as error:
            log.warning("outbox %s: file unreadable: %s", entry.local_id, error)
            self._store.outbox_set_state(
                entry.local_id, "failed", "An attached file is no longer available."
            )
        except Exception as error:
            # A bug must not kill the worker or lose the message: keep it, retry later.
            log.exception("outbox %s: unexpected failure", entry.local_id)
            self._failed_attempt(entry, MalformedResponseError(str(error)))
        else:
            self._not_before.pop(entry.local_id, None)
            # Every file has its URL now, so the copies can go before the entry does.
            await asyncio.to_thread(self._remove_files, entry.local_id)
            self._store.outbox_sent(entry.local_id, result.message_id, result.status)
            if self.on_reached_server is not None:
                self.on_reached_server()

    async def _upload(self, entry: OutboxEntry) -> list[str]:
        self._uploading.add(entry.local_id)
        try:
            for index, file in enumerate(entry.files):
                if file.url is not None:
                    continue  # uploaded on an earlier attempt
                data = await asyncio.to_thread(Path(file.path).read_bytes)
                file.url = await self._client.upload(
                    entry.conversation_id,
                    file.name,
                    data,
                    file.content_type,
                    on_progress=self._progress(entry.local_id, index),
                )
                self._store.outbox_save(entry)
                self._store.put_file_size(file.url, len(data))  # the chip's size, after restarts
                self._report(UploadProgress(entry.local_id, index, len(data), len(data), True))
        except asyncio.CancelledError:
            if entry.local_id not in self._cancelled:
                raise  # the worker is stopping: the entry stays queued
            self._cancelled.discard(entry.local_id)
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise _Cancelled from None
        finally:
            self._uploading.discard(entry.local_id)
        return [f.url for f in entry.files if f.url is not None]

    def _progress(self, local_id: str, index: int) -> Callable[[int, int], None]:
        def report(sent: int, total: int) -> None:
            self._report(UploadProgress(local_id, index, sent, total))

        return report

    def _report(self, progress: UploadProgress) -> None:
        for listener in list(self._listeners):
            try:
                listener(progress)
            except Exception:  # a screen's bug must not fail the upload
                log.exception("upload progress listener failed")

    def _failed_attempt(self, entry: OutboxEntry, error: ApiError) -> None:
        if not is_retryable(error):
            log.info("outbox %s refused: %s", entry.local_id, error)
            self._store.outbox_set_state(entry.local_id, "failed", error.user_message)
            return
        entry.attempts += 1
        self._store.outbox_save(entry)
        wait = self._backoff.delay(entry.attempts)
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            wait = max(wait, float(retry_after))
        log.info("outbox %s: %s; retrying in %.1fs", entry.local_id, error, wait)
        self._not_before[entry.local_id] = time.monotonic() + wait

    # --- files ---------------------------------------------------------------------

    def _keep_files(
        self, local_id: str, attachments: Sequence[OutgoingFile | Path]
    ) -> list[OutboxFile]:
        """Copy each file into the cache folder: the user may move the original."""
        if not attachments:
            return []
        folder = self._files_dir / local_id
        folder.mkdir(parents=True, exist_ok=True)
        kept: list[OutboxFile] = []
        for index, item in enumerate(attachments):
            file = (
                item if isinstance(item, OutgoingFile) else OutgoingFile(item.name, path=str(item))
            )
            target = folder / f"{index:02d}-{_UNSAFE.sub('_', file.name)[-80:]}"
            if file.data is not None:
                target.write_bytes(file.data)
            elif file.path is not None:
                shutil.copyfile(file.path, target)
            else:
                raise ValueError(f"attachment {file.name!r} has neither data nor path")
            kept.append(OutboxFile(file.name, file.content_type or _guess(file.name), str(target)))
        return kept

    def _remove_orphans(self, keep: set[str]) -> None:
        # Copies of entries that finished elsewhere (the server's copy arrived first).
        if self._files_dir.is_dir():
            for folder in self._files_dir.iterdir():
                if folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)

    def _remove_files(self, local_id: str) -> None:
        shutil.rmtree(self._files_dir / local_id, ignore_errors=True)


def _guess(name: str) -> str:
    return ALLOWED_ATTACHMENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
