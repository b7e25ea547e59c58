"""SQLite storage of the server: connection, schema and its versioning.

One connection per backend, in WAL mode, used from one event loop at a time;
a lock still guards it because the embedded app may be reached from more than
one thread (the UI toolkit's loop and a test's loop). Every write goes through
``Database.tx()`` so it is one transaction: a SIGKILL between two statements
leaves either all of a write or none of it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.server.checkpoints import Checkpointer

SCHEMA_VERSION = 8

_SCHEMA_V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE users (
    id TEXT PRIMARY KEY, location_id TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, email TEXT, phone TEXT, role TEXT NOT NULL,
    assigned_data_only INTEGER NOT NULL DEFAULT 0, token TEXT UNIQUE
);
CREATE TABLE numbers (
    phone_number TEXT PRIMARY KEY, location_id TEXT NOT NULL, friendly_name TEXT NOT NULL,
    sms INTEGER NOT NULL, mms INTEGER NOT NULL, voice INTEGER NOT NULL,
    group_enabled INTEGER NOT NULL, linked_user TEXT, linked_ring_all TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE contacts (
    id TEXT PRIMARY KEY, location_id TEXT NOT NULL, first_name TEXT, last_name TEXT,
    phone TEXT, email TEXT, assigned_to TEXT, dnd_status TEXT NOT NULL DEFAULT 'inactive',
    tags TEXT NOT NULL DEFAULT '[]', date_updated TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY, location_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT,
    contact_id TEXT, from_number TEXT NOT NULL, created_by TEXT, date_added TEXT NOT NULL,
    kind TEXT, last_message_body TEXT, last_message_date INTEGER NOT NULL,
    last_message_direction TEXT, unread_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_activity ON conversations (last_message_date DESC, id DESC);
CREATE TABLE participants (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, position INTEGER NOT NULL,
    contact_id TEXT, user_id TEXT, name TEXT NOT NULL, phone TEXT NOT NULL
);
CREATE INDEX participants_by_conversation ON participants (conversation_id, position);
CREATE INDEX participants_by_contact ON participants (contact_id);
CREATE INDEX participants_by_phone ON participants (phone);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL, direction TEXT NOT NULL, body TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]', attachment_bytes INTEGER NOT NULL DEFAULT 0,
    date_added TEXT NOT NULL, status TEXT NOT NULL, user_id TEXT, participant_id TEXT,
    from_phone TEXT, client_message_id TEXT
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_by_client_id ON messages (conversation_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
CREATE TABLE recipients (
    message_id TEXT NOT NULL, participant_id TEXT NOT NULL, position INTEGER NOT NULL,
    phone TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    PRIMARY KEY (message_id, participant_id)
);
CREATE INDEX recipients_pending ON recipients (status);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, date_added TEXT NOT NULL,
    conversation_id TEXT, contact_id TEXT, data TEXT NOT NULL
);
CREATE TABLE idempotency (
    user_id TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
    status INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (user_id, scope, key)
);
CREATE TABLE attachments (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL,
    path TEXT NOT NULL, conversation_id TEXT, user_id TEXT, date_added TEXT NOT NULL
);
"""

# Version 2: real carriers. A group's id at the carrier and its members' ids; the
# carrier's ids of each outbound message; the durable queue of work for the carrier;
# and the inbox of what the carrier told us (webhooks), each applied once.
_SCHEMA_V2 = """
ALTER TABLE conversations ADD COLUMN carrier_ref TEXT;
ALTER TABLE conversations ADD COLUMN carrier_ready INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN carrier_ref TEXT;
CREATE INDEX conversations_by_carrier_ref ON conversations (carrier_ref)
    WHERE carrier_ref IS NOT NULL;
CREATE TABLE carrier_messages (
    carrier_message_id TEXT PRIMARY KEY, message_id TEXT NOT NULL
);
CREATE TABLE carrier_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    conversation_id TEXT NOT NULL, message_id TEXT,
    state TEXT NOT NULL, ready INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL, first_try_at INTEGER, answer_lost INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX carrier_jobs_due ON carrier_jobs (next_at) WHERE state = 'queued' AND ready = 1;
CREATE INDEX carrier_jobs_by_conversation ON carrier_jobs (conversation_id, id)
    WHERE state IN ('queued', 'running');
CREATE INDEX carrier_jobs_running ON carrier_jobs (id) WHERE state = 'running';
CREATE TABLE carrier_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, carrier TEXT NOT NULL, event_id TEXT NOT NULL,
    payload TEXT NOT NULL, received_at TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    UNIQUE (carrier, event_id)
);
CREATE INDEX carrier_inbox_new ON carrier_inbox (id) WHERE state = 'new'
"""


