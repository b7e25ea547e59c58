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
_SHORT = 2  # letters: a one-word query this short keeps its sorted matches (_short_prefix)


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


def tokens_of(name: str, email: str | None, *, whole_address: bool = True) -> set[str]:
    """Words a query word may be a prefix of (the index keeps whole addresses apart)."""
    found: set[str] = set()
    for word in name.lower().split():
        found.add(word)
        found.update(p for p in _WORD_PARTS.split(word) if p)
    if email:
        address = email.lower()
        if whole_address:
            found.add(address)
        local, _, domain = address.partition("@")
        found.update(p for p in _WORD_PARTS.split(local) if p)
        if domain:
            found.add(domain)
    return found


class _Texts:
    """Strings kept as one UTF-8 blob and where each one starts: a list of 50,000 short
    ``str`` costs ~60 bytes apiece, this ~4 bytes plus the text itself. (UTF-8 bytes sort
    as the characters do, so bisecting the raw bytes follows ``str`` order.)"""

    __slots__ = ("_adding", "_blob", "_bounds")

    def __init__(self, values: Iterable[str | bytes] = ()) -> None:
        self._adding: bytearray | None = bytearray()
        self._blob = b""
        self._bounds = array("i", [0])  # text i is _blob[_bounds[i]:_bounds[i + 1]]
        for value in values:
            self.add(value)

    def add(self, value: str | bytes) -> None:
        adding = self._adding
        assert adding is not None, "add before done()"
        adding += value.encode() if isinstance(value, str) else value
        self._bounds.append(len(adding))

    def done(self) -> _Texts:
        """No more adds: the blob becomes immutable bytes (its slices are bytes too)."""
        assert self._adding is not None
        self._blob, self._adding = bytes(self._adding), None
        return self

    def reordered(self, order: Iterable[int]) -> _Texts:
        out, raw = _Texts(), self.raw
        adding, bounds = out._adding, out._bounds
        assert adding is not None
        for i in order:
            adding += raw(i)
            bounds.append(len(adding))
        return out.done()

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def raw(self, i: int) -> bytes:
        return self._blob[self._bounds[i] : self._bounds[i + 1]]

    def __getitem__(self, i: int) -> str:
        return self._blob[self._bounds[i] : self._bounds[i + 1]].decode()


class _Reading:
    """The contacts read once, in the order they come: their texts, which token each
    (token, contact) pair has, and the contacts of each phone gram. The index takes
    these over in display order, dropping each part as soon as it is converted."""

    def __init__(self, contacts: Iterable[IndexedContact]) -> None:
        self.ids, self.names, self.emails = _Texts(), _Texts(), _Texts()
        # Digits stay str: the phone search tests hundreds of them per keystroke, and
        # ``in`` on a str is ~6x faster than on a slice of a blob (~3 MB at 50,000).
        self.digits: list[str] = []
        self.owners: list[str | None] = []
        shared: dict[str | None, str | None] = {None: None}  # one copy of each owner id
        self.numbered: dict[str, int] = {}  # token -> its number, in the order first seen
        self.token_of_pair, self.contact_of_pair = array("i"), array("i")
        self.by_gram: dict[str, array[int]] = {}
        for n, contact in enumerate(contacts):
            self.ids.add(contact.id)
            self.names.add(sort_key(contact)[0])
            self.owners.append(shared.setdefault(contact.owner, contact.owner))
            number = digits_of(contact.phone)
            self.digits.append(number)
            self.emails.add((contact.email or "").lower())
            for token in tokens_of(contact.name, contact.email, whole_address=False):
                self.token_of_pair.append(self.numbered.setdefault(token, len(self.numbered)))
                self.contact_of_pair.append(n)
            for gram in {number[i : i + GRAM] for i in range(len(number) - GRAM + 1)}:
                self.by_gram.setdefault(gram, array("i")).append(n)
        for texts in (self.ids, self.names, self.emails):
            texts.done()

    def display_order(self) -> list[int]:
        """The contacts' numbers by name, then id: two stable sorts on the raw texts."""
        order = sorted(range(len(self.ids)), key=self.ids.raw)
        order.sort(key=self.names.raw)
        return order

    def grams(self, rank: array[int]) -> dict[str, array[int]]:
        by_gram, self.by_gram = self.by_gram, {}
        return {gram: array("i", (rank[n] for n in found)) for gram, found in by_gram.items()}

    def postings(self, rank: array[int]) -> tuple[_Texts, array[int], array[int]]:
        """The tokens in order, where each one's contacts start, and the contacts (ranks):
        token i's are postings[starts[i]:starts[i + 1]] (a counting sort of the pairs)."""
        tokens = sorted(self.numbered)
        place = array("i", bytes(4 * len(tokens)))  # token number -> place in token order
        for i, token in enumerate(tokens):
            place[self.numbered[token]] = i
        self.numbered = {}
        texts = _Texts(tokens).done()
        del tokens
        starts = array("i", bytes(4 * (len(place) + 1)))
        for t in self.token_of_pair:
            starts[place[t] + 1] += 1
        for i in range(len(place)):
            starts[i + 1] += starts[i]
        free = array("i", starts)
        postings = array("i", bytes(4 * len(self.token_of_pair)))
        for t, n in zip(self.token_of_pair, self.contact_of_pair, strict=True):
            i = place[t]
            postings[free[i]] = rank[n]
            free[i] += 1
        return texts, starts, postings


