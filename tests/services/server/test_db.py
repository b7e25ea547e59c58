"""The SQLite file: WAL, versioned schema, transactions that roll back whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.server.db import SCHEMA_VERSION, Database


def test_new_database_is_wal_and_versioned(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    assert db.version == SCHEMA_VERSION
    assert db.scalar("SELECT version FROM schema_version") == SCHEMA_VERSION
    assert db.scalar("PRAGMA journal_mode") == "wal"


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO users (id, location_id, first_name, last_name, role) VALUES"
            " ('u', 'l', 'A', 'B', 'admin')"
        )
    db.close()
    again = Database(tmp_path / "a.db")
    assert again.scalar("SELECT COUNT(*) FROM users") == 1
    assert again.scalar("SELECT COUNT(*) FROM schema_version") == 1


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Database(path)


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    with pytest.raises(ZeroDivisionError), db.tx() as conn:
        conn.execute(
            "INSERT INTO users (id, location_id, first_name, last_name, role) VALUES"
            " ('u', 'l', 'A', 'B', 'admin')"
        )
        _ = 1 / 0
    assert db.scalar("SELECT COUNT(*) FROM users") == 0


def test_a_watcher_ignoring_columns_hears_every_change_but_theirs(tmp_path: Path) -> None:
    db = Database(tmp_path / "i.db")
    heard: list[str] = []
    db.watch("users", lambda: heard.append("all"))
    db.watch("users", lambda: heard.append("names aside"), ignoring=("first_name", "last_name"))
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO users (id, location_id, first_name, last_name, role) VALUES"
            " ('u', 'l', 'A', 'B', 'admin')"
        )
    assert heard == ["all", "names aside"]
    heard.clear()
    with db.tx() as conn:
        conn.execute("UPDATE users SET first_name = 'C', last_name = 'D' WHERE id = 'u'")
    assert heard == ["all"]
    heard.clear()
    with db.tx() as conn:
        conn.execute("UPDATE users SET first_name = 'E', role = 'user' WHERE id = 'u'")
    assert heard == ["all", "names aside"]
    heard.clear()
    with db.tx() as conn:
        conn.execute("DELETE FROM users WHERE id = 'u'")
    assert heard == ["all", "names aside"]
    with pytest.raises(ValueError):
        db.watch("users", lambda: None, ignoring=("first_name; DROP TABLE users",))
    db.close()


def test_every_watcher_of_a_table_hears_its_changes_and_a_rolled_back_one_again(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "w.db")
    heard: list[str] = []
    db.watch("numbers", lambda: heard.append("first"))
    db.watch("numbers", lambda: heard.append("second"))
    db.watch("users", lambda: heard.append("users"))
    row = (
        "INSERT INTO numbers (phone_number, location_id, friendly_name, sms, mms, voice,"
        " group_enabled) VALUES (?, 'loc', 'Main', 1, 1, 0, 1)"
    )
    with db.tx() as conn:
        conn.execute(row, ("+14155550100",))
    assert heard == ["first", "second"]  # both, once each; the users' watcher not at all
    heard.clear()
    with pytest.raises(RuntimeError), db.tx() as conn:
        conn.execute(row, ("+14155550101",))
        raise RuntimeError("refused")
    # Heard when the row went in, and again when it went away with the rollback.
    assert heard == ["first", "second", "first", "second"]
    heard.clear()
    with pytest.raises(RuntimeError), db.tx() as conn:
        raise RuntimeError("nothing changed")
    assert heard == []
    db.close()
