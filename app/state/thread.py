"""The Thread screen: a window of messages with date separators, the composer, the banner.

The window holds the newest page; older pages are prepended on scroll-up. A new
or changed message is reported as one item ("append" / "update"), so the view
touches one bubble, never the whole list.

The window is bounded, as chat lists that virtualize are: a thread left open all
day used to keep every message that arrived (39 MB per 1,000 texts, issue 19).
While the user follows the newest messages, the oldest beyond ``WINDOW`` are
released ("trim", far above what is on screen, so the position from the bottom
holds) and rebuilt from the store when the user scrolls back up to them. While
the user reads older messages, arrivals are not drawn under them: the window
says there is something newer ("newer") and brings it from the store when the
user comes back down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.state import fmt
from app.state.attachments import AttachmentTray, outgoing
from app.state.base import ViewModel
from app.state.features import GROUP_READ_ONLY
from services import phones, rules
from services.models import (
    Conversation,
    Direction,
    GroupLimits,
    MessageStatus,
    Participant,
    PhoneNumber,
    User,
)

FAILED = {MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.OPT_OUT}
DELIVERED = {MessageStatus.DELIVERED, MessageStatus.READ}
STATE_LABELS = {
    "sending": "Sending",
    "sent": "Sent",
    "delivered": "Delivered",
    "failed": "Not delivered",
    "received": "Received",
}
STATUS_WORDS = {
    MessageStatus.PENDING: "Waiting",
    MessageStatus.QUEUED: "Queued",
    MessageStatus.SENT: "Sent",
    MessageStatus.DELIVERED: "Delivered",
    MessageStatus.READ: "Read",
    MessageStatus.FAILED: "Failed",
    MessageStatus.UNDELIVERED: "Not delivered",
    MessageStatus.OPT_OUT: "Opted out",
}


@dataclass(frozen=True)
class DaySeparator:
    key: str
    label: str
    day: date


@dataclass(frozen=True)
class MessageItem:
    key: str
    id: str
    local_id: str | None
    outbound: bool
    sender: str  # shown above the bubble; "" for the user's own messages
    body: str
    attachments: tuple[str, ...]
    time: str
    day: date
    state: str  # sending | sent | delivered | failed | received
    error: str | None = None
    local_files: tuple[str, ...] = field(default=())
    # "Not delivered to Maria: the picture is too large for their carrier."
    too_large_note: str | None = None
    # Still only on this device (the outbox's): a failed one can be deleted outright.
    unsent: bool = False
    # Compressed and sent again already: offering it twice would send a duplicate.
    resent: bool = False
    # Each attachment's size when this device uploaded it (None: unknown, not fetched for it).
    sizes: tuple[int | None, ...] = field(default=())

    @property
    def can_compress(self) -> bool:
        """Offer "Compress and resend" (the carrier refused the media as too large)."""
        return self.too_large_note is not None and bool(self.attachments) and not self.resent

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "")

    @property
    def semantics_label(self) -> str:
        """As a person would say it: the message, then who and when, then its state."""
        who = "You" if self.outbound and not self.sender else self.sender or "Someone"
        state = self.state_label if self.outbound else ""
        if self.outbound and self.state == "failed" and self.error:
            state = f"{state}: {self.error}"
        return fmt.sentences(
            self.body,
            fmt.attachments_words(self.attachments or self.local_files),
            f"{who}, {self.time}",
            state,
            self.too_large_note or "",
        )


Row = DaySeparator | MessageItem


@dataclass(frozen=True)
class DeliveryLine:
    name: str
    phone: str
    status: str
    error: str | None = None


_SIZE_WORDS = ("too large", "too big", "over its", "size", "exceeds")


def refused_for_size(r: Any) -> bool:
    """A recipient (or message) the carrier refused because the media were too large."""
    if getattr(r, "status", None) is not MessageStatus.UNDELIVERED:
        return False
    error = (getattr(r, "error", None) or "").lower()
    return any(word in error for word in _SIZE_WORDS)


def message_state(m: Any) -> str:
    if m.direction is Direction.INBOUND:
        return "received"
    local_state = getattr(m, "local_state", "sent")
    if local_state in ("sending", "failed"):
        return str(local_state)
    statuses = [r.status for r in m.recipients] or [m.status]
    if any(s in FAILED for s in statuses):
        return "failed"
    if all(s in DELIVERED for s in statuses):
        return "delivered"
    return "sent"


class ThreadVM(ViewModel):
    PAGE = 30
    # Messages kept while following the newest: past this, the oldest TRIM are released
    # at once (one list update per TRIM arrivals, not one per arrival).
    WINDOW = 120
    TRIM = 30

    def __init__(
        self,
        *,
        store: Any,
        sync: Any,
        me: User,
        numbers: Sequence[PhoneNumber],
        teammates: Sequence[User] = (),
        conversation_id: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        groups_supported: bool = True,
    ) -> None:
        super().__init__()
        self.store, self.sync, self.me, self.now = store, sync, me, now
        # False on a backend that cannot send into groups (LeadConnector): groups are read-only.
        self.groups_supported = groups_supported
        self.numbers = list(numbers)
        self.users = {u.id: u for u in teammates}
        self.conversation_id = conversation_id
        self.conversation: Conversation | None = store.conversation(conversation_id)
        self.messages: list[Any] = []  # the window, oldest → newest (LocalMessage)
        self.rows: list[Row] = []
        self.has_older = True
        self.loading_older = False
        # Messages newer than the window are in the store, not drawn: the user reads older
        # ones (``following`` False) and the view shows a way down to them.
        self.has_newer = False
        self.following = True  # the user is at the newest messages (the view tells)
        self._refetch: asyncio.Task[None] | None = None  # owned; cancelled by close()
        self.tray = AttachmentTray(carrier=self._carrier_limits())  # the composer's files
        # Keys of refused messages already compressed and resent (Compress is hidden on them).
        self.resent: set[str] = set()
        # local_id -> {file index: bytes}: what this device uploaded, so a file chip can show
        # its size without downloading the file again just to measure it.
        self.uploaded_sizes: dict[str, dict[int, int]] = {}
        # local_id -> {file index: fraction sent}, while the outbox uploads them.
        self.progress: dict[str, dict[int, float]] = {}
        outbox = getattr(sync, "outbox", None)
        watch = getattr(outbox, "watch_uploads", None)
        self._unwatch = watch(self._on_upload) if watch else None
        self._load_window()  # the cached page shows at once, before any network

    def _carrier_limits(self) -> GroupLimits | None:
        number = self.conversation.from_number if self.conversation else None
        found = next((n for n in self.numbers if n.phone_number == number), None)
        return found.group_limits if found is not None else None

    # --- what the header, banner and composer show ---------------------------------

    @property
    def title(self) -> str:
        c = self.conversation
        if c is None:
            return "Conversation"
        if c.name:
            return c.name
        names = [self.participant_name(p) for p in c.participants]
        return ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "") or "Group"

    @property
    def subtitle(self) -> str:
        c = self.conversation
        if c is None:
            return ""
        parts = []
        n = len(c.participants)
        if not c.is_group and n == 1:
            parts.append(phones.format_display(c.participants[0].phone))
        elif n:
            parts.append(f"{n} participant{'s' if n != 1 else ''}")
        if c.from_number:
            parts.append(f"from {phones.format_display(c.from_number)}")
        return " · ".join(parts)

    @property
    def participants(self) -> list[Participant]:
        return list(self.conversation.participants) if self.conversation else []

    def violations(self) -> list[rules.Violation]:
        if self.conversation is None:
            return []
        return rules.send_violations(self.conversation, self.me, self.numbers)

    def blockers(self) -> list[Participant]:
        c = self.conversation
        if c is None:
            return []
        return c.blocking_participants() or [p for p in c.participants if p.dnd and c.blocked]

    @property
    def banner(self) -> str | None:
        """The blocked banner: who turned on Do Not Disturb, and what that means."""
        for v in self.violations():
            if v.code is rules.ViolationCode.GROUP_BLOCKED:
                return v.message
        return None

    @property
    def recreate_label(self) -> str | None:
        names = [self.participant_name(p) for p in self.blockers()]
        if not names:
            return None
        return "Create new group without " + " and ".join(names)

    @property
    def composer_block(self) -> str | None:
        """Replaces the composer when the user may not send from the group's number."""
        if self.read_only:
            return GROUP_READ_ONLY
        for v in self.violations():
            if v.code is rules.ViolationCode.FROM_NUMBER_ACCESS:
                return v.short or "You can't send from this number"
        return None

    @property
    def read_only(self) -> bool:
        """A group on a backend that cannot send into groups: explained, never attempted."""
        c = self.conversation
        return not self.groups_supported and c is not None and c.is_group

    @property
    def can_send(self) -> bool:
        return not self.read_only and not self.violations()

    # --- names ------------------------------------------------------------------------

    def participant_name(self, p: Participant) -> str:
        return p.current_name or p.name or phones.format_display(p.phone)

    def sender_of(self, m: Any) -> str:
        if m.direction is Direction.INBOUND:
            for p in self.participants:
                if p.id == m.participant_id:
                    return self.participant_name(p)
            sender = phones.normalize(m.from_) if m.from_ else None
            for p in self.participants:
                if sender and sender in (p.phone, p.current_phone):
                    return self.participant_name(p)
            return phones.format_display(m.from_) if m.from_ else "Unknown sender"
        if m.user_id and m.user_id != self.me.id and m.user_id in self.users:
            return self.users[m.user_id].display_name
        return ""

    # --- the window ---------------------------------------------------------------------

    def item_for(self, m: Any) -> MessageItem:
        when = fmt.local(m.date_added)
        return MessageItem(
            key=str(getattr(m, "key", m.id)),
            id=m.id,
            local_id=getattr(m, "local_id", None),
            outbound=m.direction is not Direction.INBOUND,
            sender=self.sender_of(m),
            body=m.body,
            attachments=tuple(m.attachments),
            time=fmt.clock(when),
            day=when.date(),
            state=message_state(m),
            error=getattr(m, "error", None),
            local_files=tuple(getattr(m, "local_files", ()) or ()),
            too_large_note=self._too_large_note(m),
            unsent=getattr(m, "local_state", "sent") in ("sending", "failed"),
            resent=str(getattr(m, "key", m.id)) in self.resent,
            sizes=self._sizes(getattr(m, "local_id", None), len(m.attachments)),
        )

    def _sizes(self, local_id: str | None, count: int) -> tuple[int | None, ...]:
        known = self.uploaded_sizes.get(local_id or "", {})
        return tuple(known.get(i) for i in range(count)) if known else ()

    def _too_large_note(self, m: Any) -> str | None:
        """Who the carrier refused the media for, because it was too large."""
        if m.direction is Direction.INBOUND or not m.attachments:
            return None
        refused = [r for r in m.recipients if refused_for_size(r)]
        if not refused and m.status is MessageStatus.UNDELIVERED and refused_for_size(m):
            return "Not delivered: the files are too large for the carrier."
        if not refused:
            return None
        by_id = {p.id: p for p in self.participants}
        names = [
            self.participant_name(by_id[r.participant_id])
            if r.participant_id in by_id
            else phones.format_display(r.phone)
            for r in refused
        ]
        pictures = all(fmt.is_image_url(u) for u in m.attachments)
        what = "picture" if pictures else "file"
        what = what + "s are" if len(m.attachments) > 1 else what + " is"
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        carrier = "their carrier" if len(names) == 1 else "their carriers"
        return f"Not delivered to {who}: the {what} too large for {carrier}."

    def _rows_for(self, messages: Sequence[Any], prev_day: date | None) -> list[Row]:
        today = fmt.local(self.now()).date()
        rows: list[Row] = []
        for m in messages:
            item = self.item_for(m)
            if item.day != prev_day:
                rows.append(
                    DaySeparator(f"day:{item.day}", fmt.day_label(item.day, today), item.day)
                )
                prev_day = item.day
            rows.append(item)
        return rows

    def _index(self, key: str) -> int | None:
        for i in range(len(self.messages) - 1, -1, -1):
            if str(getattr(self.messages[i], "key", self.messages[i].id)) == key:
                return i
        return None

    async def open(self) -> None:
        """Fetch the newest page (the cached one is already shown) and mark read."""
        try:
            await self.sync.load_conversation(self.conversation_id)
        except Exception as exc:
            self.fail_refresh(exc)
            return
        self.conversation = self.store.conversation(self.conversation_id) or self.conversation
        self._load_window()
        self.emit("header")
        self.emit("reset")
        await self.mark_read()

    def _load_window(self) -> None:
        self.messages = list(self.store.messages(self.conversation_id, limit=self.PAGE))
        self.rows = self._rows_for(self.messages, None)
        # A short thread has nothing older; a full page may (the server says on scroll-up).
        self.has_older = len(self.messages) >= self.PAGE
        self.has_newer = False

    def jump_to_newest(self) -> None:
        """Show the newest page again (Show newer messages, or the user sent one)."""
        self._load_window()
        self.following = True
        self.emit("reset")

    def set_following(self, following: bool) -> None:
        """The user scrolled to (True) or away from (False) the newest messages."""
        self.following = following

    async def load_newer(self) -> list[Row]:
        """The page after the window, from the store (rows released or never drawn)."""
        if not self.has_newer or not self.messages:
            return []
        newest = self.messages[-1]
        after = str(getattr(newest, "key", newest.id))
        newer = list(self.store.messages(self.conversation_id, limit=self.PAGE, after=after))
        self.has_newer = len(newer) >= self.PAGE
        rows = self._rows_for(newer, self.item_for(newest).day) if newer else []
        self.messages += newer
        self.rows += rows
        if rows:
            self.emit("append", rows)
        self.emit("newer", self.has_newer)
        if self.following:
            self._trim_oldest()
        return rows

    def _trim_oldest(self) -> None:
        """Release the oldest messages beyond the window (rebuilt from the store on
        scroll-up); the new top row is its day's separator."""
        if len(self.messages) <= self.WINDOW:
            return
        drop = len(self.messages) - (self.WINDOW - self.TRIM)
        first = self.messages[drop]
        self.messages = self.messages[drop:]
        key = str(getattr(first, "key", first.id))
        i = next(j for j, r in enumerate(self.rows) if isinstance(r, MessageItem) and r.key == key)
        top: DaySeparator | None = None
        if i > 0 and isinstance(self.rows[i - 1], DaySeparator):
            i -= 1  # its day's separator stays
        else:
            day = self.item_for(first).day
            top = DaySeparator(f"day:{day}", fmt.day_label(day, fmt.local(self.now()).date()), day)
        self.rows = ([top] if top else []) + self.rows[i:]
        self.has_older = True
        self.emit("trim", (i, top))

    async def mark_read(self) -> None:
        try:
            await self.sync.mark_read(self.conversation_id)
        except Exception as exc:  # a failed mark-read is harmless but still said
            self.fail(exc)

    async def load_older(self) -> list[Row]:
        """Prepend the previous page; returns the rows to insert at the top."""
        if self.loading_older or not self.has_older:
            return []
        self.loading_older = True
        try:
            oldest = self.messages[0] if self.messages else None
            older = self._older_from_store(oldest)
            if not older:
                try:
                    await self.sync.load_older(self.conversation_id)
                except Exception as exc:
                    self.fail(exc)
                    return []
                older = self._older_from_store(oldest)
            if not older:
                self.has_older = False
                return []
            return self._prepend(older)
        finally:
            self.loading_older = False

    def _older_from_store(self, oldest: Any | None) -> list[Any]:
        if oldest is None:
            return list(self.store.messages(self.conversation_id, limit=self.PAGE))
        before = str(getattr(oldest, "key", oldest.id))
        return list(self.store.messages(self.conversation_id, limit=self.PAGE, before=before))

    def _prepend(self, older: list[Any]) -> list[Row]:
        new_rows = self._rows_for(older, None)
        # The old top separator repeats the day the new batch ends with: drop it.
        if self.rows and isinstance(self.rows[0], DaySeparator):
            last_day = older and self.item_for(older[-1]).day
            if self.rows[0].day == last_day:
                self.rows.pop(0)
                self.emit("drop_top_separator")
        self.messages = older + self.messages
        self.rows = new_rows + self.rows
        self.emit("prepend", new_rows)
        return new_rows

    def on_store_change(self, change: Any) -> None:
        if getattr(change, "conversation_id", self.conversation_id) != self.conversation_id:
            return
        name = type(change).__name__
        if name == "MessageAdded":
            self._added(change.message)
        elif name == "MessageUpdated":
            self._updated(change.message)
        elif name == "MessageRemoved":
            self._removed(change.key)
        elif name in ("ConversationChanged", "ContactsChanged"):
            self.conversation = self.store.conversation(self.conversation_id) or self.conversation
            self._refetch_if_block_changed()
            self.emit("header")

    def _refetch_if_block_changed(self) -> None:
        """A blocked/unblocked summary needs the full record (who blocks) for the banner."""
        summary = (
            self.store.summary(self.conversation_id) if hasattr(self.store, "summary") else None
        )
        if summary is None or self.conversation is None:
            return
        if summary.blocked == self.conversation.blocked:
            return
        if self._refetch is not None and not self._refetch.done():
            return
        self._refetch = asyncio.get_running_loop().create_task(self._reload_conversation())

    async def _reload_conversation(self) -> None:
        try:
            await self.sync.load_conversation(self.conversation_id)
        except Exception as exc:
            self.fail_refresh(exc)
            return
        self.conversation = self.store.conversation(self.conversation_id) or self.conversation
        self.emit("header")

    def close(self) -> None:
        """The thread left the screen: stop a refetch still running."""
        if self._refetch is not None:
            self._refetch.cancel()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def _added(self, m: Any) -> None:
        key = str(getattr(m, "key", m.id))
        if self._index(key) is not None:
            self._updated(m)
            return
        if self.messages and m.date_added < self.messages[0].date_added:
            return  # an older page arriving: load_older prepends it, not the live path
        if self.has_newer or not self.following:
            # The user reads older messages: not drawn under them; the store has it.
            if not self.has_newer:
                self.has_newer = True
                self.emit("newer", True)
            return
        prev_day = self.item_for(self.messages[-1]).day if self.messages else None
        self.messages.append(m)
        new_rows = self._rows_for([m], prev_day)
        self.rows.extend(new_rows)
        self.emit("append", new_rows)
        self._trim_oldest()

    def _updated(self, m: Any) -> None:
        i = self._index(str(getattr(m, "key", m.id)))
        if i is None:
            return
        self.messages[i] = m
        item = self.item_for(m)
        if item.state != "sending" and item.local_id:
            self.progress.pop(item.local_id, None)
        for j, row in enumerate(self.rows):
            if isinstance(row, MessageItem) and row.key == item.key:
                self.rows[j] = item
                break
        self.emit("update", item)

    def _removed(self, key: str) -> None:
        i = self._index(key)
        if i is None:
            return
        self.messages.pop(i)
        self.rows = [r for r in self.rows if not (isinstance(r, MessageItem) and r.key == key)]
        self.emit("remove", key)

    # --- actions ------------------------------------------------------------------------

    def draft(self) -> str:
        try:
            return str(self.store.draft(self.conversation_id) or "")
        except Exception:
            return ""

    def set_draft(self, text: str) -> None:
        try:
            self.store.set_draft(self.conversation_id, text)
        except Exception as exc:
            self.fail(exc)

    async def check_files(self, sources: Sequence[Any]) -> list[Any]:
        """Check picked files at once (type, size, count; pictures compressed).

        Returns the files that can go; every refusal is said now, before upload.
        """
        from services.attachments import check_attachments_async

        if not sources:
            return []
        check = await check_attachments_async(list(sources))
        if check.violations:
            self.error = " ".join(dict.fromkeys(v.message for v in check.violations))
            self.emit("error", self.error)
        refused = {v.subject_id for v in check.violations}
        return [s for s in sources if getattr(s, "subject", s.name) not in refused]

    async def _outgoing(self, sources: Sequence[Any]) -> list[Any] | None:
        """The checked, compressed files for the outbox; None (said) when any is refused."""
        from services.attachments import PreparedAttachment, check_attachments_async
        from services.outbox import OutgoingFile

        if all(isinstance(s, PreparedAttachment) for s in sources):
            return outgoing(sources)  # checked already, in the composer's tray
        check = await check_attachments_async(list(sources))
        if check.violations:
            self.error = " ".join(dict.fromkeys(v.message for v in check.violations))
            self.emit("error", self.error)
            return None
        return [OutgoingFile(name=p.name, content_type=p.mime, data=p.data) for p in check.prepared]

    async def send(self, text: str, attachments: Sequence[Any] = ()) -> bool:
        """Queue a message; False (with .error said) when it can't be sent."""
        body = text.strip()
        if not body and not attachments:
            self.error = "Type a message or attach a file first."
            self.emit("error", self.error)
            return False
        if self.read_only:
            self.error = GROUP_READ_ONLY
            self.emit("error", self.error)
            return False
        problems = self.violations()
        if problems:
            self.error = problems[0].message
            self.emit("error", self.error)
            return False
        files: list[Any] = []
        if attachments:
            checked = await self._outgoing(attachments)
            if checked is None:
                return False
            files = checked
        try:
            await self.sync.send(self.conversation_id, body, attachments=tuple(files))
        except Exception as exc:
            self.fail(exc)
            return False
        self.set_draft("")
        return True

    async def send_composed(self, text: str) -> bool:
        """Send the text and the tray's files; on refusal both stay in the composer."""
        if self.tray.blocker is not None:
            self.error = self.tray.blocker
            self.emit("error", self.error)
            return False
        files = self.tray.take()
        ok = await self.send(text, files)
        if not ok:
            self.tray.put_back(files)
        return ok

    # --- uploads: progress, cancel ------------------------------------------------------

    def _on_upload(self, p: Any) -> None:
        """Outbox progress → one bubble's bars; at most every 5 %, so the socket stays quiet."""
        key = f"c:{p.local_id}"
        if p.done:
            self.uploaded_sizes.setdefault(p.local_id, {})[p.index] = p.total
        if self._index(key) is None:
            return
        files = self.progress.setdefault(p.local_id, {})
        fraction = 1.0 if p.done else (p.sent / p.total if p.total else 0.0)
        if not p.done and fraction - files.get(p.index, -1.0) < 0.05:
            return
        files[p.index] = fraction
        self.emit("progress", key)

    def upload_state(self, item: MessageItem) -> list[tuple[str, float | None]]:
        """For each file of a message still in the outbox: its name and the part sent.

        ``1.0`` once the file is on the server (a retry won't send it again),
        ``None`` while nothing is known (queued, or waiting to retry).
        """
        if not item.local_id or not item.local_files:
            return []
        entry = (
            self.store.outbox_entry(item.local_id) if hasattr(self.store, "outbox_entry") else None
        )
        files = list(entry.files) if entry is not None else []
        live = self.progress.get(item.local_id, {})
        out: list[tuple[str, float | None]] = []
        for i, path in enumerate(item.local_files):
            # The outbox's copy is "00-name"; its entry keeps the name as sent.
            name = files[i].name if i < len(files) else fmt.file_name_from_url(path)[3:]
            if i < len(files) and files[i].url is not None:
                out.append((name, 1.0))
            else:
                out.append((name, live.get(i) if item.state == "sending" else None))
        return out

    def can_cancel(self, item: MessageItem) -> bool:
        outbox = getattr(self.sync, "outbox", None)
        return bool(
            item.local_id
            and item.state == "sending"
            and outbox is not None
            and outbox.is_uploading(item.local_id)
        )

    def cancel_upload(self, item: MessageItem) -> None:
        outbox = getattr(self.sync, "outbox", None)
        if item.local_id and outbox is not None and outbox.cancel(item.local_id):
            self.progress.pop(item.local_id, None)

    async def discard(self, item: MessageItem) -> None:
        """Delete a message that never left (failed or cancelled in the outbox)."""
        if not item.local_id:
            return
        try:
            await self.sync.discard(item.local_id)
        except Exception as exc:
            self.fail(exc)

    async def compress_and_resend(self, item: MessageItem, load: Any) -> bool:
        """Shrink the refused message's files and send them again as a new message.

        ``load(url) -> bytes`` fetches each attachment (the thread's cache).
        """
        # Once: a second tap (a double click, or a tap delivered twice) while the first is
        # still compressing would send the pictures twice. The button hides at once, and
        # comes back only if this attempt fails.
        if item.key in self.resent:
            return False
        self._mark_resent(item, True)
        ok = False
        try:
            ok = await self._compress_and_send(item, load)
        finally:
            if not ok:
                self._mark_resent(item, False)
        return ok

    def _mark_resent(self, item: MessageItem, resent: bool) -> None:
        if resent:
            self.resent.add(item.key)
        else:
            self.resent.discard(item.key)
        i = self._index(item.key)
        if i is not None:
            self._updated(self.messages[i])  # the bubble redraws with or without the button

    async def _compress_and_send(self, item: MessageItem, load: Any) -> bool:
        from services.attachments import AttachmentSource, compress_for_resend_async

        try:
            sources = [
                AttachmentSource(name=fmt.file_name_from_url(url), data=await load(url), key=url)
                for url in item.attachments
            ]
        except Exception as exc:
            self.fail(exc)
            return False
        check = await compress_for_resend_async(sources)
        if check.violations:
            self.error = " ".join(dict.fromkeys(v.message for v in check.violations))
            self.emit("error", self.error)
            return False
        try:
            await self.sync.send(
                self.conversation_id, item.body, attachments=outgoing(check.prepared)
            )
        except Exception as exc:
            self.fail(exc)
            return False
        return True

    async def retry(self, item: MessageItem) -> None:
        try:
            if item.local_id and item.state == "failed" and self._is_outbox(item):
                await self.sync.retry(item.local_id)
            else:
                await self.sync.send(self.conversation_id, item.body, attachments=())
        except Exception as exc:
            self.fail(exc)

    def _is_outbox(self, item: MessageItem) -> bool:
        i = self._index(item.key)
        return i is not None and getattr(self.messages[i], "local_state", "") == "failed"

    def delivery(self, item: MessageItem) -> list[DeliveryLine]:
        """Per-participant delivery of one message, for the detail sheet."""
        i = self._index(item.key)
        if i is None:
            return []
        m = self.messages[i]
        if not item.outbound:
            return [DeliveryLine(item.sender, phones.format_display(m.from_ or ""), "Received")]
        by_id = {p.id: p for p in self.participants}
        lines = []
        for r in m.recipients:
            p = by_id.get(r.participant_id)
            name = self.participant_name(p) if p else phones.format_display(r.phone)
            lines.append(
                DeliveryLine(
                    name, phones.format_display(r.phone), STATUS_WORDS.get(r.status, "—"), r.error
                )
            )
        if not lines:
            lines.append(DeliveryLine("Everyone", "", item.state_label, item.error))
        return lines
