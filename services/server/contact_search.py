"""Contact search for ``POST /contacts/search``: an index per location, not a scan per request.

Scanning and validating every contact per request cost about 1.8 s per keystroke
at 50,000 contacts (bench/bench_search.py). The index (services/contact_index.py)
is built on the first search and dropped whenever any contact row changes (the
database tells us through a trigger), so answers are never stale.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from services.contact_index import ContactIndex, IndexedContact
from services.server import views
from services.server.db import Database

_CHUNK = 2000  # contacts read at a time while the index is built


class ContactSearch:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._indexes: dict[str, ContactIndex] = {}
        self._generation = 0
        db.watch("contacts", self.invalidate)

    def invalidate(self) -> None:
        self._generation += 1
        self._indexes.clear()

    def built(self, location_id: str) -> ContactIndex | None:
        """The location's index when it is ready (no building)."""
        return self._indexes.get(location_id)

    def _contacts(self, location_id: str) -> Iterator[IndexedContact]:
        """The location's contacts, read a chunk at a time (by rowid), each chunk under the
        database's lock only while it is read: all 50,000 rows at once were ~20 MB of
        ``sqlite3.Row`` on top of the index being built (issue 19's memory budget)."""
        after = 0
        while True:
            # "+location_id": walk the table by rowid; through the (location_id, phone)
            # index SQLite sorted all 50,000 rows again for each chunk (0.7 s in all).
            rows = self._db.all(
                "SELECT rowid, id, first_name, last_name, email, phone, assigned_to"
                " FROM contacts WHERE +location_id = ? AND deleted = 0 AND rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (location_id, after, _CHUNK),
            )
            for row in rows:
                yield IndexedContact(
                    row["id"],
                    views.contact_name(row),
                    row["email"],
                    row["phone"],
                    row["assigned_to"],
                )
            if len(rows) < _CHUNK:
                return
            after = rows[-1]["rowid"]

    def index(self, location_id: str) -> ContactIndex:
        """The location's index, built now when missing (about 0.8 s at 50,000 contacts)."""
        with self._lock:
            found = self._indexes.get(location_id)
            if found is not None:
                return found
            generation = self._generation
            index = ContactIndex(self._contacts(location_id))
            # A write between the chunks or since would make this index stale: don't keep it.
            if generation == self._generation:
                self._indexes[location_id] = index
            return index
