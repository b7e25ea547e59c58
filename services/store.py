"""The device's single source of truth: a SQLite cache plus in-memory indexes.

Reads for the UI never scan everything: the conversation list is an in-memory
list kept sorted (newest first) and updated one row at a time, a thread page
is one indexed SQLite range query, and people are filtered by an in-memory
text index. Every write is one short transaction, and after it commits the
store tells its subscribers what changed, one small object per row.

Threading: the store runs on the caller's thread (the app's asyncio loop), on
purpose. Its writes are a handful of rows in WAL mode with synchronous=NORMAL
(well under a millisecond each, no fsync per commit), and running them inline
keeps the optimistic UI simple: when ``add_outgoing`` returns, the message is
both durable and visible. A writer thread would add queueing and ordering
problems to save time that is not being spent. Bulk refreshes (hundreds of
rows) are written in one transaction for the same reason.
"""

from __future__ import annotations

import bisect
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from services.models import (
    Contact,
    Conversation,
    ConversationSummary,
    Direction,
    Event,
    EventType,
    Message,
    MessageStatus,
    User,
)
from services.search_index import SearchIndex, digits_of
from services.store_schema import open_db
from services.store_types import (
    Change,
    ConnectionChanged,
    ConnectionState,
    ContactsChanged,
    ConversationChanged,
    ConversationsReset,
    LocalMessage,
    MessageAdded,
    MessageRemoved,
    MessageUpdated,
    OutboxEntry,
    OutboxFile,
    row_key,
)

__all__ = [
    "ConnectionChanged",
    "ConnectionState",
    "ContactsChanged",
    "ConversationChanged",
    "ConversationsReset",
    "LocalMessage",
    "MessageAdded",
    "MessageRemoved",
    "MessageUpdated",
    "Store",
]

log = logging.getLogger(__name__)

Listener = Callable[[Change], None]
_T = TypeVar("_T", Contact, User)
_WORD = re.compile(r"\w+")
_MARK_START, _MARK_END = "\x02", "\x03"  # around matched words in a snippet (never typed)


@dataclass(frozen=True)
class SearchMatch:
    """A message that matched a search: its text around the match and the character
    ranges [start, end) of the matching words, as the server's ``match``."""

    text: str
    highlights: tuple[tuple[int, int], ...]


