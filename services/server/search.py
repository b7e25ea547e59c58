"""Conversation search on indexes: SQLite FTS5, never a scan of every message.

Three indexes, kept by the writes themselves:
- ``message_words``: every message body (FTS5 over ``messages``, kept by triggers),
  keyed by conversation number then seq (``db._SCHEMA_V7``), so a word's matches say
  their conversations without a message row read;
- ``conversation_words``: a conversation's name and its participants' names, as at
  creation and as now;
- ``conversation_digits``: their phone numbers' digits, trigram-indexed, so "0188"
  finds (415) 555-0188 however it was typed.
A query's words match the start of words ("mar" finds Maria and Marsh), case and
accents ignored; three or more digits match anywhere in a number. Punctuation is not
a wildcard: "%" and "_" find nothing, as no word is made of them.

Who may see a conversation is decided by ``services/rules.py``; the ``assignee``
column keeps its one fact a query needs (``rules.sole_assignee``: the user every
contact is assigned to), recomputed whenever a contact of the conversation changes,
so a user limited to assigned data gets an indexed page, not a check of every
conversation. ``visible_sql`` says the same thing as ``rules.can_view_conversation``
in SQL; tests/services/server/test_search.py checks the two agree.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from services import phones, rules
from services.models import Contact, Conversation, User
from services.server import views
from services.server.db import Database

SNIPPET_START, SNIPPET_END = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)


# --- keeping the indexes ---------------------------------------------------------------------


def index_conversation(conn: sqlite3.Connection, db: Database, conversation_id: str) -> None:
    """(Re)index one conversation's names and numbers, and recompute who it belongs to."""
    wire = views.load_conversation(db, conversation_id)
    conn.execute("DELETE FROM conversation_words WHERE conversation_id = ?", (conversation_id,))
    conn.execute("DELETE FROM conversation_digits WHERE conversation_id = ?", (conversation_id,))
    if wire is None:
        return
    people = wire["participants"]
    words = [wire["name"] or ""] + [n for p in people for n in (p["name"], p["currentName"]) if n]
    numbers = [n for p in people for n in (p["phone"], p["currentPhone"]) if n]
    conn.execute(
        "INSERT INTO conversation_words (conversation_id, words) VALUES (?, ?)",
        (conversation_id, " ".join(words)),
    )
    conn.execute(
        "INSERT INTO conversation_digits (conversation_id, digits) VALUES (?, ?)",
        (conversation_id, " ".join(phones.digits(n) for n in numbers)),
    )
    conn.execute(
        "UPDATE conversations SET assignee = ? WHERE id = ?",
        (_assignee(db, wire), conversation_id),
    )


def _assignee(db: Database, wire: dict[str, Any]) -> str | None:
    conversation = Conversation.model_validate(wire)
    ids = [p.contact_id for p in conversation.participants if p.contact_id]
    if conversation.contact_id:
        ids.append(conversation.contact_id)
    contacts: dict[str, Contact] = {}
    for cid in ids:
        row = db.one("SELECT * FROM contacts WHERE id = ? AND deleted = 0", (cid,))
        if row is not None:
            contacts[cid] = Contact.model_validate(views.contact(row))
    return rules.sole_assignee(conversation, contacts)


def rebuild(conn: sqlite3.Connection, db: Database) -> None:
    """Every index from scratch (an upgrade, or a bulk load that went around the writes)."""
    conn.execute("INSERT INTO message_words (message_words) VALUES ('rebuild')")
    for row in conn.execute("SELECT id FROM conversations").fetchall():
        index_conversation(conn, db, row["id"])


# --- asking them -----------------------------------------------------------------------------


def word_query(text: str) -> str | None:
    """An FTS5 query: every word of ``text``, each as the start of a word; None for none."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


FOUND = "temp.search_found h CROSS JOIN conversations c ON c.num = h.num"
"""What ``find`` found, as ``conversations c`` beside ``h.words_rowid``: read from the
found ones (CROSS JOIN keeps that order), never by walking every conversation."""
FOUND_IN_ORDER = "conversations c CROSS JOIN temp.search_found h ON h.num = c.num"
"""The same, read by walking the conversations in the list's order (``in_order``)."""
DENSE = 8


def in_order(conn: sqlite3.Connection, found: int) -> bool:
    """Whether a page of ``found`` conversations is best read by walking the list in its
    order, stopping at the page's end: when at least one conversation in ``DENSE`` was
    found. The walk then reads about DENSE rows per row of the page, and at worst (all
    found ones at the end) DENSE times ``found``; reading the found ones and sorting
    them costs ``found`` (1 ms for 2,000) however small the page."""
    numbered = conn.execute("SELECT MAX(num) FROM conversations").fetchone()[0]
    return found * DENSE >= (numbered or 0)


