"""The Conversations screen: the visible page of the list, search, and paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from app.state import fmt
from app.state.base import ViewModel
from services import phones
from services.models import ConversationSummary, Direction


@dataclass(frozen=True)
class ConversationRow:
    id: str
    title: str
    preview: str
    time: str
    unread: int
    is_group: bool
    blocked: bool
    initials: str
    color: str
    # While searching: the preview is the newest matching message, these its matched words
    # (character ranges [start, end) of ``preview``).
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def title_label(self) -> str:
        """What a reader says for the title: the row's first words, then the preview and
        the time it reads from the screen. Neither is in it, so a new message changes
        only the preview on the wire, not a label that repeats it (issue 19)."""
        parts = [("Group " if self.is_group else "") + self.title]
        if self.unread:
            parts.append(f"{self.unread} unread")
        if self.blocked:
            parts.append("blocked by Do Not Disturb")
        return ", ".join(p for p in parts if p)


def title_of(summary: ConversationSummary, conversation: Any | None) -> str:
    """Group name, or the participants' names, or a plain description."""
    if summary.name:
        return summary.name
    participants = getattr(conversation, "participants", None) or []
    names = [p.current_name or p.name or phones.format_display(p.phone) for p in participants]
    if names:
        shown = ", ".join(names[:3])
        return shown + (f" +{len(names) - 3}" if len(names) > 3 else "")
    if summary.is_group:
        return f"Group of {summary.participant_count}" if summary.participant_count else "Group"
    return "Conversation"


NO_MESSAGES = "No messages yet"


def preview_of(summary: ConversationSummary) -> str:
    body = (summary.last_message_body or "").replace("\n", " ").strip()
    if not body:
        # A new group's date is its creation's; only a message gives it a direction.
        if summary.last_message_direction is None:
            return NO_MESSAGES
        body = "Attachment"
    if body and summary.last_message_direction is Direction.OUTBOUND:
        return f"You: {body}"
    return body


