"""The durable queue of push notifications: a new message rings the phones of those who
may see it, without holding up or losing anything.

When a message is stored (an inbound text, or a message staff sent), the same
transaction writes one job per user to notify (``enqueue_message``): every staff user
of the location with a device, who may see the conversation (``access.may_view``,
the rules the conversation list follows), who did not send it, who has not muted
the thread and, for a message staff sent, who asked for those. A user's waiting job
for a thread takes in the next message of a burst (a unique index allows one waiting
job per user and thread), and jobs wait ``HOLD_S`` before going out, so a burst
becomes one notification ("3 new messages"), as a phone's Messages app shows it.

One worker (an asyncio task owned here) sends due jobs one at a time through the push
door. A service that answers 5xx or 429, or can't be reached, is tried again after a
backoff (2 s doubling to 10 min, or its Retry-After) for up to a day; the message
itself was stored long before and never waits on this. Devices the service reports
gone are forgotten. With no push service configured nothing is queued at all.

Badges: every notification sets the app icon's badge to the user's unread total
(``unread_total``: every thread they may see, muted ones included). When a thread is
read, ``enqueue_badge`` queues a silent update for each user who may see it and has
an iPhone (Android launchers count the notifications themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services import rules
from services.backoff import Backoff
from services.models import Conversation, User
from services.server import access, clock, search, views
from services.server.db import loads
from services.server.push.base import Notification, PushError, PushErrorKind
from services.server.wakeup import Wakeup

if TYPE_CHECKING:
    from services.server.core import MessagingServer

log = logging.getLogger(__name__)

HOLD_S = 2.0  # a burst within this collapses into one notification
BACKOFF = Backoff(base=2.0, cap=600.0)
GIVE_UP_AFTER_S = 24 * 3600
IDLE_WAIT_S = 30.0
PREVIEW_CHARS = 100

# A device whose registering sign-in still works (its token neither revoked nor expired):
# a phone signed out by revoking its token (a lost phone) hears nothing more.
LIVE_DEVICE = (
    "(d.token_id IS NULL OR EXISTS (SELECT 1 FROM tokens t WHERE t.id = d.token_id"
    " AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)))"
)

NEXT_DUE = (
    "SELECT * FROM push_jobs WHERE state = 'queued' AND next_at <= ? ORDER BY next_at LIMIT 1"
)


# --- what a new message queues ----------------------------------------------------------------


def enqueue_message(conn: sqlite3.Connection, server: MessagingServer, message_id: str) -> int:
    """Queue the notifications a new message calls for, in the caller's transaction;
    answers how many users will be notified. Nothing when push is off."""
    if server.push is None:
        return 0
    message = conn.execute(
        "SELECT m.conversation_id, m.direction, m.user_id, c.location_id FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
        (message_id,),
    ).fetchone()
    conversation = server.conversation(message["conversation_id"]) if message else None
    if message is None or conversation is None:
        return 0
    due = server.push_queue.now_ms() + int(server.push_queue.hold_s * 1000)
    users = 0
    sender, direction = message["user_id"], message["direction"]
    for user in _candidates(server, message["location_id"], conversation, sender, direction):
        conn.execute(
            "INSERT INTO push_jobs (kind, user_id, conversation_id, message_id,"
            " idempotency_key, state, next_at) VALUES ('message', ?, ?, ?, ?, 'queued', ?)"
            " ON CONFLICT (user_id, conversation_id) WHERE state = 'queued'"
            " DO UPDATE SET message_id = excluded.message_id, messages = messages + 1",
            (user.id, conversation.id, message_id, str(uuid.uuid4()), due),
        )
        users += 1
    if users:
        server.push_queue.wake()
    return users


def enqueue_badge(conn: sqlite3.Connection, server: MessagingServer, conversation_id: str) -> int:
    """A thread was read: its unread left the badge of everyone who may see it, so each
    of them with an iPhone gets a silent badge update (one waiting per user)."""
    if server.push is None:
        return 0
    row = conn.execute(
        "SELECT location_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    conversation = server.conversation(conversation_id)
    if row is None or conversation is None:
        return 0
    rows = server.db.all(
        "SELECT u.* FROM users u WHERE u.location_id = ? AND u.disabled = 0 AND EXISTS"
        " (SELECT 1 FROM devices d WHERE d.user_id = u.id AND d.platform = 'ios'"
        f" AND {LIVE_DEVICE})",
        (row["location_id"], _now_iso()),
    )
    due = server.push_queue.now_ms() + int(server.push_queue.hold_s * 1000)
    users = 0
    for user in _viewers(server, conversation, _users(rows)):
        conn.execute(
            "INSERT INTO push_jobs (kind, user_id, conversation_id, message_id,"
            " idempotency_key, state, next_at) VALUES ('badge', ?, '', '', ?, 'queued', ?)"
            " ON CONFLICT (user_id, conversation_id) WHERE state = 'queued' DO NOTHING",
            (user.id, str(uuid.uuid4()), due),
        )
        users += 1
    if users:
        server.push_queue.wake()
    return users


def _candidates(
    server: MessagingServer,
    location_id: str,
    conversation: Conversation,
    sender: str | None,
    direction: str,
) -> list[User]:
    """Staff with a device who may see the conversation, not its sender, not muted; for a
    message staff sent, only those who asked to hear of those."""
    staff_sent = direction == "outbound"
    rows = server.db.all(
        "SELECT u.* FROM users u WHERE u.location_id = ? AND u.disabled = 0"
        f" AND EXISTS (SELECT 1 FROM devices d WHERE d.user_id = u.id AND {LIVE_DEVICE})"
        " AND NOT EXISTS (SELECT 1 FROM muted_conversations m"
        "   WHERE m.user_id = u.id AND m.conversation_id = ?)"
        " AND (? = 0 OR EXISTS (SELECT 1 FROM notification_prefs p"
        "   WHERE p.user_id = u.id AND p.push_staff_messages = 1))",
        (location_id, _now_iso(), conversation.id, int(staff_sent)),
    )
    others = [user for user in _users(rows) if user.id != sender]
    return _viewers(server, conversation, others)


def _users(rows: list[sqlite3.Row]) -> list[User]:
    return [User.model_validate(views.user(row)) for row in rows]


def _viewers(server: MessagingServer, conversation: Conversation, users: list[User]) -> list[User]:
    """Those of ``users`` who may see the conversation: ``rules.can_view_conversation``,
    as for the conversation list (its contacts read once for all of them)."""
    if not users:
        return []
    contacts = server.contacts_of(conversation)
    return [user for user in users if rules.can_view_conversation(conversation, user, contacts)]


def _now_iso() -> str:
    return clock.iso(clock.now())


def _push_ids(server: MessagingServer, user_id: str, *, ios_only: bool = False) -> tuple[str, ...]:
    """The user's live devices' push ids (only iPhones' for a badge update)."""
    platform = " AND d.platform = 'ios'" if ios_only else ""
    rows = server.db.all(
        f"SELECT d.push_id FROM devices d WHERE d.user_id = ?{platform} AND {LIVE_DEVICE}"
        " ORDER BY d.created_at, d.id",
        (user_id, _now_iso()),
    )
    return tuple(row["push_id"] for row in rows)


# --- the worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    id: int
    kind: str  # "message" | "badge"
    user_id: str
    conversation_id: str
    message_id: str
    messages: int
    idempotency_key: str
    attempts: int
    first_try_at: int


class PushQueue:
    def __init__(
        self,
        server: MessagingServer,
        *,
        clock: Callable[[], float] = time.time,
        backoff: Backoff = BACKOFF,
        hold_s: float = HOLD_S,
    ) -> None:
        self._server = server
        self.clock = clock
        self.backoff = backoff
        self.hold_s = hold_s
        self._worker: asyncio.Task[None] | None = None
        self._wake = Wakeup()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def start(self) -> None:
        """Run the worker on the current loop; a job cut short by a stop goes out again."""
        if self._worker is not None and not self._worker.done():
            return
        with self._server.db.tx() as conn:
            _drop_if_superseded(conn, "state = 'running'")
            conn.execute("UPDATE push_jobs SET state = 'queued' WHERE state = 'running'")
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="push-queue")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            if worker.get_loop() is asyncio.get_running_loop():
                await worker

    async def _run(self) -> None:
        while True:
            await self.run_due()
            await self._wake.wait(self._idle_wait())

    async def run_due(self) -> int:
        """Send every job due now, one at a time; how many were handled."""
        handled = 0
        while (job := self._claim()) is not None:
            try:
                await self._process(job)
            except PushError as error:
                self._failed(job, error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug of ours must not stop the queue
                log.exception("push job %s failed", job.id)
                self._failed(job, PushError(PushErrorKind.RETRYABLE, f"Internal error: {exc}."))
            handled += 1
        return handled

    def _idle_wait(self) -> float:
        due = self._server.db.scalar(
            "SELECT next_at FROM push_jobs WHERE state = 'queued' ORDER BY next_at LIMIT 1"
        )
        if due is None:
            return IDLE_WAIT_S
        return max(0.0, min(IDLE_WAIT_S, (int(due) - self.now_ms()) / 1000))

    def _claim(self) -> Job | None:
        now = self.now_ms()
        with self._server.db.tx() as conn:
            row = conn.execute(NEXT_DUE, (now,)).fetchone()
            if row is None:
                return None
            # Running, it no longer takes in new messages: the next one waits in a new job.
            conn.execute(
                "UPDATE push_jobs SET state = 'running', first_try_at = COALESCE(first_try_at, ?)"
                " WHERE id = ?",
                (now, row["id"]),
            )
        return Job(
            id=row["id"],
            kind=row["kind"],
            user_id=row["user_id"],
            conversation_id=row["conversation_id"],
            message_id=row["message_id"],
            messages=row["messages"],
            idempotency_key=row["idempotency_key"],
            attempts=row["attempts"],
            first_try_at=row["first_try_at"] or now,
        )

    async def _process(self, job: Job) -> None:
        push = self._server.push
        notification = None if push is None else self.notification(job)
        if push is None or notification is None:
            self._set(job, "done")
            return
        pushed = await push.send(notification)
        with self._server.db.tx() as conn:
            for push_id in pushed.gone:
                conn.execute("DELETE FROM devices WHERE push_id = ?", (push_id,))
            conn.execute("UPDATE push_jobs SET state = 'done' WHERE id = ?", (job.id,))
        if pushed.gone:
            log.info("push: forgot %d device(s) the push service reported gone", len(pushed.gone))

    def notification(self, job: Job) -> Notification | None:
        """What the job's user should see now; None when nothing should be sent (the user
        or message is gone, the user may no longer see the thread, muted it since, or has
        no device left)."""
        server = self._server
        db = server.db
        user_row = db.one("SELECT * FROM users WHERE id = ? AND disabled = 0", (job.user_id,))
        if job.kind == "badge":
            return self._badge(job, user_row)
        conversation = server.conversation(job.conversation_id)
        message = db.one("SELECT * FROM messages WHERE id = ?", (job.message_id,))
        if user_row is None or conversation is None or message is None:
            return None
        user = User.model_validate(views.user(user_row))
        muted = db.one(
            "SELECT 1 FROM muted_conversations WHERE user_id = ? AND conversation_id = ?",
            (user.id, conversation.id),
        )
        if muted is not None or not access.may_view(server, conversation, user):
            return None
        push_ids = _push_ids(server, user.id)
        if not push_ids:
            return None
        return Notification(
            push_ids=push_ids,
            title=_title(conversation),
            text=_text(server, message, job.messages),
            conversation_id=conversation.id,
            badge=unread_total(server, user),
            idempotency_key=job.idempotency_key,
        )

    def _badge(self, job: Job, user_row: sqlite3.Row | None) -> Notification | None:
        if user_row is None:
            return None
        user = User.model_validate(views.user(user_row))
        push_ids = _push_ids(self._server, user.id, ios_only=True)
        if not push_ids:
            return None
        return Notification(
            push_ids=push_ids,
            title="",
            text="",
            conversation_id="",
            badge=unread_total(self._server, user),
            idempotency_key=job.idempotency_key,
            silent=True,
        )

    def _set(self, job: Job, state: str, error: str | None = None) -> None:
        with self._server.db.tx() as conn:
            conn.execute(
                "UPDATE push_jobs SET state = ?, last_error = ? WHERE id = ?",
                (state, error, job.id),
            )

    def _failed(self, job: Job, error: PushError) -> None:
        now = self.now_ms()
        gave_up = now - job.first_try_at > GIVE_UP_AFTER_S * 1000
        if error.kind is PushErrorKind.RETRYABLE and not gave_up:
            delay = error.retry_after or self.backoff.delay(job.attempts + 1)
            log.info("push job %s will retry in %.1f s: %s", job.id, delay, error.message)
            with self._server.db.tx() as conn:
                _drop_if_superseded(conn, f"id = {int(job.id)}")
                conn.execute(
                    "UPDATE push_jobs SET state = 'queued', attempts = attempts + 1,"
                    " next_at = ?, last_error = ? WHERE id = ?",
                    (now + int(delay * 1000), error.message, job.id),
                )
            return
        log.warning("push job %s failed for good (%s): %s", job.id, error.kind, error.message)
        self._set(job, "failed", error.message)


def _drop_if_superseded(conn: sqlite3.Connection, which: str) -> None:
    """Running jobs (``which``, a condition on one column) about to wait again are dropped
    where a newer message of the same thread already waits for the same user: that job
    tells it all, its count taking theirs in (only one job per user and thread may wait)."""
    running = (
        f"SELECT r.messages FROM push_jobs r WHERE r.state = 'running' AND r.{which}"
        " AND r.user_id = push_jobs.user_id AND r.conversation_id = push_jobs.conversation_id"
    )
    conn.execute(
        f"UPDATE push_jobs SET messages = messages + ({running}) WHERE state = 'queued'"
        f" AND EXISTS ({running})"
    )
    conn.execute(
        f"DELETE FROM push_jobs WHERE state = 'running' AND {which} AND EXISTS"
        " (SELECT 1 FROM push_jobs o WHERE o.user_id = push_jobs.user_id"
        " AND o.conversation_id = push_jobs.conversation_id AND o.state = 'queued')"
    )


def unread_total(server: MessagingServer, user: User) -> int:
    """The badge: unread messages of every conversation this user may see (muted included)."""
    visible, params = search.visible_sql(user)
    total = server.db.scalar(
        f"SELECT COALESCE(SUM(c.unread_count), 0) FROM conversations c"
        f" WHERE c.location_id = ? AND {visible}",
        (user.location_id, *params),
    )
    return int(total or 0)


def _title(conversation: Conversation) -> str:
    if conversation.name:
        return conversation.name
    names = [p.name for p in conversation.participants if p.name]
    return ", ".join(names) or "New message"


def _text(server: MessagingServer, message: sqlite3.Row, count: int) -> str:
    sender = _sender(server, message)
    body = " ".join(str(message["body"] or "").split())
    if not body and (loads(message["attachments"]) or []):
        body = "Picture"
    if len(body) > PREVIEW_CHARS:
        body = body[: PREVIEW_CHARS - 1].rstrip() + "…"
    line = f"{sender}: {body}" if body else sender
    return f"{count} new messages. {line}" if count > 1 else line


def _sender(server: MessagingServer, message: sqlite3.Row) -> str:
    db = server.db
    if message["user_id"]:
        row = db.one("SELECT first_name, last_name FROM users WHERE id = ?", (message["user_id"],))
        if row is not None:
            return f"{row['first_name']} {row['last_name']}".strip()
    if message["participant_id"]:
        row = db.one("SELECT name FROM participants WHERE id = ?", (message["participant_id"],))
        if row is not None and row["name"]:
            return str(row["name"])
    return str(message["from_phone"] or "Someone")
