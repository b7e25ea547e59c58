"""An inverted index over contacts, so each keystroke of a search costs the matches, not the book.

A linear scan over 50,000 contacts costs tens of milliseconds per keystroke in
Python (and far more when each row is first turned into a model). This index
answers from two maps built once:

- name and email tokens: every word of the name, the email, its local-part
  pieces and its domain, lowercased, in one sorted list. A query word matches
  the tokens it is a prefix of (``mar`` finds Maria, Martin and Omar Marsh,
  but ``tin`` finds no Martin): one bisect and a walk over that range.
- phone digits: each contact's digits are cut into 3-digit grams; a digit
  query of three or more digits (typed in any format: "(415) 86", "415.8",
  "+1 415") takes the rarest of its grams' posting lists and keeps the
  contacts whose digits really contain it.

Contacts are numbered in display order (name, then id), so a page is the
smallest numbers that match: no sort of all matches per keystroke.
"""

from __future__ import annotations

import heapq
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_WORD_PARTS = re.compile(r"[\W_]+")
GRAM = 3  # digits per gram; also the shortest digit query that searches phones
# Once this few candidates are left, testing each one's tokens beats another set union.
_VERIFY_BELOW = 4000


@dataclass(frozen=True, slots=True)
class IndexedContact:
    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    owner: str | None = None  # assignedTo, for users who see only their contacts


@dataclass(frozen=True, slots=True)
class SearchResult:
    ids: list[str]  # the page, in display order
    keys: list[tuple[str, str]]  # each one's sort key, the next page's "search after"
    total: int  # every match, not only this page


def digits_of(text: str | None) -> str:
    return _NON_DIGITS.sub("", text or "")


def sort_key(contact: IndexedContact) -> tuple[str, str]:
    """Display order: the name (or phone, or email when nameless), then the id."""
    shown = contact.name or contact.phone or contact.email or ""
    return (shown.lower(), contact.id)


def tokens_of(name: str, email: str | None) -> set[str]:
    """Words a query word may be a prefix of."""
    found: set[str] = set()
    for word in name.lower().split():
        found.add(word)
        found.update(p for p in _WORD_PARTS.split(word) if p)
    if email:
        address = email.lower()
        found.add(address)
        local, _, domain = address.partition("@")
        found.update(p for p in _WORD_PARTS.split(local) if p)
        if domain:
            found.add(domain)
    return found


class ContactIndex:
    """Immutable once built; build a new one when the contacts change."""

    def __init__(self, contacts: Iterable[IndexedContact]) -> None:
        ordered = sorted(contacts, key=sort_key)
        self._ids = [c.id for c in ordered]
        self._keys = [sort_key(c) for c in ordered]
        self._owners = [c.owner for c in ordered]
        self._digits = [digits_of(c.phone) for c in ordered]
        ranks = list(range(len(ordered)))  # one int object per contact, shared by every list
        by_token: dict[str, list[int]] = {}
        by_gram: dict[str, list[int]] = {}
        # The first two keystrokes' answers (one or two letters prefix thousands of
        # tokens, so their unions are the slowest to build), kept ready.
        self._by_initial: dict[str, set[int]] = {}
        self._tokens_of: list[tuple[str, ...]] = []
        for rank, contact in zip(ranks, ordered, strict=True):
            mine = tuple(sys.intern(t) for t in tokens_of(contact.name, contact.email))
            self._tokens_of.append(mine)
            for token in mine:
                by_token.setdefault(token, []).append(rank)
                self._by_initial.setdefault(token[:1], set()).add(rank)
                self._by_initial.setdefault(token[:2], set()).add(rank)
            digits = self._digits[rank]
            for gram in {digits[i : i + GRAM] for i in range(len(digits) - GRAM + 1)}:
                by_gram.setdefault(gram, []).append(rank)
        self._tokens = sorted(by_token)
        self._postings = [by_token[t] for t in self._tokens]
        self._grams = by_gram
        self._by_owner: dict[str | None, set[int]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def search(
        self,
        query: str,
        *,
        limit: int | None = 50,
        after: tuple[str, str] | None = None,
        owner: str | None = None,
    ) -> SearchResult:
        """A page of matches in display order, after ``after`` (a sort key), and their total.

        With ``owner``, only contacts assigned to that user count (assigned-only users).
        """
        matches = self._matches(query)
        if owner is not None:
            mine = self._owned_by(owner)
            matches = mine if matches is None else matches & mine
        start = 0 if after is None else bisect_right(self._keys, after)
        if matches is None:  # empty query, everyone: the page is a slice
            total = len(self._ids)
            stop = len(self._ids) if limit is None else start + limit
            page = list(range(start, min(stop, total)))
        else:
            total = len(matches)
            later = (r for r in matches if r >= start) if start else iter(matches)
            page = sorted(later) if limit is None else heapq.nsmallest(limit, later)
        return SearchResult([self._ids[r] for r in page], [self._keys[r] for r in page], total)

    def _matches(self, query: str) -> set[int] | None:
        """Ranks matching every word; None means everyone (an empty query)."""
        text = query.lower().strip()
        if not text:
            return None
        if not _HAS_LETTER.search(text):
            wanted = digits_of(text)
            if len(wanted) >= GRAM:
                return self._phone_contains(wanted)
        found: set[int] | None = None
        for word in sorted(set(text.split()), key=len, reverse=True):
            if found is not None and len(found) <= _VERIFY_BELOW:
                found = {r for r in found if self._word_matches(word, r)}
            else:
                hits = self._prefixed(word)
                digits = digits_of(word)
                if word == digits and len(digits) >= GRAM:
                    hits = hits | self._phone_contains(digits)
                found = hits if found is None else found & hits
            if not found:
                return set()
        return found if found is not None else set()

    def _word_matches(self, word: str, rank: int) -> bool:
        if any(t.startswith(word) for t in self._tokens_of[rank]):
            return True
        return len(word) >= GRAM and word.isdigit() and word in self._digits[rank]

    def _prefixed(self, word: str) -> set[int]:
        """Contacts with a token starting with ``word`` (a shared set: never mutate it)."""
        if len(word) <= 2:
            return self._by_initial.get(word, set())
        found: set[int] = set()
        i = bisect_left(self._tokens, word)
        while i < len(self._tokens) and self._tokens[i].startswith(word):
            found.update(self._postings[i])
            i += 1
        return found

    def _phone_contains(self, wanted: str) -> set[int]:
        lists = [self._grams.get(wanted[i : i + GRAM], []) for i in range(len(wanted) - GRAM + 1)]
        rarest = min(lists, key=len)
        if len(wanted) == GRAM:
            return set(rarest)
        return {r for r in rarest if wanted in self._digits[r]}

    def _owned_by(self, owner: str) -> set[int]:
        if owner not in self._by_owner:
            self._by_owner[owner] = {r for r, o in enumerate(self._owners) if o == owner}
        return self._by_owner[owner]
