"""An inverted index over contacts, so each keystroke of a search costs the matches, not the book.

A linear scan over 50,000 contacts costs tens of milliseconds per keystroke in
Python (and far more when each row is first turned into a model). This index
answers from two maps built once:

- name and email tokens: every word of the name, the email, its local-part
  pieces and its domain, lowercased, in one sorted list. A query word matches
  the tokens it is a prefix of (``mar`` finds Maria, Martin and Omar Marsh,
  but ``tin`` finds no Martin): two bisects and one slice of the postings.
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
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

_NON_DIGITS = re.compile(r"\D+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_WORD_PARTS = re.compile(r"[\W_]+")
GRAM = 3  # digits per gram; also the shortest digit query that searches phones
# Once this few candidates are left, testing each one's tokens beats another set union.
_VERIFY_BELOW = 4000
_AFTER_ALL = "\U0010ffff"  # sorts after every character: word + it bounds word's prefixes


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
    """Immutable once built; build a new one when the contacts change.

    Compact (issue 19): the first wizard search built ~94 MB of Python objects at
    50,000 contacts (a list and two set memberships per token, a tuple of tokens per
    contact). Postings are now one flat ``array('i')`` in token order, so the tokens
    a prefix covers are one slice of it (one- and two-letter prefixes too, so nothing
    is precomputed per prefix); the sort keys are the name and id lists themselves."""

    def __init__(self, contacts: Iterable[IndexedContact]) -> None:
        ordered = sorted(contacts, key=sort_key)
        self._ids = [c.id for c in ordered]
        self._names = [sort_key(c)[0] for c in ordered]
        self._owners = [c.owner for c in ordered]
        self._digits = [digits_of(c.phone) for c in ordered]
        by_token: dict[str, array[int]] = {}
        by_gram: dict[str, array[int]] = {}
        for rank, contact in enumerate(ordered):
            for token in tokens_of(contact.name, contact.email):
                by_token.setdefault(token, array("i")).append(rank)
            digits = self._digits[rank]
            for gram in {digits[i : i + GRAM] for i in range(len(digits) - GRAM + 1)}:
                by_gram.setdefault(gram, array("i")).append(rank)
        self._tokens = sorted(by_token)
        # Token i's contacts are _postings[_starts[i]:_starts[i + 1]].
        self._starts = array("i", [0])
        self._postings = array("i")
        for token in self._tokens:
            self._postings.extend(by_token.pop(token))
            self._starts.append(len(self._postings))
        self._grams = by_gram
        self._by_owner: dict[str | None, set[int]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def _key(self, rank: int) -> tuple[str, str]:
        return (self._names[rank], self._ids[rank])

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
        start = 0 if after is None else bisect_right(range(len(self._ids)), after, key=self._key)
        if matches is None:  # empty query, everyone: the page is a slice
            total = len(self._ids)
            stop = len(self._ids) if limit is None else start + limit
            page = list(range(start, min(stop, total)))
        else:
            total = len(matches)
            later = (r for r in matches if r >= start) if start else iter(matches)
            page = sorted(later) if limit is None else heapq.nsmallest(limit, later)
        return SearchResult([self._ids[r] for r in page], [self._key(r) for r in page], total)

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
                # Few left: keep those a token of this word covers, or whose number has it.
                prefixed = self._prefixed(word)
                found = {r for r in found if r in prefixed or self._in_phone(word, r)}
            else:
                hits = self._prefixed(word)
                digits = digits_of(word)
                if word == digits and len(digits) >= GRAM:
                    hits = hits | self._phone_contains(digits)
                found = hits if found is None else found & hits
            if not found:
                return set()
        return found if found is not None else set()

    def _in_phone(self, word: str, rank: int) -> bool:
        return len(word) >= GRAM and word.isdigit() and word in self._digits[rank]

    def _prefixed(self, word: str) -> set[int]:
        """Contacts with a token starting with ``word``: the tokens it prefixes are
        consecutive, so their contacts are one slice of the postings."""
        first = bisect_left(self._tokens, word)
        last = bisect_left(self._tokens, word + _AFTER_ALL, lo=first)
        return set(self._postings[self._starts[first] : self._starts[last]])

    def _phone_contains(self, wanted: str) -> set[int]:
        empty: array[int] = array("i")
        lists = [
            self._grams.get(wanted[i : i + GRAM], empty) for i in range(len(wanted) - GRAM + 1)
        ]
        rarest = min(lists, key=len)
        if len(wanted) == GRAM:
            return set(rarest)
        return {r for r in rarest if wanted in self._digits[r]}

    def _owned_by(self, owner: str) -> set[int]:
        if owner not in self._by_owner:
            self._by_owner[owner] = {r for r, o in enumerate(self._owners) if o == owner}
        return self._by_owner[owner]