def word_query(text: str) -> str | None:
    """An FTS5 query: every word of ``text`` as the start of a word; None for none."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def _marked(text: str) -> SearchMatch:
    plain: list[str] = []
    ranges: list[tuple[int, int]] = []
    at = start = 0
    for ch in text:
        if ch == _MARK_START:
            start = at
        elif ch == _MARK_END:
            ranges.append((start, at))
        else:
            plain.append(ch)
            at += 1
    return SearchMatch("".join(plain), tuple(ranges))


_M = TypeVar("_M", ConversationSummary, Conversation)


class _Parsed(MutableMapping[str, _M], Generic[_M]):
    """Models by id, each parsed from its cached JSON when first read.

    Opening a cache of 10,000 conversations parsed every one (~0.1 s of a cold start)
    to show the first 30: now the list's order and unread total come from columns,
    and a conversation is parsed when something reads it (issue 19)."""

    def __init__(self, model: type[_M]) -> None:
        self._model: type[_M] = model
        self._ready: dict[str, _M] = {}
        self._raw: dict[str, str] = {}

    def put_raw(self, key: str, raw: str) -> None:
        self._ready.pop(key, None)
        self._raw[key] = raw

    def __getitem__(self, key: str) -> _M:
        found = self._ready.get(key)
        if found is None:
            found = self._model.model_validate_json(self._raw.pop(key))
            self._ready[key] = found
        return found

    def __setitem__(self, key: str, value: _M) -> None:
        self._raw.pop(key, None)
        self._ready[key] = value

    def __delitem__(self, key: str) -> None:
        if self._raw.pop(key, None) is None:
            del self._ready[key]

    def __contains__(self, key: object) -> bool:
        return key in self._ready or key in self._raw

    def __iter__(self) -> Iterator[str]:
        yield from list(self._ready)
        yield from list(self._raw)

    def __len__(self) -> int:
        return len(self._ready) + len(self._raw)

    def clear(self) -> None:
        self._ready.clear()
        self._raw.clear()


# Event ids remembered for exactly-once; older ones are behind the cursor anyway.
_APPLIED_KEEP = 20_000
_SUMMARY_FIELDS = frozenset(ConversationSummary.model_fields)


def _ms(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _sort_key(summary: ConversationSummary) -> tuple[int, str]:
    # Ascending order of this key is newest activity first; id breaks ties.
    return (-(summary.last_message_date or 0), summary.id)


class Store:
    def __init__(self, db_path: str = ":memory:") -> None:
        self.path = str(db_path)
        self._db = open_db(self.path)
        self._listeners: list[Listener] = []
        self._pending: list[Change] = []
        self.version = 0  # moves with every batch of changes sent to the listeners
        self._depth = 0
        self._summaries = _Parsed(ConversationSummary)
        self._full = _Parsed(Conversation)
        self._order: list[tuple[int, str]] = []
        self._unread_total = 0
        self._drafts: dict[str, str] = {}
        self._applied: set[str] = set()
        self._contacts = SearchIndex()
        self._teammates = SearchIndex()
        self._seq = 0
        self._low_seq = 0
        self._load()

    # --- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def _load(self) -> None:
        order: list[tuple[int, str]] = []
        unread = 0
        for cid, last_date, unread_count, summary_json, full_json in self._db.execute(
            "SELECT id, last_date, COALESCE(json_extract(summary, '$.unreadCount'), 0),"
            " summary, full FROM conversations"
        ):
            self._summaries.put_raw(cid, summary_json)
            if full_json:
                self._full.put_raw(cid, full_json)
            order.append((-(last_date or 0), cid))  # as _sort_key(summary)
            unread += unread_count
        self._order = sorted(order)
        self._unread_total = unread
        self._drafts = dict(self._db.execute("SELECT conversation_id, text FROM drafts"))
        self._seq, self._low_seq = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0), MIN(COALESCE(MIN(seq), 0), 0) FROM messages"
        ).fetchone()
        rows = self._db.execute(
            "SELECT id FROM applied_events ORDER BY seq DESC LIMIT ?", (_APPLIED_KEEP,)
        )
        self._applied = {row[0] for row in rows}
        self._contacts.put_many(self._db.execute("SELECT id, name, email, phone FROM contacts"))
        self._teammates.put_many(self._db.execute("SELECT id, name, email, phone FROM teammates"))

    # --- subscriptions -----------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, change: Change) -> None:
        """Queue a change; it reaches listeners when the current transaction commits."""
        self._pending.append(change)
        if self._depth == 0:
            self._flush()

    def _flush(self) -> None:
        changes, self._pending = self._pending, []
        # Every flush is a new version: a listener that has read the store since this
        # flush began has seen all it brings (the changes of one commit go out together).
        self.version += 1
        for change in changes:
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    # One broken view must not stop the others or the sync.
                    log.exception("store listener failed on %r", change)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested uses join the outer one. Changes go out after commit."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            self._pending.clear()
            self._depth = 0
            # Memory may hold part of the failed write: reload from disk.
            self._reload_memory()
            raise
        self._db.execute("COMMIT")
        self._depth = 0
        self._flush()

    def _reload_memory(self) -> None:
        self._summaries.clear()
        self._full.clear()
        self._contacts.clear()
        self._teammates.clear()
        self._load()

    # --- conversations -----------------------------------------------------------

    def conversations(
        self, query: str | None = None, limit: int | None = None
    ) -> list[ConversationSummary]:
        """Conversations, newest activity first, optionally filtered by ``query``: its words
        match the start of words in the name, the participants' names or any cached
        message (ignoring case and accents, as the server does); three or more digits
        match anywhere in a participant's number. On FTS5 indexes, never a scan."""
        if not query or not query.strip():
            keys = self._order if limit is None else self._order[:limit]
            return [self._summaries[cid] for _, cid in keys]
        matching = self._matching(query)
        found: list[ConversationSummary] = []
        for _, cid in self._order:
            if cid in matching:
                found.append(self._summaries[cid])
                if limit is not None and len(found) >= limit:
                    break
        return found

    def conversation_ids(self, limit: int) -> list[str]:
        """The ids of the first ``limit`` conversations, newest activity first: where each
        row of a window of the list stands, without reading its summary."""
        return [cid for _, cid in self._order[:limit]]

    def _matching(self, query: str) -> set[str]:
        found: set[str] = set()
        words = word_query(query)
        if words is not None:
            found.update(
                row[0]
                for row in self._db.execute(
                    "SELECT c.id FROM conversation_words w JOIN conversations c"
                    " ON c.rowid = w.rowid WHERE conversation_words MATCH ?",
                    (words,),
                )
            )
            found.update(
                row[0]
                for row in self._db.execute(
                    "SELECT DISTINCT m.conversation_id FROM message_words w JOIN messages m"
                    " ON m.rowid = w.rowid WHERE message_words MATCH ?",
                    (words,),
                )
            )
        digits = digits_of(query)
        if len(digits) >= 3:
            found.update(
                row[0]
                for row in self._db.execute(
                    "SELECT c.id FROM conversation_digits d JOIN conversations c"
                    " ON c.rowid = d.rowid WHERE conversation_digits MATCH ?",
                    (f'"{digits}"',),
                )
            )
        return found

    def search_match(self, conversation_id: str, query: str) -> SearchMatch | None:
        """The newest cached message of the conversation that matches ``query``, around the
        match, with where its matching words are (as the server's ``match``)."""
        words = word_query(query)
        if words is None:
            return None
        row = self._db.execute(
            "SELECT snippet(message_words, 0, ?, ?, '…', 12) FROM message_words w"
            " JOIN messages m ON m.rowid = w.rowid WHERE message_words MATCH ?"
            " AND m.conversation_id = ? ORDER BY m.date_ms DESC, m.seq DESC LIMIT 1",
            (_MARK_START, _MARK_END, words, conversation_id),
        ).fetchone()
        return None if row is None else _marked(str(row[0]))

    def _index_words(self, cid: str) -> None:
        """Keep the conversation's search rows (name, participants) true."""
        found = self._db.execute("SELECT rowid FROM conversations WHERE id = ?", (cid,)).fetchone()
        if found is None:
            return
        rowid = found[0]
        summary = self._summaries.get(cid)
        full = self._full.get(cid)
        names = [summary.name or ""] if summary is not None else []
        numbers: list[str] = []
        for p in full.participants if full is not None else ():
            names += [p.name or "", p.current_name or ""]
            numbers += [digits_of(p.phone), digits_of(p.current_phone)]
        self._db.execute("DELETE FROM conversation_words WHERE rowid = ?", (rowid,))
        self._db.execute("DELETE FROM conversation_digits WHERE rowid = ?", (rowid,))
        self._db.execute(
            "INSERT INTO conversation_words (rowid, words) VALUES (?, ?)",
            (rowid, " ".join(n for n in names if n)),
        )
        self._db.execute(
            "INSERT INTO conversation_digits (rowid, digits) VALUES (?, ?)",
            (rowid, " ".join(n for n in numbers if n)),
        )

    def summary(self, conversation_id: str) -> ConversationSummary | None:
        return self._summaries.get(conversation_id)

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The full conversation (participants, From number) once it has been loaded."""
        return self._full.get(conversation_id)

    def unread_total(self) -> int:
        return self._unread_total

    def put_conversations(
        self, summaries: Sequence[ConversationSummary], *, replace: bool = False
    ) -> None:
        """Cache a page of the list; ``replace`` drops conversations not in it (full refresh)."""
        with self._tx():
            if replace:
                gone = set(self._summaries) - {s.id for s in summaries}
                for cid in gone:
                    self._drop_conversation(cid)
            for summary in summaries:
                self._put_summary(summary)
            if replace:
                self.emit(ConversationsReset())

    def put_conversation(self, conversation: Conversation) -> None:
        with self._tx() as db:
            self._full[conversation.id] = conversation
            self._put_summary(conversation, full=conversation)
            db.execute("DELETE FROM participants WHERE conversation_id = ?", (conversation.id,))
            db.executemany(
                "INSERT INTO participants VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (conversation.id, p.id, p.contact_id, p.user_id, p.phone, p.name)
                    for p in conversation.participants
                ],
            )

    def _put_summary(
        self, conversation: ConversationSummary, full: Conversation | None = None
    ) -> None:
        summary = ConversationSummary.model_validate(
            {k: getattr(conversation, k) for k in _SUMMARY_FIELDS}
        )
        old = self._summaries.get(summary.id)
        if old == summary and full is None:
            return
        if full is None and summary.id in self._full:
            # A summary refresh also refreshes the summary fields of the full record.
            full = self._full[summary.id].model_copy(update=dict(summary))
            self._full[summary.id] = full
        self._place(old, summary)
        full_json = full.model_dump_json(by_alias=True) if full is not None else None
        self._db.execute(
            "INSERT INTO conversations (id, last_date, summary, full) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET last_date = excluded.last_date,"
            " summary = excluded.summary, full = COALESCE(excluded.full, conversations.full)",
            (
                summary.id,
                summary.last_message_date or 0,
                summary.model_dump_json(by_alias=True),
                full_json,
            ),
        )
        if old is None or full is not None or old.name != summary.name:
            self._index_words(summary.id)
        self.emit(ConversationChanged(summary.id))

    def _place(self, old: ConversationSummary | None, new: ConversationSummary) -> None:
        # Keep the newest-first list sorted with one removal and one insertion.
        if old is not None:
            index = bisect.bisect_left(self._order, _sort_key(old))
            if index < len(self._order) and self._order[index] == _sort_key(old):
                del self._order[index]
            self._unread_total -= old.unread_count
        bisect.insort(self._order, _sort_key(new))
        self._unread_total += new.unread_count
        self._summaries[new.id] = new

    def _drop_conversation(self, cid: str) -> None:
        old = self._summaries.pop(cid, None)
        if old is not None:
            index = bisect.bisect_left(self._order, _sort_key(old))
            if index < len(self._order) and self._order[index] == _sort_key(old):
                del self._order[index]
            self._unread_total -= old.unread_count
        self._full.pop(cid, None)
        self._db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        self._db.execute("DELETE FROM participants WHERE conversation_id = ?", (cid,))
        # No longer visible to this user (e.g. access changed): its history goes too,
        # except unsent messages, which stay until the user deletes them.
        self._db.execute(
            "DELETE FROM messages WHERE conversation_id = ? AND local_state = 'sent'", (cid,)
        )

    def update_conversation(self, conversation_id: str, **fields: Any) -> bool:
        """Merge summary fields (snake_case or camelCase) into a known conversation."""
        old = self._summaries.get(conversation_id)
        if old is None:
            return False
        merged = old.model_dump(by_alias=True) | _fields_of(ConversationSummary, fields)
        new = ConversationSummary.model_validate(merged)
        full = self._full.get(conversation_id)
        new_full = None
        if full is not None:
            full_data = full.model_dump(by_alias=True) | _fields_of(Conversation, fields)
            new_full = Conversation.model_validate(full_data | new.model_dump(by_alias=True))
        if new == old and new_full == full:
            # The server repeats what a text's own event already said (its preview, an
            # unread count of 0 for the thread on screen): no write, and no listener runs
            # for it. Each such change redrew the list and the thread (issue 19).
            return True
        with self._tx():
            if new_full is not None:
                self._full[conversation_id] = new_full
                self._put_summary(new, full=new_full)
            else:
                self._put_summary(new)
        return True

    def conversations_with_contact(self, contact_id: str) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT conversation_id FROM participants WHERE contact_id = ?", (contact_id,)
        )
        return [row[0] for row in rows]

    # --- messages ----------------------------------------------------------------

    def messages(
        self,
        conversation_id: str,
        limit: int = 50,
        before: str | None = None,
        after: str | None = None,
    ) -> list[LocalMessage]:
        """Up to ``limit`` messages, oldest → newest, ending just before ``before``, or
        (with ``after``) starting just after ``after``.

        ``before``/``after`` is a message's ``key``, server id or local id (the oldest or
        newest one shown).
        """
        sql = "SELECT json FROM messages WHERE conversation_id = ?"
        args: list[Any] = [conversation_id]
        newer = after is not None
        ref = after if after is not None else before
        anchor = self._find_row(ref) if ref is not None else None
        if anchor is not None:
            sql += (
                " AND (date_ms > ? OR (date_ms = ? AND seq > ?))"
                if newer
                else " AND (date_ms < ? OR (date_ms = ? AND seq < ?))"
            )
            args += [anchor[1], anchor[1], anchor[2]]
        order = "ASC" if newer else "DESC"
        sql += f" ORDER BY date_ms {order}, seq {order} LIMIT ?"
        args.append(limit)
        rows = self._db.execute(sql, args).fetchall()
        ordered = rows if newer else reversed(rows)
        return [LocalMessage.model_validate_json(row[0]) for row in ordered]

    def message(self, ref: str) -> LocalMessage | None:
        row = self._find_row(ref)
        if row is None:
            return None
        found = self._db.execute("SELECT json FROM messages WHERE key = ?", (row[0],)).fetchone()
        return LocalMessage.model_validate_json(found[0]) if found else None

    def _find_row(self, ref: str) -> tuple[str, int, int] | None:
        """(key, date_ms, seq) of a message named by key, server id or client message id."""
        for column, arg in (("key", ref), ("server_id", ref), ("key", f"c:{ref}")):
            row = self._db.execute(
                f"SELECT key, date_ms, seq FROM messages WHERE {column} = ?", (arg,)
            ).fetchone()
            if row is not None:
                return (str(row[0]), int(row[1]), int(row[2]))
        return None

    def put_messages(self, conversation_id: str, messages: Iterable[Message]) -> None:
        """Cache server messages; each is added, reconciled or left alone.

        Any order of dates is fine; messages of the same millisecond must come
        newest first, as a page from the server does.
        """
        # Oldest first, in arrival order; same-millisecond ties are taken to be in the
        # server's page order (newest first), as get_messages answers.
        batch = sorted(reversed(list(messages)), key=lambda m: _ms(m.date_added))
        floor = self._db.execute(
            "SELECT MIN(date_ms) FROM messages WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()[0]
        # An older page goes in front of what is cached, even within the same millisecond.
        older = [m for m in batch if floor is not None and _ms(m.date_added) <= floor]
        with self._tx():
            for message in reversed(older):
                self._upsert_server_message(message, prepend=True)
            for message in batch[len(older) :]:
                self._upsert_server_message(message)

    def _upsert_server_message(
        self, message: Message, *, prepend: bool = False
    ) -> LocalMessage | None:
        cmid = message.client_message_id
        row = self._db.execute(
            "SELECT key, json FROM messages WHERE server_id = ?", (message.id,)
        ).fetchone()
        if row is None and cmid:
            row = self._db.execute(
                "SELECT key, json FROM messages WHERE key = ?", (f"c:{cmid}",)
            ).fetchone()
        old = LocalMessage.model_validate_json(row[1]) if row else None
        local_id = (old.local_id if old else None) or cmid
        local = LocalMessage.model_validate(
            message.model_dump(by_alias=True) | {"localState": "sent", "localId": local_id}
        )
        if old is not None and old == local:
            return None
        key = row[0] if row else row_key(message.id, cmid)
        self._write_message(key, local, prepend=prepend)
        if local_id and old is not None and old.local_state != "sent":
            # The server has it: the outbox entry is done, whoever finishes first.
            self._db.execute("DELETE FROM outbox WHERE local_id = ?", (local_id,))
        change = MessageUpdated if old is not None else MessageAdded
        self.emit(change(local.conversation_id, local))
        self._bump_preview(local)
        return local

    def _write_message(self, key: str, message: LocalMessage, *, prepend: bool = False) -> None:
        server_id = message.id if message.local_state == "sent" else None
        if prepend:
            self._low_seq -= 1
            seq = self._low_seq
        else:
            self._seq += 1
            seq = self._seq
        # An existing row keeps its place (seq): reconciling must not reorder.
        self._db.execute(
            "INSERT INTO messages"
            " (key, server_id, conversation_id, date_ms, seq, local_state, json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
            " server_id = excluded.server_id, date_ms = excluded.date_ms,"
            " local_state = excluded.local_state, json = excluded.json",
            (
                key,
                server_id,
                message.conversation_id,
                _ms(message.date_added),
                seq,
                message.local_state,
                message.model_dump_json(by_alias=True),
            ),
        )

    def _bump_preview(self, message: LocalMessage) -> None:
        # The list row shows the newest message; an older page must not move it.
        summary = self._summaries.get(message.conversation_id)
        if summary is None:
            return
        date = _ms(message.date_added)
        if summary.last_message_date is not None and date < summary.last_message_date:
            return
        preview = message.body or ("Attachment" if message.attachments else "")
        if (
            summary.last_message_date == date
            and summary.last_message_body == preview
            and summary.last_message_direction == message.direction
        ):
            return
        self._put_summary(
            summary.model_copy(
                update={
                    "last_message_body": preview,
                    "last_message_date": date,
                    "last_message_direction": message.direction,
                }
            )
        )

    def _update_status(self, data: dict[str, Any], change: dict[str, Any] | None = None) -> None:
        """A message's new status (``data``), and the one recipient's step that moved it
        (``change``: the server names the step and the message's status after it, not
        the whole message again)."""
        message_id = data.get("messageId") or data.get("id")
        if not isinstance(message_id, str):
            return
        row = self._db.execute(
            "SELECT key, json FROM messages WHERE server_id = ?", (message_id,)
        ).fetchone()
        if row is None:
            return
        old = LocalMessage.model_validate_json(row[1])
        update = {k: data[k] for k in ("status", "recipients") if k in data}
        if change is not None and "recipients" not in update:
            update["recipients"] = _with_step(old, change)
        new = LocalMessage.model_validate(old.model_dump(by_alias=True) | update)
        if new != old:
            self._write_message(row[0], new)
            self.emit(MessageUpdated(new.conversation_id, new))

    # --- the outbox's rows -------------------------------------------------------

    def add_outgoing(
        self,
        conversation_id: str,
        body: str,
        files: Sequence[OutboxFile] = (),
        *,
        local_id: str,
        user_id: str | None = None,
    ) -> LocalMessage:
        """Write an outgoing message and its outbox entry in one commit; shown as sending."""
        message = LocalMessage(
            id=local_id,
            conversation_id=conversation_id,
            direction=Direction.OUTBOUND,
            body=body,
            date_added=datetime.now(UTC),
            status=MessageStatus.PENDING,
            user_id=user_id,
            client_message_id=local_id,
            local_state="sending",
            local_id=local_id,
            local_files=[f.path for f in files],
        )
        with self._tx() as db:
            db.execute(
                "INSERT INTO outbox (local_id, conversation_id, body, files, state)"
                " VALUES (?, ?, ?, ?, 'queued')",
                (local_id, conversation_id, body, _files_json(files)),
            )
            self._write_message(message.key, message)
            self.emit(MessageAdded(conversation_id, message))
            self._bump_preview(message)
        return message

    def outbox(self) -> list[OutboxEntry]:
        """Every outbox entry (queued and failed), in the order they were written."""
        return self._outbox_rows("", ())

    def _outbox_rows(self, where: str, args: tuple[str, ...]) -> list[OutboxEntry]:
        rows = self._db.execute(
            "SELECT seq, local_id, conversation_id, body, files, state, attempts, error"
            f" FROM outbox {where} ORDER BY seq",
            args,
        )
        return [
            OutboxEntry(
                seq=seq,
                local_id=local_id,
                conversation_id=cid,
                body=body,
                files=[OutboxFile(**f) for f in json.loads(files)],
                state="failed" if state == "failed" else "queued",
                attempts=attempts,
                error=error,
            )
            for seq, local_id, cid, body, files, state, attempts, error in rows
        ]

    def outbox_heads(self) -> list[OutboxEntry]:
        """The oldest queued entry of each conversation: what may be sent next."""
        return self._outbox_rows(
            "WHERE seq IN (SELECT MIN(seq) FROM outbox WHERE state = 'queued'"
            " GROUP BY conversation_id)",
            (),
        )

    def outbox_entry(self, local_id: str) -> OutboxEntry | None:
        return next(iter(self._outbox_rows("WHERE local_id = ?", (local_id,))), None)

    def outbox_save(self, entry: OutboxEntry) -> None:
        """Remember progress (uploaded URLs, attempts) so a restart resumes, not redoes."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET files = ?, attempts = ?, error = ? WHERE local_id = ?",
                (_files_json(entry.files), entry.attempts, entry.error, entry.local_id),
            )

    def outbox_set_state(self, local_id: str, state: str, error: str | None = None) -> None:
        """Mark an entry failed (with why) or queued again; its bubble follows."""
        local_state = "failed" if state == "failed" else "sending"
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE outbox SET state = ?, error = ? WHERE local_id = ?",
                (state, error, local_id),
            )
            if cursor.rowcount:
                self._set_local_state(local_id, local_state, error)

    def outbox_sent(self, local_id: str, message_id: str, status: MessageStatus) -> None:
        """The server accepted it: drop the entry; the bubble takes the server's id."""
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE local_id = ?", (local_id,))
            row = db.execute(
                "SELECT json FROM messages WHERE key = ?", (f"c:{local_id}",)
            ).fetchone()
            if row is None:
                return
            old = LocalMessage.model_validate_json(row[0])
            if old.local_state == "sent":
                return  # the server's copy arrived first and already reconciled it
            new = old.model_copy(
                update={
                    "id": message_id,
                    "status": status,
                    "local_state": "sent",
                    "local_files": [],
                    "error": None,
                }
            )
            self._write_message(f"c:{local_id}", new)
            self.emit(MessageUpdated(new.conversation_id, new))

    def outbox_remove(self, local_id: str) -> OutboxEntry | None:
        """Delete an unsent message (the user's Delete); returns it so files can go."""
        entry = self.outbox_entry(local_id)
        if entry is None:
            return None
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE local_id = ?", (local_id,))
            db.execute("DELETE FROM messages WHERE key = ?", (f"c:{local_id}",))
            self.emit(MessageRemoved(entry.conversation_id, f"c:{local_id}"))
        return entry

    def _set_local_state(self, local_id: str, state: str, error: str | None) -> None:
        row = self._db.execute(
            "SELECT json FROM messages WHERE key = ?", (f"c:{local_id}",)
        ).fetchone()
        if row is None:
            return
        old = LocalMessage.model_validate_json(row[0])
        if old.local_state == "sent":
            return
        new = old.model_copy(update={"local_state": state, "error": error})
        self._write_message(f"c:{local_id}", new)
        self.emit(MessageUpdated(new.conversation_id, new))

    # --- events ------------------------------------------------------------------

    # --- attachment sizes ----------------------------------------------------------

    def file_size(self, url: str) -> int | None:
        """The size of an attachment this device uploaded or downloaded, if it did."""
        row = self._db.execute("SELECT size FROM file_sizes WHERE url = ?", (url,)).fetchone()
        return None if row is None else int(row[0])

    def put_file_size(self, url: str, size: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO file_sizes VALUES (?, ?)", (url, size))

    def cursor(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, cursor: str | None) -> None:
        with self._tx() as db:
            self._write_cursor(db, cursor)

    @staticmethod
    def _write_cursor(db: sqlite3.Connection, cursor: str | None) -> None:
        if cursor is None:
            db.execute("DELETE FROM meta WHERE key = 'cursor'")
        else:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('cursor', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (cursor,),
            )

    def event_log(self) -> str | None:
        """The identity of the server's event log the cursor belongs to (None: not told)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'event_log'").fetchone()
        return None if row is None else str(row[0])

    def set_event_log(self, log_id: str) -> None:
        with self._tx() as db:
            self._write_event_log(db, log_id)

    @staticmethod
    def _write_event_log(db: sqlite3.Connection, log_id: str) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('event_log', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (log_id,),
        )

    def start_new_log(self, cursor: str, log_id: str | None = None) -> None:
        """The server's event log is another one (a database made anew or restored behind
        the same address): its ids start again, so the ids applied from the old log are
        forgotten, or they would hide the new log's events."""
        with self._tx() as db:
            db.execute("DELETE FROM applied_events")
            self._applied = set()
            self._write_cursor(db, cursor)
            if log_id is not None:
                self._write_event_log(db, log_id)

    def was_applied(self, event_id: str) -> bool:
        return event_id in self._applied

    def apply_event(self, event: Event, cursor: str | None = None) -> bool:
        """Apply a server event exactly once (by id); False when it was seen before."""
        return bool(self.apply_events([event], cursor))

    def apply_events(
        self,
        events: Sequence[Event],
        cursor: str | None = None,
        *,
        reading: Collection[str] = (),
    ) -> list[Event]:
        """Apply a batch and move the cursor in one commit; returns the events new to us.

        The cursor and the applied ids are written with the effects, so a crash
        either keeps all three or none, and a replay after it changes nothing.
        ``reading`` are the conversations on screen: their messages are read as they come,
        so the server's unread count for them is not taken (Sync marks them read there).
        """
        fresh: list[Event] = []
        with self._tx() as db:
            for event in events:
                if event.id in self._applied:
                    continue
                try:
                    self._apply_one(event, reading)
                except (ValidationError, ValueError, TypeError, KeyError):
                    # A malformed event must not wedge the stream: skip it.
                    log.warning("skipping malformed event %s (%s)", event.id, event.type)
                db.execute("INSERT OR IGNORE INTO applied_events (id) VALUES (?)", (event.id,))
                self._applied.add(event.id)
                fresh.append(event)
            if cursor is not None:
                self._write_cursor(db, cursor)
            if len(self._applied) > 2 * _APPLIED_KEEP:
                self._prune_applied(db)
        return fresh

    def _prune_applied(self, db: sqlite3.Connection) -> None:
        db.execute(
            "DELETE FROM applied_events WHERE seq <= (SELECT MAX(seq) FROM applied_events) - ?",
            (_APPLIED_KEEP,),
        )
        self._applied = {row[0] for row in db.execute("SELECT id FROM applied_events")}

    def _apply_one(self, event: Event, reading: Collection[str] = ()) -> None:
        data = event.data
        kind = event.type
        if kind is EventType.MESSAGE_CREATED:
            self._upsert_server_message(Message.model_validate(_inner(data, "message")))
        elif kind is EventType.MESSAGE_STATUS_UPDATED:
            inner = _inner(data, "message")
            if "dateAdded" in inner and "conversationId" in inner and "id" in inner:
                self._upsert_server_message(Message.model_validate(inner))
            else:
                self._update_status(inner, data if inner is not data else None)
        elif kind is EventType.CONVERSATION_UPDATED:
            inner = _inner(data, "conversation")
            if (inner.get("id") or inner.get("conversationId")) in reading:
                inner = inner | {"unreadCount": 0}
            if "participants" in inner and "id" in inner:
                # The whole conversation: also brings in one this device never saw.
                self.put_conversation(Conversation.model_validate(inner))
                return
            cid = inner.get("id") or inner.get("conversationId")
            if isinstance(cid, str):
                self.update_conversation(cid, **inner)
        elif kind in (EventType.CONTACT_UPDATED, EventType.CONTACT_DND_UPDATE):
            self._apply_contact_event(data)
        elif kind is EventType.CONTACT_DELETED:
            inner = _inner(data, "contact")
            contact_id = inner.get("id") or inner.get("contactId")
            if isinstance(contact_id, str):
                self.delete_contact(contact_id)
        # Unknown event types are skipped on purpose (a newer server).

    def _apply_contact_event(self, data: dict[str, Any]) -> None:
        inner = _inner(data, "contact")
        if "id" in inner:
            self.put_contacts([Contact.model_validate(inner)])
            return
        contact_id = inner.get("contactId")
        existing = self.contact(contact_id) if isinstance(contact_id, str) else None
        if existing is None:
            return
        update = {k: v for k, v in inner.items() if k != "contactId"}
        self.put_contacts([Contact.model_validate(existing.model_dump(by_alias=True) | update)])

    # --- drafts ------------------------------------------------------------------

    def draft(self, conversation_id: str) -> str:
        return self._drafts.get(conversation_id, "")

    def set_draft(self, conversation_id: str, text: str) -> None:
        if self._drafts.get(conversation_id, "") == text:
            return
        with self._tx() as db:
            if text:
                self._drafts[conversation_id] = text
                db.execute(
                    "INSERT INTO drafts VALUES (?, ?)"
                    " ON CONFLICT(conversation_id) DO UPDATE SET text = excluded.text",
                    (conversation_id, text),
                )
            else:
                self._drafts.pop(conversation_id, None)
                db.execute("DELETE FROM drafts WHERE conversation_id = ?", (conversation_id,))

    # --- contacts and teammates --------------------------------------------------

    def put_contacts(self, contacts: Iterable[Contact], *, replace: bool = False) -> None:
        """Cache contacts this user may see; ``replace`` forgets the ones not given."""
        contacts = list(contacts)
        with self._tx() as db:
            if replace:
                db.execute("DELETE FROM contacts")
                self._contacts.clear()
            rows = [
                (
                    c.id,
                    c.display_name,
                    c.email,
                    c.phone,
                    c.model_dump_json(by_alias=True, exclude={"search_after"}),
                )
                for c in contacts
            ]
            db.executemany("INSERT OR REPLACE INTO contacts VALUES (?, ?, ?, ?, ?)", rows)
            self._contacts.put_many((r[0], r[1], r[2], r[3]) for r in rows)
            self.emit(ContactsChanged())

    def retain_contacts(self, keep: set[str]) -> None:
        """Forget cached contacts not in ``keep`` (after a full refresh, in pieces)."""
        gone = [(cid,) for cid in self._contacts.ids() if cid not in keep]
        if not gone:
            return
        with self._tx() as db:
            db.executemany("DELETE FROM contacts WHERE id = ?", gone)
            for (cid,) in gone:
                self._contacts.remove(cid)
            self.emit(ContactsChanged())

    def delete_contact(self, contact_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
            self._contacts.remove(contact_id)
            self.emit(ContactsChanged())

    def contact(self, contact_id: str) -> Contact | None:
        row = self._db.execute("SELECT json FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        return None if row is None else Contact.model_validate_json(row[0])

    def contacts(self, query: str = "", limit: int | None = 50) -> list[Contact]:
        """Contacts matching name, email or phone digits, in name order."""
        return self._fetch("contacts", Contact, self._contacts.search(query, limit))

    def contact_count(self) -> int:
        return len(self._contacts)

    def put_teammates(self, users: Iterable[User]) -> None:
        users = list(users)
        with self._tx() as db:
            db.execute("DELETE FROM teammates")
            self._teammates.clear()
            rows = [
                (u.id, u.display_name, u.email, u.phone, u.model_dump_json(by_alias=True))
                for u in users
            ]
            db.executemany("INSERT INTO teammates VALUES (?, ?, ?, ?, ?)", rows)
            self._teammates.put_many((r[0], r[1], r[2], r[3]) for r in rows)
            self.emit(ContactsChanged())

    def teammates(self, query: str = "", limit: int | None = None) -> list[User]:
        return self._fetch("teammates", User, self._teammates.search(query, limit))

    def _fetch(self, table: str, model: type[_T], ids: list[str]) -> list[_T]:
        # Only the page's rows are read and parsed: O(page), not O(all).
        found: dict[str, _T] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for id_, raw in self._db.execute(
                f"SELECT id, json FROM {table} WHERE id IN ({marks})", chunk
            ):
                found[id_] = model.model_validate_json(raw)
        return [found[i] for i in ids if i in found]


def _with_step(message: Message, change: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's recipients, the one ``change`` names at its new status."""
    who = change.get("participantId")
    step = {k: change[k] for k in ("status", "error") if k in change}
    return [
        r.model_dump(by_alias=True) | (step if r.participant_id == who else {})
        for r in message.recipients
    ]


def _inner(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Event payloads may wrap the object (``{"message": {...}}``) or be it."""
    inner = data.get(name)
    return inner if isinstance(inner, dict) else data


def _fields_of(model: type[ConversationSummary], fields: dict[str, Any]) -> dict[str, Any]:
    """Keep the model's fields of a partial update, keyed by their camelCase alias."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias in fields:
            out[alias] = fields[alias]
        elif name in fields:
            out[alias] = fields[name]
    out.pop("id", None)
    return out


def _files_json(files: Sequence[OutboxFile]) -> str:
    return json.dumps(
        [
            {"name": f.name, "content_type": f.content_type, "path": f.path, "url": f.url}
            for f in files
        ]
    )