def find(conn: sqlite3.Connection, location_id: str, text: str) -> int:
    """Fill ``temp.search_found`` with the conversations whose names, numbers or messages
    match (``num``), each with its newest matching message's ``words_rowid`` (NULL when
    only its name or number matched); how many were found (in any location: ``FOUND``
    joined with a location says which are this one's). Use inside ``Database.snapshot``.

    The message matches are one pass over the rowids FTS5 gives, never a message row:
    they come grouped by conversation, oldest first (``db._SCHEMA_V7``), so each one
    replaces the one before it and what stays is the newest."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS search_found (num INTEGER PRIMARY KEY, words_rowid)"
    )
    conn.execute("DELETE FROM temp.search_found")
    if "\x00" in text:
        _literal(conn, location_id, text)
        return _found(conn)
    query = word_query(text)
    if query is not None:
        conn.execute(
            "INSERT OR REPLACE INTO temp.search_found SELECT rowid >> 32, rowid"
            " FROM message_words WHERE message_words MATCH ?",
            (query,),
        )
        conn.execute(
            "INSERT OR IGNORE INTO temp.search_found (num) SELECT c.num"
            " FROM conversation_words w JOIN conversations c ON c.id = w.conversation_id"
            " WHERE w.words MATCH ?",
            (query,),
        )
    digits = phones.digits(text)
    if len(digits) >= 3:
        conn.execute(
            "INSERT OR IGNORE INTO temp.search_found (num) SELECT c.num"
            " FROM conversation_digits d JOIN conversations c ON c.id = d.conversation_id"
            " WHERE d.digits MATCH ?",
            ('"' + digits + '"',),
        )
    return _found(conn)


def _found(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM temp.search_found").fetchone()[0])


def _literal(conn: sqlite3.Connection, location_id: str, text: str) -> None:
    # A NUL is no word to an index: look for the bytes themselves (rare, so a scan).
    conn.execute(
        "INSERT OR IGNORE INTO temp.search_found (num) SELECT c.num FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE c.location_id = ?"
        " AND instr(CAST(m.body AS BLOB), ?) > 0",
        (location_id, text.encode("utf-8")),
    )


def matching(db: Database, location_id: str, text: str) -> dict[str, int | None]:
    """The location's conversations that ``find`` finds: each id with the newest matching
    message's ``words_rowid`` (None when only its name or number matched)."""
    with db.snapshot() as conn:
        find(conn, location_id, text)
        rows = conn.execute(
            f"SELECT c.id, h.words_rowid FROM {FOUND} WHERE c.location_id = ?", (location_id,)
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def snippets(
    conn: sqlite3.Connection, text: str, words_rowids: list[int | None]
) -> dict[int, dict[str, Any]]:
    """The matching messages ``find`` found (by ``words_rowid``), with the matching words
    marked: ``{"text": ..., "highlights": [[start, end], ...]}`` (character offsets).

    Marked by a small FTS5 table of just these messages, tokenized as ``message_words``
    is: asking ``message_words`` itself reads the word's whole list of matches again
    for each query (0.5 ms for a common word at 1,000,000 messages, twenty times for a
    page asked one at a time), and it finds a row's text only by reading every message
    (``db._SCHEMA_V7``). Use inside ``Database.snapshot``."""
    query = word_query(text)
    wanted = [r for r in words_rowids if r is not None]
    if query is None or not wanted:
        return {}
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_snippets"
        " USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute("DELETE FROM temp.search_snippets")
    conn.execute(
        "INSERT INTO temp.search_snippets (rowid, body) SELECT w.value, m.body"
        " FROM json_each(?) w JOIN messages m ON m.seq = w.value & 4294967295",
        (json.dumps(wanted),),
    )
    rows = conn.execute(
        "SELECT rowid, snippet(search_snippets, 0, ?, ?, '…', 12) FROM temp.search_snippets"
        " WHERE search_snippets MATCH ?",
        (SNIPPET_START, SNIPPET_END, query),
    ).fetchall()
    return {int(row[0]): marked(str(row[1])) for row in rows}


def marked(text: str) -> dict[str, Any]:
    """Text with ``SNIPPET_START``/``SNIPPET_END`` around matches → plain text and ranges."""
    plain: list[str] = []
    ranges: list[list[int]] = []
    at = 0
    start = 0
    for ch in text:
        if ch == SNIPPET_START:
            start = at
        elif ch == SNIPPET_END:
            ranges.append([start, at])
        else:
            plain.append(ch)
            at += 1
    return {"text": "".join(plain), "highlights": ranges}


def visible_sql(user: User) -> tuple[str, tuple[Any, ...]]:
    """``rules.can_view_conversation`` as a condition on ``conversations c``."""
    branches = visible_branches(user)
    sql = " OR ".join(f"({branch})" for branch, _ in branches)
    return f"({sql})", tuple(arg for _, args in branches for arg in args)


def visible_branches(user: User) -> list[tuple[str, tuple[Any, ...]]]:
    """The same condition as disjoint parts, each answered by an index of its own: a
    count is the sum of their counts (an OR of them would read every conversation)."""
    mine = (
        "(c.created_by = ? OR EXISTS (SELECT 1 FROM participants p"
        " WHERE p.conversation_id = c.id AND p.user_id = ?))"
    )
    if user.is_admin:
        return [("1", ())]
    teammates = (f"c.kind = 'teammates' AND {mine}", (user.id, user.id))
    if not user.assigned_data_only:
        return [("c.kind IS NOT 'teammates'", ()), teammates]
    return [("c.assignee = ? AND c.kind IS NOT 'teammates'", (user.id,)), teammates]