def _schema_v3(conn: sqlite3.Connection, db: Database) -> None:
    """Version 3: running it for a real business.

    Locations are rows of their own; a user can be disabled; tokens move to a table of
    their own, several per user, with a name, an expiry and when they were last used,
    and only the SHA-256 of each is kept (the users table is rebuilt without its token
    column, and secure_delete zeroes the freed pages, so no token stays in the file).
    """
    now = _utc_now()
    for statement in _statements(_SCHEMA_V3):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO locations (id, name, created_at) SELECT DISTINCT location_id,"
        " location_id, ? FROM users_v2",
        (now,),
    )
    rows = conn.execute("SELECT id, token FROM users_v2 WHERE token IS NOT NULL").fetchall()
    for row in rows:
        conn.execute(
            "INSERT INTO tokens (id, user_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                f"tok_{secrets.token_hex(10)}",
                row["id"],
                "from before tokens were named",
                token_hash(row["token"]),
                now,
            ),
        )
    conn.execute(
        "INSERT INTO users (id, location_id, first_name, last_name, email, phone, role,"
        " assigned_data_only) SELECT id, location_id, first_name, last_name, email, phone,"
        " role, assigned_data_only FROM users_v2"
    )
    conn.execute("DROP TABLE users_v2")


_SCHEMA_V3 = """
CREATE TABLE locations (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
ALTER TABLE users RENAME TO users_v2;
CREATE TABLE users (
    id TEXT PRIMARY KEY, location_id TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, email TEXT, phone TEXT, role TEXT NOT NULL,
    assigned_data_only INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_by_location ON users (location_id);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, last_used_at TEXT, expires_at TEXT, revoked_at TEXT
);
CREATE INDEX tokens_by_user ON tokens (user_id)
"""


def token_hash(token: str) -> str:
    """What is kept of a token. Tokens are 256 random bits, so a plain SHA-256 is enough:
    no one can guess a preimage, and unlike a password hash it costs nothing per request."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Version 4: search on indexes. Message bodies, conversation names and numbers in FTS5
# (services/server/search.py keeps and asks them); each conversation's sole assignee
# (who, limited to assigned data, may see it); the list's order as an index.
_SCHEMA_V4 = """
ALTER TABLE conversations ADD COLUMN assignee TEXT;
CREATE INDEX conversations_by_location ON conversations
    (location_id, last_message_date DESC, id DESC);
CREATE INDEX conversations_by_assignee ON conversations
    (location_id, assignee, last_message_date DESC, id DESC);
