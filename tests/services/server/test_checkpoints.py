"""The write-ahead log is copied into the file by a thread, never inside a commit."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.server import checkpoints
from services.server.db import Database


def _in_file(path: Path) -> int:
    """Contacts in the database file itself, the log not read (what a checkpoint copied)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])
    except sqlite3.DatabaseError:  # not even the schema copied yet, or a copy under way
        return -1
    finally:
        conn.close()


def _write(db: Database, start: int, count: int) -> None:
    for n in range(start, start + count):
        with db.tx() as conn:
            conn.execute(
                "INSERT INTO contacts (id, location_id, first_name, date_updated)"
                " VALUES (?, 'loc', 'x', '2026-01-01')",
                (f"c{n}",),
            )


def _eventually(check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within a generous while (a condition waited for, not timed)."""
    for _ in range(400):
        if check():
            return True
        time.sleep(0.025)
    return check()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "PAUSE_S", 0.01)
    monkeypatch.setattr(checkpoints, "IDLE_S", 0.1)


def test_commits_never_checkpoint_and_the_thread_copies_the_log(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    db = Database(path)
    try:
        # The server's own connection leaves checkpoints to the thread.
        assert db.scalar("PRAGMA wal_autocheckpoint") == 0
        _write(db, 0, 50)
        assert _eventually(lambda: _in_file(path) == 50)
    finally:
        db.close()


def test_the_thread_ends_when_idle_and_the_next_commit_starts_another(
    tmp_path: Path, quick: None
) -> None:
    path = tmp_path / "server.db"
    db = Database(path)
    try:
        keeper = db._checkpoints
        assert keeper is not None
        _write(db, 0, 3)
        assert _eventually(lambda: keeper._thread is None)  # idle: ended
        _write(db, 3, 2)
        assert keeper._thread is not None
        assert _eventually(lambda: _in_file(path) == 5)
    finally:
        db.close()


def test_close_stops_the_thread_and_leaves_everything_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    db = Database(path)
    _write(db, 0, 20)
    keeper = db._checkpoints
    assert keeper is not None
    thread = keeper._thread
    db.close()
    assert thread is None or not thread.is_alive()
    assert _in_file(path) == 20
    keeper.grown()  # a commit after close (none should come) starts nothing
    assert keeper._thread is thread


def test_past_the_cap_the_log_starts_over_though_writes_keep_coming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "server.db"
    db = Database(path)
    try:
        _write(db, 0, 30)
        monkeypatch.setattr(checkpoints, "CAP_PAGES", 1)
        conn = sqlite3.connect(path, isolation_level=None, timeout=10)
        try:
            checkpoints.Checkpointer(str(path))._copy(conn)
            _write(db, 30, 1)
            # Everything before was copied and the log started over: it holds the one write.
            _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        assert 0 < pages < 10
    finally:
        db.close()


def test_an_in_memory_database_has_no_log_and_no_thread() -> None:
    db = Database(":memory:")
    try:
        assert db._checkpoints is None
        _write(db, 0, 2)
        assert db.scalar("SELECT COUNT(*) FROM contacts") == 2
    finally:
        db.close()


def test_a_thread_that_cannot_open_the_file_lets_the_next_commit_try_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = checkpoints.Checkpointer(str(tmp_path / "gone" / "server.db"))
    keeper.grown()
    assert _eventually(lambda: keeper._thread is None)
    assert "could not start" in caplog.text
    keeper.close()