class ConversationsVM(ViewModel):
    PAGE = 30

    def __init__(
        self,
        store: Any,
        sync: Any,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        first: int | None = None,
    ) -> None:
        super().__init__()
        self.store, self.sync, self.now = store, sync, now
        self.query = ""
        # The first window holds the rows the screen shows (``first``), the rest of the
        # page follows once it is painted (``fill``): a cold start built and sent 30 tiles
        # where a phone shows 13 (issue 19).
        self.limit = min(first, self.PAGE) if first else self.PAGE
        self.rows: list[ConversationRow] = []
        self.has_more = False
        self.selected_id: str | None = None
        self.loading = False
        self._read_at: int | None = None  # the store's version the rows were read at
        # The window's rows by id, with what each was made from: a new text changes one
        # conversation, and only its row is made again (issue 19).
        self._made: dict[str, tuple[ConversationSummary, Any, date, ConversationRow]] = {}
        self._ids: list[str] = []  # the rows' ids, in order (see _one_changed)
        self._today: date | None = None  # the day the rows' time labels were made for

    def row_for(self, summary: ConversationSummary, today: date | None = None) -> ConversationRow:
        # The store keeps one object per conversation until it changes, and a row's time
        # label depends on the day only: the same three, the same row.
        conversation = self.store.conversation(summary.id)
        today = today or fmt.local(self.now()).date()
        made = self._made.get(summary.id)
        if made and made[0] is summary and made[1] is conversation and made[2] == today:
            return made[3]
        row = self._make_row(summary, conversation)
        self._made[summary.id] = (summary, conversation, today, row)
        return row

    def _make_row(self, summary: ConversationSummary, conversation: Any) -> ConversationRow:
        title = title_of(summary, conversation)
        return ConversationRow(
            id=summary.id,
            title=title,
            preview=preview_of(summary),
            time=fmt.list_time(summary.last_activity, self.now()),
            unread=summary.unread_count,
            is_group=summary.is_group,
            blocked=summary.blocked,
            initials=fmt.initials(title) if not summary.is_group else "",
            color=fmt.avatar_color(summary.id),
        )

    def refresh(self) -> None:
        """Re-read the visible window from the store (one row more tells if there is more)."""
        self._read_at = getattr(self.store, "version", None)
        found = self.store.conversations(query=self.query or None, limit=self.limit + 1)
        self.has_more = len(found) > self.limit
        today = self._today = fmt.local(self.now()).date()
        self.rows = [self._matched(self.row_for(s, today)) for s in found[: self.limit]]
        self._ids = [row.id for row in self.rows]
        if len(self._made) > 2 * len(self.rows) + self.PAGE:  # only the window's are kept
            shown = {r.id for r in self.rows}
            self._made = {k: v for k, v in self._made.items() if k in shown}
        self.emit("rows")

    def _matched(self, row: ConversationRow) -> ConversationRow:
        """While searching, a row whose messages matched previews the newest of them, its
        matching words marked (the device cache's index, as the server's ``match``)."""
        search_match = getattr(self.store, "search_match", None)
        if not self.query or search_match is None:
            return row
        match = search_match(row.id, self.query)
        if match is None:
            return row
        return replace(row, preview=match.text, highlights=match.highlights)

    def set_query(self, text: str) -> None:
        self.query = text.strip()
        self.limit = self.PAGE
        self.refresh()

    def fill(self) -> None:
        """Grow a first window smaller than a page to the whole page."""
        if self.limit < self.PAGE:
            self.limit = self.PAGE
            self.refresh()

    def show_more(self) -> bool:
        """Grow the window by a page when the user scrolls near its end."""
        if not self.has_more:
            return False
        self.limit += self.PAGE
        self.refresh()
        return True

    async def reload(self) -> None:
        self.loading = True
        self.emit("loading", True)
        try:
            await self.sync.refresh_conversations()
        except Exception as exc:
            self.fail_refresh(exc)
        finally:
            self.loading = False
            self.emit("loading", False)
        self.refresh()

    def select(self, conversation_id: str | None) -> None:
        self.selected_id = conversation_id
        self.emit("selected", conversation_id)

    def on_store_change(self, change: Any) -> None:
        name = type(change).__name__
        if name in ("ConversationChanged", "ConversationsReset", "ContactsChanged", "MessageAdded"):
            if self._read_at is not None and self._read_at == getattr(self.store, "version", None):
                # Read since this batch of changes began (a new text brings MessageAdded
                # and ConversationChanged together): the rows are already these.
                return
            one = getattr(change, "conversation_id", None)
            if one is not None and self._one_changed(one):
                return
            self.refresh()

    def _one_changed(self, conversation_id: str) -> bool:
        """Show one conversation's change, reading no other row: its row is made again and
        the rows are placed where the store's order now puts them. After a pause, reading
        the window's 31 rows again and walking their tiles was a third of the list's share
        of a new text (issue 19). False when only a full read can tell: a search, a new day
        (every time label), a row that enters the window from outside it."""
        conversation_ids = getattr(self.store, "conversation_ids", None)
        today = fmt.local(self.now()).date()
        if self.query or conversation_ids is None or today != self._today:
            return False
        ids: list[str] = conversation_ids(self.limit + 1)
        shown = ids[: self.limit]
        has_more = len(ids) > self.limit
        if shown == self._ids:  # the order is the same: at most this row changed
            if has_more != self.has_more:
                return False
            if conversation_id not in shown:
                return True
            at = shown.index(conversation_id)
            row = self._row(conversation_id, today)
            if row is None:
                return False
            if row != self.rows[at]:
                self.rows[at] = row
                self.emit("row", at)
            return True
        made = dict(zip(self._ids, self.rows, strict=True))
        rows: list[ConversationRow] = []
        for cid in shown:
            row = self._row(cid, today) if cid == conversation_id else made.get(cid)
            if row is None:
                return False
            rows.append(row)
        self.rows, self._ids, self.has_more = rows, shown, has_more
        self.emit("rows")
        return True

    def _row(self, conversation_id: str, today: date) -> ConversationRow | None:
        summary = self.store.summary(conversation_id)
        return None if summary is None else self.row_for(summary, today)

    def unread_total(self) -> int:
        try:
            return int(self.store.unread_total())
        except Exception:
            return sum(r.unread for r in self.rows)
