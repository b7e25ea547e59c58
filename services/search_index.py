"""An in-memory text index for filtering people (contacts, teammates) per keystroke.

Each entry keeps one lowercase text (name and email) and the phone's digits.
A query matches when every word is found in the text, or, for a query without
letters, when its digits are found in the phone digits. Entries are kept sorted
by name, so results come out in display order without sorting per keystroke.

Typing usually extends the previous query, so the index remembers the last
answer and narrows it instead of scanning everything again: the first keystroke
scans all entries (a plain substring test each, a few milliseconds at 50,000),
later ones only the survivors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D+")
_HAS_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    text: str
    digits: str


def digits_of(text: str | None) -> str:
    return _NON_DIGITS.sub("", text or "")


def _word_matches(word: str, entry: _Entry) -> bool:
    # "ann 0123": letters match the name or email, digits also match the phone.
    return word in entry.text or (word.isdigit() and word in entry.digits)


class SearchIndex:
    def __init__(self) -> None:
        self._by_id: dict[str, tuple[str, str, str]] = {}
        self._entries: list[_Entry] | None = []
        self._last: tuple[str, list[_Entry]] | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def put(self, id: str, name: str, email: str | None, phone: str | None) -> None:
        self._by_id[id] = (name.lower(), (email or "").lower(), digits_of(phone))
        self._invalidate()

    def put_many(self, rows: Iterable[tuple[str, str, str | None, str | None]]) -> None:
        for id, name, email, phone in rows:
            self._by_id[id] = (name.lower(), (email or "").lower(), digits_of(phone))
        self._invalidate()

    def remove(self, id: str) -> None:
        if self._by_id.pop(id, None) is not None:
            self._invalidate()

    def clear(self) -> None:
        self._by_id.clear()
        self._invalidate()

    def search(self, query: str, limit: int | None = None) -> list[str]:
        """Ids of matching entries in name order (all entries for an empty query)."""
        q = " ".join(query.lower().split())
        pool = self._pool_for(q)
        if not q:
            found = pool
        elif _HAS_LETTER.search(q):
            words = q.split()
            found = [e for e in pool if all(_word_matches(w, e) for w in words)]
        else:
            wanted = digits_of(q)
            found = [e for e in pool if wanted in e.digits] if wanted else pool
        self._last = (q, found)
        return [e.id for e in (found if limit is None else found[:limit])]

    def _pool_for(self, q: str) -> list[_Entry]:
        # A longer query can only match a subset of what its prefix matched.
        if self._last is not None and q.startswith(self._last[0]) and self._last[0]:
            previous = self._last[0]
            # Switching between the letter and digit rules breaks the subset property.
            if bool(_HAS_LETTER.search(previous)) == bool(_HAS_LETTER.search(q)):
                return self._last[1]
        return self._sorted()

    def _sorted(self) -> list[_Entry]:
        if self._entries is None:
            items = sorted(self._by_id.items(), key=lambda kv: (kv[1][0], kv[0]))
            self._entries = [
                _Entry(id, f"{name} {email}".strip(), digits) for id, (name, email, digits) in items
            ]
        return self._entries

    def _invalidate(self) -> None:
        self._entries = None
        self._last = None