def _ranks_of(order: list[int]) -> array[int]:
    """rank[n] for the n-th contact read, from the display order of those numbers."""
    rank = array("i", bytes(4 * len(order)))
    for r, n in enumerate(order):
        rank[n] = r
    return rank


class ContactIndex:
    """Immutable once built (but for the sorted matches of one- and two-letter queries,
    kept when first asked); build a new one when the contacts change.

    Compact (issue 19): the first wizard search built ~94 MB of Python objects at
    50,000 contacts (a list and two set memberships per token, a tuple of tokens per
    contact). Postings are one flat ``array('i')`` in token order, so the tokens a
    prefix covers are one slice of it (one- and two-letter prefixes too, so nothing is
    precomputed per prefix; those keep their matches in order once asked, _short_prefix).
    The contacts are read once, in any order, one at a time (no list of them, no sorted
    copy), and the per-contact texts (id, sort name, email address, tokens; not the
    digits) are kept as ``_Texts``, not ``str``: at 50,040 contacts the index keeps
    ~11.5 MB (23.5 MB before) and its build peaks at ~23 MB traced (63 MB). Whole email
    addresses, nearly all unique, are not tokens: a sorted list of them serves the query
    words that hold a separator, the only words an address can match that its first word
    does not."""

    def __init__(self, contacts: Iterable[IndexedContact]) -> None:
        read = _Reading(contacts)
        order = read.display_order()
        rank = _ranks_of(order)
        self._ids, read.ids = read.ids.reordered(order), _Texts()
        self._names, read.names = read.names.reordered(order), _Texts()
        self._digits, read.digits = [read.digits[n] for n in order], []
        self._emails, read.emails = read.emails.reordered(order), _Texts()
        self._owners, read.owners = [read.owners[n] for n in order], []
        del order
        # Ranks of the contacts with an address, in address order.
        with_address = (r for r in range(len(self._emails)) if self._emails.raw(r))
        self._by_address = array("i", sorted(with_address, key=self._emails.raw))
        self._grams = read.grams(rank)
        self._tokens, self._starts, self._postings = read.postings(rank)
        self._by_owner: dict[str | None, set[int]] = {}
        self._by_prefix: dict[str, array[int]] = {}  # _short_prefix's, made when first asked

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
        count = len(self._ids)
        start = 0 if after is None else bisect_right(range(count), after, key=self._key)
        short = self._short_prefix(query) if owner is None else None
        if short is not None:  # already in order: the page is a slice from ``start``
            total = len(short)
            first = bisect_left(short, start)
            page = list(short[first:] if limit is None else short[first : first + limit])
        else:
            matches = self._matches(query)
            if owner is not None:
                mine = self._owned_by(owner)
                matches = mine if matches is None else matches & mine
            if matches is None:  # empty query, everyone: the page is a slice
                total = count
                stop = count if limit is None else start + limit
                page = list(range(start, min(stop, total)))
            else:
                total = len(matches)
                later = (r for r in matches if r >= start) if start else iter(matches)
                page = sorted(later) if limit is None else heapq.nsmallest(limit, later)
        ids = [self._ids[r] for r in page]
        keys = [(self._names[r], i) for r, i in zip(page, ids, strict=True)]
        return SearchResult(ids, keys, total)

    def _short_prefix(self, query: str) -> array[int] | None:
        """For a query of one or two letters (the first keystrokes, matching the most
        contacts: "m" matches 7,778 of 50,040), its matches' ranks in order, sorted once
        and kept; None for any other query. Sorting every match per keystroke cost
        ~0.6 ms for "m" against ~0.06 for "maria". Kept: at most every contact once per
        token per prefix length, about as much as the postings themselves."""
        word = query.lower().strip()
        if not (0 < len(word) <= _SHORT and word.isalpha()):
            return None
        ranks = self._by_prefix.get(word)
        if ranks is None:
            ranks = self._by_prefix[word] = array("i", sorted(self._prefixed(word)))
        return ranks

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
        raw, tokens = word.encode(), self._tokens
        first = bisect_left(range(len(tokens)), raw, key=tokens.raw)
        # 0xff is in no UTF-8 text: word + it sorts after every token word begins.
        last = bisect_left(range(len(tokens)), raw + b"\xff", lo=first, key=tokens.raw)
        found = set(self._postings[self._starts[first] : self._starts[last]])
        if _WORD_PARTS.search(word):  # "maria.lo", "@example": whole addresses too
            found.update(self._address_starts(raw))
        return found

    def _address_starts(self, raw: bytes) -> array[int]:
        addresses, emails = self._by_address, self._emails
        first = bisect_left(addresses, raw, key=emails.raw)
        last = bisect_left(addresses, raw + b"\xff", lo=first, key=emails.raw)
        return addresses[first:last]

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
