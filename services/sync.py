"""Keeps the store in step with the server: live updates, the outbox, unread.

``Sync`` owns two tasks, started by ``start()`` and cancelled by ``stop()``:

- the event loop, which reads the contract's event stream and applies each
  event to the store exactly once. It prefers server-sent events; it uses
  long-poll where streaming is not possible (the embedded backend reached
  through ``httpx.ASGITransport``, which buffers whole responses) or not
  offered; and it polls conversation search on a backend with no event stream
  at all (LeadConnector). After a drop it reconnects with backoff and jitter
  and resumes from the stored cursor, so nothing is missed or applied twice.
  Its connection state (connected / reconnecting / offline) goes to the store's
  subscribers as ``ConnectionChanged``.
- the outbox worker (see ``services.outbox``).

Each window of the app tells Sync which thread it shows and whether it can be
seen (a ``Window``): a new inbound message elsewhere raises a notification; a
thread open in a window on screen is read instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import httpx

from services.api import ApiClient, ApiError, NotFoundError, UnsupportedFeatureError
from services.backoff import Backoff
from services.models import (
    Contact,
    ConversationSummary,
    Direction,
    Event,
    EventBatch,
    EventType,
    Message,
)
from services.notify import Notifier, NullNotifier, safe_notify
from services.outbox import Outbox, OutgoingFile
from services.pacing import Pacer
from services.store import Store
from services.store_types import ConnectionChanged, ConnectionState, LocalMessage

_S = TypeVar("_S", bound=ConversationSummary)
log = logging.getLogger(__name__)

# Consecutive failures after which "reconnecting" becomes "offline".
_OFFLINE_AFTER = 3
_LIST_PAGE = 100
_LIST_MAX = 1000
_THREAD_PAGE = 50
# The largest contacts page the contract's sandbox accepts (its pageLimit maximum), and
# no more than LeadConnector is known to take: 501 requests for 50,000 contacts.
_PEOPLE_PAGE = 100
_CONTACT_CHUNK = 500
_COALESCE_S = 0.1
# More new messages than this in one batch make one summary notification.
_MAX_NOTICES = 3


class LiveMode(StrEnum):
    AUTO = "auto"
    SSE = "sse"
    LONG_POLL = "long-poll"
    POLL = "poll"


@dataclass
class Window:
    """What one window of the app shows: its open thread, and whether it can be seen
    (False while hidden or minimised: its thread is not being read then, so the thread's
    messages notify and are not marked read)."""

    conversation_id: str | None = None
    visible: bool = True


class Sync:
    def __init__(
        self,
        client: ApiClient,
        store: Store,
        notifier: Notifier | None = None,
        *,
        files_dir: Path | None = None,
        live: LiveMode | str = LiveMode.AUTO,
        long_poll_wait: int = 25,
        poll_interval: float = 15.0,
        backoff: Backoff | None = None,
        outbox_backoff: Backoff | None = None,
        user_id: str | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.notifier: Notifier = notifier or NullNotifier()
        # Each window's thread and visibility (the web app serves a window per browser
        # tab, all on this Sync: one tab hidden or closed must not stop another reading).
        # The first is for a client with one window: ``open_conversation_id``, ``visible``.
        self._windows: list[Window] = [Window()]
        self._asked_user = False
        self._notices: list[tuple[str, str, str]] = []
        self._user_id = user_id
        self._ever_connected = False
        self._live = LiveMode(live)
        self._mode = self._initial_mode()
        self._long_poll_wait = long_poll_wait
        self._poll_interval = poll_interval
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._state = ConnectionState.RECONNECTING
        self._tasks: list[asyncio.Task[None]] = []
        self._older: dict[str, str | None] = {}
        self._cursor_ready = asyncio.Event()
        # Set when a send got through while live updates wait to reconnect: try now.
        self._reconnect_now = asyncio.Event()
        self.outbox = Outbox(
            client,
            store,
            files_dir or _default_files_dir(store),
            backoff=outbox_backoff,
            user_id=user_id,
        )
        self.outbox.on_reached_server = self._server_reached
        # Paces bulk copies (people) to leave a share of the rate limit to the user.
        self.pacer = Pacer(client)
        self._people_task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The signed-in user: their own messages are not news (fetched when not given)."""
        return self._user_id

    @user_id.setter
    def user_id(self, value: str | None) -> None:
        self._user_id = value
        self.outbox.user_id = value

    @property
    def connection_state(self) -> ConnectionState:
        return self._state

    @property
    def mode(self) -> LiveMode:
        """How live updates arrive right now (changes as fallbacks kick in)."""
        return self._mode

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def start(self) -> None:
        if self.running:
            return
        if self.store.cursor() is not None or self._mode is LiveMode.POLL:
            self._cursor_ready.set()
        self._tasks = [
            asyncio.create_task(self._guard(self._run_events), name="sync-events"),
            asyncio.create_task(self._guard(self._run_outbox), name="sync-outbox"),
        ]

    async def _run_outbox(self) -> None:
        # On a first run, send only once the event cursor is fixed: a message sent
        # before it would have its delivery updates behind the cursor, never seen.
        await self._cursor_ready.wait()
        await self.outbox.run()

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        if self._people_task is not None:
            tasks.append(self._people_task)
            self._people_task = None
        pending = set(tasks)
        while pending:
            # Cancel again if needed: code below us (asyncio.wait_for on 3.11, in the
            # backend or a library) can swallow a cancellation that races a wake-up.
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.warning("sync task ended with %r", task.exception())

    async def _guard(self, body: Callable[[], Awaitable[None]]) -> None:
        # A bug in one pass must not end live updates for the session: log, pause, go on.
        while True:
            try:
                await body()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync task %s crashed; restarting", body)
                await asyncio.sleep(self._backoff.delay(_OFFLINE_AFTER))

    # --- what the app asks for ------------------------------------------------------

    async def refresh_conversations(self) -> None:
        """Fetch the conversation list (newest first) and reconcile the cache with it."""
        found: list[ConversationSummary] = []
        after: tuple[int | None, str | None] = (None, None)
        total = 0
        while len(found) < _LIST_MAX:
            page = await self.client.search_conversations(
                limit=_LIST_PAGE, start_after_date=after[0], start_after_id=after[1]
            )
            found.extend(page.conversations)
            total = page.total
            if len(page.conversations) < _LIST_PAGE or len(found) >= total:
                break
            last = page.conversations[-1]
            after = (last.last_message_date, last.id)
        # Only a complete answer may drop conversations this user no longer sees.
        await self._put_listed(found, replace=len(found) >= total)

    async def _put_listed(self, found: list[ConversationSummary], *, replace: bool) -> None:
        """The server's list into the cache, the threads on screen as read (``_apply``),
        and the server told so when it counted them unread."""
        reading = self._reading()
        unread_on_screen = [s.id for s in found if s.unread_count and s.id in reading]
        self.store.put_conversations([self._as_read(s) for s in found], replace=replace)
        for conversation_id in unread_on_screen:
            await self.mark_read(conversation_id)

    async def load_conversation(self, conversation_id: str) -> None:
        """Fetch a thread's details and its newest page of messages."""
        conversation = await self.client.get_conversation(conversation_id)
        self.store.put_conversation(self._as_read(conversation))
        page = await self.client.get_messages(conversation_id, limit=_THREAD_PAGE)
        self.store.put_messages(conversation_id, page.messages)
        if conversation_id not in self._older:
            self._older[conversation_id] = page.last_message_id if page.next_page else None

    async def load_older(self, conversation_id: str) -> bool:
        """Fetch the page before the oldest cached message; False when there is none."""
        if conversation_id in self._older and self._older[conversation_id] is None:
            return False
        anchor = self._older.get(conversation_id) or self._oldest_server_id(conversation_id)
        page = await self.client.get_messages(
            conversation_id, limit=_THREAD_PAGE, last_message_id=anchor
        )
        self.store.put_messages(conversation_id, page.messages)
        self._older[conversation_id] = page.last_message_id if page.next_page else None
        return page.next_page

    def _oldest_server_id(self, conversation_id: str) -> str | None:
        for message in self.store.messages(conversation_id, limit=_THREAD_PAGE * 20):
            if message.local_state == "sent":
                return message.id
        return None

    async def refresh_people(self) -> None:
        """Fetch the contacts and teammates this user may see (for the group wizard).

        A background copy: it takes the largest pages the servers accept and pauses
        whenever the token's remaining requests fall under the pacer's reserve, so
        the user's own requests (shared limit) never meet a 429 because of it.
        """
        # Written in pieces as pages arrive, so 50,000 contacts never block the loop long.
        seen: set[str] = set()
        chunk: list[Contact] = []
        after: Any = None
        while True:
            await self.pacer.wait()
            page = await self.client.search_contacts(page_limit=_PEOPLE_PAGE, search_after=after)
            seen.update(c.id for c in page.contacts)
            chunk.extend(page.contacts)
            if len(chunk) >= _CONTACT_CHUNK:  # one write (and one change notice) per chunk
                self.store.put_contacts(chunk)
                chunk = []
            following = page.contacts[-1].search_after if page.contacts else None
            if len(page.contacts) < _PEOPLE_PAGE or following in (None, after):
                break
            after = following
        self.store.put_contacts(chunk)
        self.store.retain_contacts(seen)
        await self.pacer.wait()
        self.store.put_teammates(await self.client.teammates())

    def refresh_people_soon(self) -> asyncio.Task[None]:
        """Copy people in a task Sync owns: start-up never waits, ``stop()`` cancels it."""
        if self._people_task is None or self._people_task.done():
            self._people_task = asyncio.create_task(self._copy_people(), name="sync-people")
        return self._people_task

    async def _copy_people(self) -> None:
        try:
            await self.refresh_people()
        except ApiError as error:
            # The next connect copies again; the wizard searches the server meanwhile.
            log.info("people copy stopped: %s", error)

    async def send(
        self,
        conversation_id: str,
        body: str,
        attachments: Sequence[OutgoingFile | Path] = (),
    ) -> LocalMessage:
        """Queue a message durably (shown as sending at once); the outbox sends it."""
        return await self.outbox.add(conversation_id, body, attachments)

    async def retry(self, local_id: str) -> None:
        self.outbox.retry(local_id)

    async def discard(self, local_id: str) -> None:
        self.outbox.discard(local_id)

    # --- windows -----------------------------------------------------------------------

    def window(self) -> Window:
        """A new window's state, followed until ``close_window``."""
        window = Window()
        self._windows.append(window)
        return window

    def close_window(self, window: Window) -> None:
        if window in self._windows[1:]:
            self._windows.remove(window)

    @property
    def open_conversation_id(self) -> str | None:
        """The thread open in the first window (a client with one window)."""
        return self._windows[0].conversation_id

    @open_conversation_id.setter
    def open_conversation_id(self, conversation_id: str | None) -> None:
        self._windows[0].conversation_id = conversation_id

    @property
    def visible(self) -> bool:
        """Whether the first window can be seen (False hidden or minimised)."""
        return self._windows[0].visible

    @visible.setter
    def visible(self, visible: bool) -> None:
        self._windows[0].visible = visible

    async def mark_read(self, conversation_id: str) -> None:
        """Clear the unread badge now, and on the server (and so on every device)."""
        summary = self.store.summary(conversation_id)
        if summary is not None and summary.unread_count:
            self.store.update_conversation(conversation_id, unread_count=0)
        try:
            await self.client.mark_read(conversation_id)
        except ApiError as error:
            # The next ConversationUpdated (or refresh) brings the true count back.
            log.info("mark read failed for %s: %s", conversation_id, error)

    # --- live updates ---------------------------------------------------------------

    def _initial_mode(self) -> LiveMode:
        if self._live is not LiveMode.AUTO:
            return self._live
        if not getattr(self.client, "supports_events", True):
            return LiveMode.POLL
        # In-process transports buffer whole responses: a stream would never start.
        http = getattr(self.client, "_http", None)
        in_process = isinstance(getattr(http, "_transport", None), httpx.ASGITransport)
        if in_process or getattr(self.client, "_in_process", False):
            return LiveMode.LONG_POLL
        return LiveMode.SSE

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        self.store.emit(ConnectionChanged(state))
        if state is ConnectionState.CONNECTED:
            self._ever_connected = True
            self.outbox.nudge(now=True)  # the network is back: resend without waiting

    async def _run_events(self) -> None:
        failures = 0
        while True:
            try:
                if self._mode is LiveMode.POLL:
                    await self._poll_once()
                    self._set_state(ConnectionState.CONNECTED)
                    failures = 0
                    await asyncio.sleep(self._poll_interval)
                    continue
                await self._catch_up()
                failures = 0
                await self._learn_user()
                if self._mode is LiveMode.SSE and not await self._stream():
                    # A stream that ends without a single event: do not spin on it.
                    await asyncio.sleep(self._backoff.delay(1))
            except (UnsupportedFeatureError, NotFoundError) as error:
                self._fall_back(error)
            except ApiError as error:
                failures += 1
                # Never reached this session (a cold start): say offline at once.
                offline = failures >= _OFFLINE_AFTER or not self._ever_connected
                self._set_state(
                    ConnectionState.OFFLINE if offline else ConnectionState.RECONNECTING
                )
                delay = self._backoff.delay(failures)
                log.info("live updates: %s; reconnecting in %.1fs", error, delay)
                await self._wait_to_reconnect(delay)

    async def _wait_to_reconnect(self, delay: float) -> None:
        # A message that got through proves the server is back: do not sit out the
        # backoff (the screen would say Offline while texts are being delivered).
        self._reconnect_now.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._reconnect_now.wait()

    def _server_reached(self) -> None:
        if self._state is not ConnectionState.CONNECTED:
            self._reconnect_now.set()

    def _fall_back(self, error: ApiError) -> None:
        self._mode = LiveMode.LONG_POLL if self._mode is LiveMode.SSE else LiveMode.POLL
        log.info("live updates: %s; using %s", error, self._mode)

    async def _catch_up(self) -> None:
        """Long-poll from the stored cursor (in long-poll mode, this is the loop body).

        Before a stream opens it also proves the server is reachable and applies
        everything missed while away, in one transaction per batch.
        """
        while True:
            cursor = self.store.cursor()
            wait = self._long_poll_wait if self._mode is LiveMode.LONG_POLL else 0
            if self._state is not ConnectionState.CONNECTED:
                wait = 0  # answer at once, to confirm the connection
            batch = await self.client.events(after=cursor, wait=wait)
            self._set_state(ConnectionState.CONNECTED)
            if cursor is None:
                # First run: follow from now, and take the list as it is now.
                self.store.start_new_log(batch.cursor or "0", batch.log_id)
                self._cursor_ready.set()
                await self.refresh_conversations()
                return
            kept = self.store.event_log()
            if _another_log(cursor, kept, batch):
                # The server's log is a new one, its event ids start again, and what this
                # answer holds is of that log, not after this cursor: start as on a first run.
                log.warning("the server's event log is a new one (after cursor %s)", cursor)
                now = await self.client.events(after=None, wait=0)
                self.store.start_new_log(now.cursor or "0", now.log_id or batch.log_id)
                await self.refresh_conversations()
                return
            if batch.log_id is not None and kept is None:
                self.store.set_event_log(batch.log_id)  # a cursor kept before logs had ids
            await self._apply(batch.events, batch.cursor or cursor)
            if batch.events and self._mode is LiveMode.LONG_POLL:
                # Events come in bursts (a send is followed by a delivery update per
                # recipient): a short pause takes the burst in fewer requests, well
                # inside the rate limit, for a tenth of a second of latency.
                await asyncio.sleep(_COALESCE_S)
            if not batch.events or self._mode is LiveMode.LONG_POLL:
                return

    async def _stream(self) -> bool:
        """Follow the stream until the server closes it; whether any event came."""
        got = False
        async for event in self.client.stream_events(after=self.store.cursor()):
            got = True
            await self._apply([event], event.id)
        # The server closed the stream (restart, proxy timeout): reconnect at once.
        return got

    async def _learn_user(self) -> None:
        if self._user_id is None and not self._asked_user:
            self._asked_user = True  # once: a backend without /users/me would be asked forever
            with contextlib.suppress(ApiError):
                self.user_id = (await self.client.me()).id

    async def _apply(self, events: Sequence[Event], cursor: str | None) -> None:
        # The thread on screen never shows unread, not even for the moment before the
        # server hears it was read: no bold row, badge or title flickering by one.
        fresh = self.store.apply_events(events, cursor, reading=self._reading())
        for event in fresh:
            await self._after(event)
        await self._flush_notices()

    async def _after(self, event: Event) -> None:
        """Side effects of a newly applied event: missing data, notices, read marks."""
        data = event.data
        if event.type is EventType.MESSAGE_CREATED:
            raw = data.get("message") if isinstance(data.get("message"), dict) else data
            with contextlib.suppress(ValueError):
                message = Message.model_validate(raw)
                await self._ensure_conversation(message.conversation_id)
                await self._on_new_message(message)
        elif event.type is EventType.CONVERSATION_UPDATED:
            inner = data.get("conversation") if isinstance(data.get("conversation"), dict) else data
            cid = (inner.get("id") or inner.get("conversationId")) if inner else None
            if isinstance(cid, str):
                await self._ensure_conversation(cid)
                if cid in self._reading() and inner and inner.get("unreadCount"):
                    await self.mark_read(cid)
        elif event.type in (
            EventType.CONTACT_UPDATED,
            EventType.CONTACT_DELETED,
            EventType.CONTACT_DND_UPDATE,
        ):
            await self._refresh_participants(data)

    async def _ensure_conversation(self, conversation_id: str) -> None:
        # An event about a conversation we have never seen (a new group), or only in the
        # list (no participants yet, so a notice could only name a phone number): fetch it.
        if self.store.conversation(conversation_id) is None:
            with contextlib.suppress(ApiError):
                conversation = await self.client.get_conversation(conversation_id)
                self.store.put_conversation(self._as_read(conversation))

    def _as_read(self, summary: _S) -> _S:
        """The thread on screen is read as its messages come (see ``_apply``)."""
        if summary.unread_count and summary.id in self._reading():
            return summary.model_copy(update={"unread_count": 0})
        return summary

    async def _on_new_message(self, message: Message) -> None:
        if not self._from_someone_else(message):
            return
        if message.conversation_id in self._reading():
            return  # the open thread shows it; its ConversationUpdated marks it read
        summary = self.store.summary(message.conversation_id)
        title = (summary.name if summary else None) or "New message"
        sender = self._sender_name(message)
        body = message.body or ("Sent an attachment" if message.attachments else "")
        # A group's notice says who wrote; a one-to-one one's title already does (the
        # walk's "Chloe Martin: Chloe Martin: …").
        text = f"{sender}: {body}" if sender and sender != title else body
        self._notices.append((title, text, message.conversation_id))

    async def _flush_notices(self) -> None:
        # Coming back after hours away must not fire a notification per message.
        notices, self._notices = self._notices, []
        if len(notices) > _MAX_NOTICES:
            last = notices[-1][2]
            threads = len({cid for _, _, cid in notices})
            where = "a conversation" if threads == 1 else f"{threads} conversations"
            notices = [(f"{len(notices)} new messages", f"In {where}.", last)]
        for title, text, cid in notices:
            await safe_notify(self.notifier, title, text, cid)

    def _from_someone_else(self, message: Message) -> bool:
        if message.direction is Direction.INBOUND:
            return True
        # A teammate's message in a shared thread is news too; our own is not.
        return bool(message.user_id and self.user_id and message.user_id != self.user_id)

    def _sender_name(self, message: Message) -> str:
        conversation = self.store.conversation(message.conversation_id)
        if conversation is not None:
            for participant in conversation.participants:
                if participant.id == message.participant_id or (
                    message.user_id and participant.user_id == message.user_id
                ):
                    return participant.current_name or participant.name
        return message.from_ or ""

    def _reading(self) -> frozenset[str]:
        """The threads the user is looking at right now: open in a window on screen."""
        return frozenset(
            w.conversation_id for w in self._windows if w.visible and w.conversation_id
        )

    async def _refresh_participants(self, data: dict[str, Any]) -> None:
        # Participant tags (Updated, Deleted, DND) are the server's to compute.
        inner = data.get("contact") if isinstance(data.get("contact"), dict) else data
        contact_id = (inner or {}).get("id") or (inner or {}).get("contactId")
        if not isinstance(contact_id, str):
            return
        for cid in self.store.conversations_with_contact(contact_id):
            with contextlib.suppress(ApiError):
                self.store.put_conversation(await self.client.get_conversation(cid))

    # --- polling fallback (a backend without an event stream) -----------------------

    async def _poll_once(self) -> None:
        before = {s.id: s.last_message_date for s in self.store.conversations()}
        page = await self.client.search_conversations(limit=_LIST_PAGE)
        await self._put_listed(list(page.conversations), replace=False)
        open_threads = {w.conversation_id for w in self._windows}
        for summary in page.conversations:
            if before.get(summary.id) == summary.last_message_date:
                continue
            known = summary.id in before
            if known and (summary.id in open_threads or self.store.messages(summary.id, 1)):
                await self._poll_thread(summary.id)

    async def _poll_thread(self, conversation_id: str) -> None:
        page = await self.client.get_messages(conversation_id, limit=_THREAD_PAGE)
        new = [m for m in page.messages if self.store.message(m.id) is None]
        self.store.put_messages(conversation_id, page.messages)
        for message in reversed(new):
            await self._on_new_message(message)
        await self._flush_notices()


def _default_files_dir(store: Store) -> Path:
    if store.path == ":memory:":
        return Path(tempfile.mkdtemp(prefix="gcs-outbox-"))
    return Path(store.path + ".files")


def _another_log(cursor: str, kept: str | None, batch: EventBatch) -> bool:
    """Whether the server answered from another log than the cursor's (``kept`` names
    it): it names another one, or its cursor came back lower (a server that names none,
    or a file put back in place of its database by hand, keeping the name)."""
    renamed = batch.log_id is not None and kept is not None and batch.log_id != kept
    return renamed or _went_back(cursor, batch.cursor)


def _went_back(sent: str, answered: str | None) -> bool:
    """Whether the server answered a cursor before the one sent: then it is not the log
    the cursor came from. Only this server's cursors (digits) can be compared; a cursor
    never moves back in one log, not even past events this user may not see."""
    if answered is None or not (sent.isdigit() and answered.isdigit()):
        return False
    return int(answered) < int(sent)
