"""An in-memory text index for filtering people (contacts, teammates) per keystroke.

Each entry keeps one lowercase text (name and email) and the phone's digits.
A query matches when every word is found in the text (a word of digits may
also match the phone), or, for a query without letters, when its digits are
found in the phone digits. Entries are kept sorted by name, so results come
out in display order without sorting per keystroke.

A keystroke is one substring test per entry (a few milliseconds at 50,000),
and the last answer is remembered: a query that extends it (the user typed
one more character) only scans the survivors.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
# A bulk load this large rebuilds the order in one sort instead of inserting one by one.
_BULK = 512


@dataclass(frozen=True, slots=True)
class _Entry:
    sort_key: tuple[str, str]
    id: str
    text: str
    digits: str


def digits_of(text: str | None) -> str:
    return _NON_DIGITS.sub("", text or "")


def _entry(id: str, name: str, email: str | None, phone: str | None) -> _Entry:
    lowered = name.lower()
    digits = digits_of(phone)
    # The digits are in the text too, so "ann 0123" finds Ann by her number.
    return _Entry((lowered, id), id, f"{lowered} {(email or '').lower()} {digits}", digits)


def _filter(q: str, pool: list[_Entry]) -> list[_Entry]:
    # One comprehension per word: a plain substring test per entry, the cheapest
    # loop Python offers (a few milliseconds for 50,000 entries).
    if not _HAS_LETTER.search(q):
        wanted = digits_of(q)
        return [e for e in pool if wanted in e.digits]
    for word in q.split():
        pool = [e for e in pool if word in e.text]
    return pool


class SearchIndex:
    def __init__(self) -> None:
        self._by_id: dict[str, _Entry] = {}
        self._sorted: list[_Entry] = []
        self._keys: list[tuple[str, str]] = []
        self._last: tuple[str, list[_Entry]] | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def put(self, id: str, name: str, email: str | None, phone: str | None) -> None:
        self.put_many([(id, name, email, phone)])

    def put_many(self, rows: Iterable[tuple[str, str, str | None, str | None]]) -> None:
        entries = [_entry(*row) for row in rows]
        if len(entries) >= _BULK:
            self._by_id.update((e.id, e) for e in entries)
            self._sorted = sorted(self._by_id.values(), key=lambda e: e.sort_key)
            self._keys = [e.sort_key for e in self._sorted]
        else:
            for entry in entries:
                self._remove(entry.id)
                self._by_id[entry.id] = entry
                at = bisect.bisect_left(self._keys, entry.sort_key)
                self._keys.insert(at, entry.sort_key)
                self._sorted.insert(at, entry)
        self._last = None

    def remove(self, id: str) -> None:
        self._remove(id)
        self._last = None

    def _remove(self, id: str) -> None:
        old = self._by_id.pop(id, None)
        if old is not None:
            at = bisect.bisect_left(self._keys, old.sort_key)
            del self._keys[at]
            del self._sorted[at]

    def clear(self) -> None:
        self._by_id.clear()
        self._sorted = []
        self._keys = []
        self._last = None

    def search(self, query: str, limit: int | None = None) -> list[str]:
        """Ids of matching entries in name order (every entry for an empty query)."""
        q = " ".join(query.lower().split())
        pool = self._pool_for(q)
        if not q:
            found = pool if limit is None else pool[:limit]
            return [e.id for e in found]
        found = _filter(q, pool)
        self._last = (q, found)
        return [e.id for e in (found if limit is None else found[:limit])]

    def _pool_for(self, q: str) -> list[_Entry]:
        # A longer query can only match a subset of what its prefix matched,
        # unless it switches between the letter and the digit rule.
        if self._last is not None and self._last[0] and q.startswith(self._last[0]):
            previous = self._last[0]
            if bool(_HAS_LETTER.search(previous)) == bool(_HAS_LETTER.search(q)):
                return self._last[1]
        return self._sorted
