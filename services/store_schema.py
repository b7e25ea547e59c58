"""The store's SQLite schema, versioned with ``PRAGMA user_version``.

The database is a cache of the server plus two things only this device has:
drafts and the outbox. When the version on disk is not the one this code
writes, the cache tables are rebuilt (the server can refill them) while drafts
and the outbox are carried over, so an upgrade never loses a typed message.
"""

from __future__ import annotations

import sqlite3

# 3: search on FTS5 indexes (message_words, kept by triggers; conversation_words and
# conversation_digits, kept by the store), not a scan of every conversation.
SCHEMA_VERSION = 3

# Tables only this device can fill; every other table is a cache of the server.
_PRECIOUS = ("drafts", "outbox")

_CACHE_DDL = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    last_date INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL,
    full TEXT
);
CREATE TABLE IF NOT EXISTS participants (
    conversation_id TEXT NOT NULL,
    id TEXT NOT NULL,
    contact_id TEXT,
    user_id TEXT,
    phone TEXT,
    name TEXT,
    PRIMARY KEY (conversation_id, id)
);
CREATE INDEX IF NOT EXISTS participants_contact ON participants (contact_id);
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    server_id TEXT UNIQUE,
    conversation_id TEXT NOT NULL,
    date_ms INTEGER NOT NULL,
    -- Arrival order: breaks ties between messages of the same millisecond the
    -- way the server does (its own sequence), since events arrive in that order.
    seq INTEGER NOT NULL,
    local_state TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (conversation_id, date_ms, seq);
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS teammates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
-- Sizes of attachments this device uploaded or downloaded: messages carry only URLs,
-- and fetching a file to measure it would cost the user's data for a number.
CREATE TABLE IF NOT EXISTS file_sizes (url TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS applied_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE
);
-- Search (issue 19). Words match from their start, ignoring case and accents, as on the
-- server (docs/contract.md). Message bodies are indexed by rowid, kept by triggers (a
-- message is written with an upsert, so its rowid never changes).
CREATE VIRTUAL TABLE IF NOT EXISTS message_words
    USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS message_words_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_words (rowid, body)
    VALUES (new.rowid, COALESCE(json_extract(new.json, '$.body'), ''));
END;
CREATE TRIGGER IF NOT EXISTS message_words_update AFTER UPDATE OF json ON messages BEGIN
    DELETE FROM message_words WHERE rowid = old.rowid;
    INSERT INTO message_words (rowid, body)
    VALUES (new.rowid, COALESCE(json_extract(new.json, '$.body'), ''));
END;
CREATE TRIGGER IF NOT EXISTS message_words_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_words WHERE rowid = old.rowid;
END;
-- A conversation's name and participants' names, and its participants' phone digits
-- (trigrams: three or more digits match anywhere), by the conversation's rowid.
CREATE VIRTUAL TABLE IF NOT EXISTS conversation_words
    USING fts5(words, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS conversation_digits USING fts5(digits, tokenize = 'trigram');
CREATE TRIGGER IF NOT EXISTS conversation_words_delete AFTER DELETE ON conversations BEGIN
    DELETE FROM conversation_words WHERE rowid = old.rowid;
    DELETE FROM conversation_digits WHERE rowid = old.rowid;
END;
"""

_PRECIOUS_DDL = """
CREATE TABLE IF NOT EXISTS drafts (conversation_id TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    local_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    files TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
"""

_CACHE_TABLES = (
    "conversations",
    "participants",
    "messages",
    "contacts",
    "teammates",
    "meta",
    "applied_events",
    "file_sizes",
    "message_words",
    "conversation_words",
    "conversation_digits",
)


def open_db(path: str) -> sqlite3.Connection:
    # Autocommit mode: the store opens its own transactions (BEGIN IMMEDIATE).
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL under WAL: a commit never corrupts the file; a power cut may lose the
    # last commits, which the server (cache) or a retry of the outbox write covers.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=OFF")
    migrate(db)
    return db


def migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        # Unknown layout: drop the cache (the server refills it), keep the rest.
        for table in _CACHE_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        _check_precious(db)
    db.executescript(_CACHE_DDL + _PRECIOUS_DDL)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _check_precious(db: sqlite3.Connection) -> None:
    # A precious table whose columns changed is renamed aside rather than dropped.
    for table in _PRECIOUS:
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        expected = {"drafts": {"conversation_id", "text"}, "outbox": {"local_id", "body"}}[table]
        if columns and not expected <= columns:
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
