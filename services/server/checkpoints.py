"""The write-ahead log copied into the database file by a thread of its own.

SQLite checkpoints on its own inside the commit that takes the log past 1,000 pages:
on this server that commit runs on the event loop, which then waits for the disk to
sync the file. Under load that was a checkpoint every ~65 sends and an eighth of the
loop's time spent waiting, not working (issue 19). Here the server's connection never
checkpoints (``wal_autocheckpoint=0``); a commit only marks the log as grown, and a
thread with a connection of its own copies it a moment later (``PASSIVE``: it neither
waits for a writer nor stops one), while the loop goes on.

The log is reused from its start only once a checkpoint has copied all of it before
the next write begins; under writes without a pause that moment never comes, so past
``CAP_PAGES`` the thread waits for a gap between writes and copies the rest then
(``RESTART``: writers wait that long, once every ``CAP_PAGES`` pages, where SQLite's own
checkpoint made one wait every 1,000). The thread ends when nothing was written for
``IDLE_S`` and starts again with the next commit; ``close`` stops it and waits for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

# Commits gathered into one checkpoint: most pages a send writes (the conversation's
# row, the indexes' last leaves) are written again by the next ones, and copied once.
# A send writes ~26 pages, so a server taking ~1,800 sends a second passes CAP_PAGES
# every ~0.2 s, and copies all of the log then anyway (RESTART). At 0.1 s it also copied
# the same pages twice in between; at 0.3 s every checkpoint is that one copy, and the
# server's CPU per send fell 4.5 % while the transaction alone did not change (issue 19).
PAUSE_S = 0.3
# About 40 MB of log (4 KB pages): the longest it grows under writes without a gap.
CAP_PAGES = 10_000
IDLE_S = 5.0


class Checkpointer:
    def __init__(self, path: str) -> None:
        self.path = path
        self._grown = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def grown(self) -> None:
        """A commit added to the log (called after each one: an event and a lock)."""
        self._grown.set()
        with self._lock:
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="wal-checkpoints", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be doing) and wait for it."""
        with self._lock:
            self._closing.set()
            self._grown.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        except sqlite3.Error as error:  # the next commit starts another thread to try again
            log.warning("checkpoints of %s could not start: %s", self.path, error)
            with self._lock:
                self._thread = None
            return
        try:
            while not self._closing.is_set():
                if not self._grown.wait(IDLE_S) and self._idle():
                    return
                self._closing.wait(PAUSE_S)  # let the commits of the next moment join in
                self._grown.clear()
                if not self._closing.is_set():
                    self._copy(conn)
        finally:
            conn.close()

    def _idle(self) -> bool:
        """Nothing written for a while: this thread ends (``grown`` starts the next)."""
        with self._lock:
            if self._grown.is_set():
                return False
            self._thread = None
            return True

    def _copy(self, conn: sqlite3.Connection) -> None:
        try:
            _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if pages >= CAP_PAGES:
                conn.execute("PRAGMA wal_checkpoint(RESTART)")
        except sqlite3.Error as error:  # the next commit tries again
            log.warning("checkpoint of %s failed: %s", self.path, error)
