"""A backup of the server's database and attachments, taken while it runs; and its restore.

The database is copied with SQLite's online backup API (``Connection.backup``) in one
step: it reads one snapshot, so the copy holds every transaction committed before it
began and none half, while the server's writes go on (WAL readers don't block writers).
The attachments folder beside the database (``<db>.files``) is copied after it: an
attachment's file is written before its row commits, so every file the copy's rows name
is already there (later files are copied too, harmlessly).

A backup is written beside its final name and renamed into place, so a half-written
backup never looks like a whole one. A restore writes through the backup API too, into
the target under an exclusive lock: it is refused while anything (the server) has the
target open, and a stale write-ahead log a killed server left is not replayed over it.
The restored event log gets an identity of its own: devices then start it afresh.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from services.server.db import SCHEMA_VERSION


class BackupRefused(Exception):
    """Why nothing was backed up or restored, in one sentence."""


def files_dir(db: Path) -> Path:
    """Where the server keeps a database's attachments (as ``core._files_dir`` does)."""
    return db.parent / f"{db.name}.files"


def backup(source: Path, dest: Path, *, force: bool = False) -> int:
    """Copy the database and its attachments to ``dest``; the number of files copied."""
    if dest.resolve() == source.resolve():
        raise BackupRefused("The backup can't be the database itself: choose another path.")
    if not dest.parent.is_dir():
        raise BackupRefused(f"There is no folder {dest.parent} to write the backup in.")
    if dest.exists() and not force:
        raise BackupRefused(f"{dest} already exists: choose another name, or add --force.")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy_database(source, partial)
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupRefused(f"{source} could not be read: {error}.") from None
    count = _copy_files(files_dir(source), files_dir(dest))
    os.replace(partial, dest)
    return count


def restore(backup_path: Path, target: Path, *, force: bool = False) -> int:
    """Put the backup (and its attachments) in place of ``target``; files copied."""
    _check_backup(backup_path)
    if target.exists() and not force:
        raise BackupRefused(
            f"{target} already exists: add --force to replace it with the backup"
            " (make a backup of it first if it may still be needed)."
        )
    source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    into = sqlite3.connect(target, isolation_level=None, timeout=0)
    try:
        try:
            # Held until closed: nobody else may open the target while it is replaced.
            into.execute("PRAGMA locking_mode=EXCLUSIVE")
            into.execute("BEGIN EXCLUSIVE")
            into.execute("ROLLBACK")
        except sqlite3.OperationalError:
            raise BackupRefused(
                f"{target} is in use (is the server running?): stop the server, then restore."
            ) from None
        source.backup(into)
        _new_event_log(into)
    finally:
        into.close()
        source.close()
    return _copy_files(files_dir(backup_path), files_dir(target))


def _new_event_log(db: sqlite3.Connection) -> None:
    """The restored log goes on from the backup's moment with events devices never saw
    under ids they may have applied since: it gets an identity of its own, so they start
    it afresh (a backup made before version 8 gets one when the server opens it)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'event_log'").fetchone():
        db.execute("UPDATE event_log SET id = lower(hex(randomblob(16)))")


def _copy_database(source: Path, dest: Path) -> None:
    src = sqlite3.connect(source, timeout=10)
    out = sqlite3.connect(dest, isolation_level=None)
    try:
        src.backup(out)  # pages=-1: one step, one snapshot
        # One self-contained file (no write-ahead log beside it), readable read-only.
        out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()
        src.close()


def _copy_files(folder: Path, dest: Path) -> int:
    """Replace ``dest`` by a copy of ``folder`` (empty when there is none)."""
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    count = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                shutil.copy2(path, staging / path.name)
                count += 1
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)
    return count


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise BackupRefused(f"There is no backup {path}.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            has_messages = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise BackupRefused(f"{path} is not a backup of this server's database.") from None
    if ok != "ok" or not has_messages or not 1 <= version <= SCHEMA_VERSION:
        raise BackupRefused(f"{path} is not a backup of this server's database.")