CREATE VIRTUAL TABLE message_words USING fts5(
    body, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_words_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_words (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER message_words_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_words (message_words, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_words (message_words, rowid, body) VALUES ('delete', old.seq, old.body);
    INSERT INTO message_words (rowid, body) VALUES (new.seq, new.body);
END;
CREATE VIRTUAL TABLE conversation_words USING fts5(
    conversation_id UNINDEXED, words, tokenize='unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE conversation_digits USING fts5(
    conversation_id UNINDEXED, digits, tokenize='trigram'
)
"""


def _schema_v4(conn: sqlite3.Connection, db: Database) -> None:
    for statement in _triggered_statements(_SCHEMA_V4):
        conn.execute(statement)
    from services.server import search  # it reads through this Database

    search.rebuild(conn, db)  # the rows already there


# Version 5: push notifications. Each user's devices (the push service's id for each),
# the threads a user muted, the one preference (pushes for what other staff send), and
# the durable queue of notifications: at most one waiting per user and thread, so a
# burst collapses into one notification, and one silent badge update per user
# (conversation_id '') after threads are read (push_queue.py).
_SCHEMA_V5 = """
CREATE TABLE devices (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, platform TEXT NOT NULL,
    push_id TEXT NOT NULL UNIQUE, app_version TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL, token_id TEXT
);
CREATE INDEX devices_by_user ON devices (user_id);
CREATE TABLE muted_conversations (
    user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, muted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
CREATE TABLE notification_prefs (
    user_id TEXT PRIMARY KEY, push_staff_messages INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE push_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL, message_id TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 1, idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,
    first_try_at INTEGER, last_error TEXT
);
CREATE INDEX push_jobs_due ON push_jobs (next_at) WHERE state = 'queued';
CREATE UNIQUE INDEX push_jobs_waiting ON push_jobs (user_id, conversation_id)
    WHERE state = 'queued'
"""

# Version 6: indexes for what a user limited to assigned data, or a number, looks up:
# the teammates' groups of a location (counted beside the assigned ones), a user's own
# participations, and a contact by number (the import, inbound texts, opt-outs).
_SCHEMA_V6 = """
CREATE INDEX conversations_by_kind ON conversations
    (location_id, kind, last_message_date DESC, id DESC);
CREATE INDEX participants_by_user ON participants (user_id);
CREATE INDEX contacts_by_phone ON contacts (location_id, phone)
"""


# Version 7: message search grouped by conversation without reading a message row. Each
# conversation gets a small integer (``num``), and a message's rowid in ``message_words``
# is its conversation's number times 2**32 plus its seq: a word's matches then come out
# of FTS5 grouped by conversation, oldest first, so the conversations a word is in and
# the newest match in each are read off the rowids alone (1,000,000 messages: the join
# to every matching message row took 23 ms of the 41 a common word's search took).
# The key is computed by the triggers, not stored: a column of it, set after each insert
# and indexed, cost a message's insert and commit 7% more CPU. ``message_texts`` says it
# for FTS5's rebuild; a lookup by it reads every message, so snippets are made apart
# (search.snippets), never by asking ``message_words`` for a row's text. A conversation
# is made before its messages and outlives them (the triggers look its number up); seq
# stays below 2**32.
_SCHEMA_V7 = """
ALTER TABLE conversations ADD COLUMN num INTEGER;
UPDATE conversations SET num = rowid;
CREATE UNIQUE INDEX conversations_by_num ON conversations (num);
CREATE TRIGGER conversations_num AFTER INSERT ON conversations WHEN new.num IS NULL BEGIN
    UPDATE conversations SET num = (SELECT IFNULL(MAX(num), 0) + 1 FROM conversations)
        WHERE rowid = new.rowid;
END;
DROP TRIGGER message_words_insert;
DROP TRIGGER message_words_delete;
DROP TRIGGER message_words_update;
DROP TABLE message_words;
CREATE VIEW message_texts AS
    SELECT (IFNULL(c.num, 0) << 32) + m.seq AS words_rowid, m.body AS body
    FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id;
CREATE VIRTUAL TABLE message_words USING fts5(
    body, content='message_texts', content_rowid='words_rowid',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER message_words_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_words (rowid, body) VALUES ((IFNULL((SELECT num FROM conversations
        WHERE id = new.conversation_id), 0) << 32) + new.seq, new.body);
END;
CREATE TRIGGER message_words_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_words (message_words, rowid, body) VALUES ('delete',
        (IFNULL((SELECT num FROM conversations WHERE id = old.conversation_id), 0) << 32)
        + old.seq, old.body);
END;
CREATE TRIGGER message_words_update AFTER UPDATE OF body, conversation_id ON messages BEGIN
    INSERT INTO message_words (message_words, rowid, body) VALUES ('delete',
        (IFNULL((SELECT num FROM conversations WHERE id = old.conversation_id), 0) << 32)
        + old.seq, old.body);
    INSERT INTO message_words (rowid, body) VALUES ((IFNULL((SELECT num FROM conversations
        WHERE id = new.conversation_id), 0) << 32) + new.seq, new.body);
END;
INSERT INTO message_words (message_words) VALUES ('rebuild')
"""


def _schema_v7(conn: sqlite3.Connection, db: Database) -> None:
    for statement in _triggered_statements(_SCHEMA_V7):
        conn.execute(statement)


# Version 8: the event log's identity, given out with every long-poll answer. A device
# keeps it beside its cursor, so a cursor from another log (a database made anew, or
# restored from a backup, behind the same address) is told apart even when that log is
# already longer than the cursor, where the cursor alone gives no sign. A restore gives
# the restored log a new one (backups.restore): its events after the backup's moment
# are not the ones devices saw.
_SCHEMA_V8 = """
CREATE TABLE event_log (id TEXT NOT NULL);
INSERT INTO event_log (id) VALUES (lower(hex(randomblob(16))))
"""


Migration = str | Callable[[sqlite3.Connection, "Database"], None]
# Index = version reached by applying that step; append, never edit.
_MIGRATIONS: Sequence[Migration] = (
    _SCHEMA_V1,
    _SCHEMA_V2,
    _schema_v3,
    _schema_v4,
    _SCHEMA_V5,
    _SCHEMA_V6,
    _schema_v7,
    _SCHEMA_V8,
)

Row = sqlite3.Row


class Database:
    """The server's SQLite file (or ``:memory:``)."""

    def __init__(self, path: str | Path, *, upto: int = SCHEMA_VERSION) -> None:
        """Open (and upgrade) the file; ``upto`` stops at an earlier version (tests)."""
        self.path = str(path)
        self._lock = threading.RLock()
        # Callbacks of watch(), by table; the watched tables a write transaction changed
        # (called again if it rolls back: a cache may have read the changes meanwhile).
        self._watchers: dict[str, list[Callable[[], None]]] = {}
        self._touched: set[str] = set()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only power loss may drop
        # the last commits, which a server can live with.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Deleted and replaced content is overwritten, not left in free pages.
        self._conn.execute("PRAGMA secure_delete=ON")
        # The log is copied into the file by a thread of its own, not inside a commit on
        # the event loop (checkpoints.py); an in-memory database has no log.
        wal = self._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        self._checkpoints = Checkpointer(self.path) if wal else None
        if self._checkpoints is not None:
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._migrate(upto)

    @property
    def version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, upto: int) -> None:
        with self.tx() as conn:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > len(_MIGRATIONS):
                raise RuntimeError(
                    f"database schema {current} is newer than this server ({SCHEMA_VERSION})"
                )
            steps = list(enumerate(_MIGRATIONS[current:upto], start=current + 1))
            for version, step in steps:
                if callable(step):
                    step(conn, self)
                else:
                    for statement in _statements(step):
                        conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                conn.execute(f"PRAGMA user_version = {version}")
        if steps and current:
            # What an upgrade replaced must not linger in the write-ahead log either.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back when the block raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._touched.clear()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._notify(*self._touched)
                raise
            self._conn.execute("COMMIT")
            if self._checkpoints is not None:
                self._checkpoints.grown()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that belong together, as of one moment: a read transaction, with no other
        thread on the connection meanwhile (a temp table filled then read stays ours)."""
        with self._lock:
            if self._conn.in_transaction:  # already inside one: it is the moment
                yield self._conn
                return
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def watch(
        self, table: str, callback: Callable[[], None], *, ignoring: Sequence[str] = ()
    ) -> None:
        """Call ``callback`` after any row of ``table`` is inserted, updated or deleted;
        with ``ignoring``, an update that sets only those columns is no change (a cache
        that keeps none of them).

        Temporary triggers on this connection (every server write goes through it), so
        a cache of the table can never miss a change, whichever endpoint made it. Any
        number of callbacks may watch a table; a transaction that changed it and then
        rolls back calls them again (a cache may have read the changes meanwhile).
        """
        if not all(name.isidentifier() for name in (table, *ignoring)):
            raise ValueError(f"not a table or column name: {table!r} {ignoring!r}")
        topic = table if not ignoring else f"{table}__but__{'__'.join(sorted(ignoring))}"
        function = f"changed_{topic}"
        with self._lock:
            watchers = self._watchers.setdefault(topic, [])
            watchers.append(callback)
            if len(watchers) > 1:
                return  # the table's triggers call every callback already
            self._conn.create_function(
                function, 0, lambda: self._notify(topic, touched=True), deterministic=False
            )
            columns = [row[1] for row in self._conn.execute(f"PRAGMA main.table_info({table})")]
            watched = ", ".join(c for c in columns if c not in ignoring)
            for verb in ("INSERT", "UPDATE", "DELETE"):
                event = f"UPDATE OF {watched}" if verb == "UPDATE" and ignoring else verb
                self._conn.execute(
                    f"CREATE TEMP TRIGGER IF NOT EXISTS {function}_{verb.lower()}"
                    f" AFTER {event} ON main.{table} BEGIN SELECT {function}(); END"
                )

    def _notify(self, *tables: str, touched: bool = False) -> None:
        for table in tables:
            if touched and self._conn.in_transaction:
                self._touched.add(table)
            for callback in self._watchers.get(table, ()):
                callback()

    def close(self) -> None:
        """Close; the last connection to close copies the log into the file."""
        if self._checkpoints is not None:
            self._checkpoints.close()
        with self._lock:
            self._conn.close()


def _triggered_statements(script: str) -> list[str]:
    """Statements of a script whose triggers hold ';' inside BEGIN … END."""
    found: list[str] = []
    current = ""
    for part in script.split(";"):
        current = f"{current};{part}" if current else part
        if current.strip().upper().startswith(
            "CREATE TRIGGER"
        ) and not current.strip().upper().endswith("END"):
            continue
        if current.strip():
            found.append(current.strip())
        current = ""
    return found


def _statements(script: str) -> list[str]:
    # executescript() would commit our transaction; split instead (no ';' in literals).
    return [part.strip() for part in script.split(";") if part.strip()]


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None
