"""The contact index answers exactly what a plain scan with the same rules would."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.contact_index import (
    ContactIndex,
    IndexedContact,
    digits_of,
    sort_key,
    tokens_of,
)

PEOPLE = [
    IndexedContact("c1", "Maria Lopez", "maria.lopez@example.com", "+14155550123", "u1"),
    IndexedContact("c2", "Omar Marsh", "omar@example.org", "+16045550188"),
    IndexedContact("c3", "Ryan O'Connor", None, "+13125550177", "u1"),
    IndexedContact("c4", "Martin Roy", "mroy@sample.net", None),
    IndexedContact("c5", "", None, "+14158612345"),  # nameless: shown (and sorted) by phone
    IndexedContact("c6", "Ann Lee", "ann@example.com", "+14158600000", "u2"),
]


def ids(index: ContactIndex, query: str, **kwargs: object) -> list[str]:
    return index.search(query, limit=None, **kwargs).ids  # type: ignore[arg-type]


def test_name_words_match_by_prefix_in_display_order():
    index = ContactIndex(PEOPLE)
    assert ids(index, "mar") == ["c1", "c4", "c2"]  # Marsh is Omar's last name
    assert ids(index, "MARIA lo") == ["c1"]
    assert ids(index, "tin") == []  # inside a word is not a match
    assert ids(index, "connor") == ids(index, "o'connor") == ["c3"]


def test_email_matches_whole_local_part_or_domain():
    index = ContactIndex(PEOPLE)
    assert ids(index, "maria.lopez@") == ["c1"]
    assert ids(index, "sample") == ["c4"]
    assert ids(index, "example.com") == ["c6", "c1"]


def test_a_word_with_a_separator_matches_whole_addresses_kept_apart_from_the_tokens():
    # Whole addresses are not tokens (nearly all unique): a word holding a separator is
    # looked up among them, wherever the address's first word starts.
    people = [
        *PEOPLE,
        IndexedContact("c7", "Bo", "_bo.x@Mail.io", None),
        IndexedContact("c8", "Al", "al_b@mail.io", None),
    ]
    index = ContactIndex(people)
    assert ids(index, "_bo") == ["c7"] and ids(index, "bo.x@m") == []
    assert ids(index, "al_b@mail") == ["c8"] and ids(index, "al_") == ["c8"]
    assert ids(index, "mail.io") == ["c8", "c7"]  # the domain is a token
    assert ids(index, "maria.lopez@example.com") == ["c1"]


def test_digits_match_inside_the_number_in_any_format():
    index = ContactIndex(PEOPLE)
    assert ids(index, "(415) 86") == ["c5", "c6"]
    assert ids(index, "415.86") == ids(index, "41586") == ["c5", "c6"]
    assert ids(index, "555-0177") == ["c3"]
    assert ids(index, "+1 604") == ["c2"]
    assert ids(index, "86") == []  # two digits are too few to search numbers


def test_empty_query_pages_everyone_and_counts_all():
    index = ContactIndex(PEOPLE)
    first = index.search("", limit=2)
    assert first.total == 6 and first.ids == ["c5", "c6", "c1"][:2]
    second = index.search("", limit=2, after=first.keys[-1])
    assert second.ids == ["c1", "c4"] and second.total == 6


def test_pages_of_a_query_follow_each_other():
    index = ContactIndex(PEOPLE)
    first = index.search("mar", limit=2)
    rest = index.search("mar", limit=2, after=first.keys[-1])
    assert first.ids + rest.ids == ["c1", "c4", "c2"]
    assert first.total == rest.total == 3


def test_owner_limits_to_assigned_contacts():
    index = ContactIndex(PEOPLE)
    assert ids(index, "", owner="u1") == ["c1", "c3"]
    assert ids(index, "ma", owner="u1") == ["c1"]
    assert ids(index, "ma", owner="nobody") == []


# --- against a plain scan with the same rules ---------------------------------------------


def reference(people: list[IndexedContact], query: str) -> list[str]:
    text = query.lower().strip()
    ordered = sorted(people, key=sort_key)
    if not text:
        return [c.id for c in ordered]
    wanted = digits_of(text)
    if not re.search(r"[^\W\d_]", text) and len(wanted) >= 3:
        return [c.id for c in ordered if wanted in digits_of(c.phone)]

    def word_ok(word: str, c: IndexedContact) -> bool:
        if any(t.startswith(word) for t in tokens_of(c.name, c.email)):
            return True
        d = digits_of(word)
        return word == d and len(d) >= 3 and d in digits_of(c.phone)

    return [c.id for c in ordered if all(word_ok(w, c) for w in text.split())]


names = st.sampled_from(["Ann", "Anna", "Lee", "Li", "Maria", "Mar", "O'Neil", "Zoë", "Ünal"])
contact = st.builds(
    IndexedContact,
    id=st.uuids().map(str),
    name=st.lists(names, max_size=3).map(" ".join),
    email=st.one_of(
        st.none(), st.sampled_from(["ann@x.io", "li.mar@y.com", "o_neil@z.org", "_zo@x.io"])
    ),
    phone=st.one_of(st.none(), st.from_regex(r"\+1(415|604)[2-9]\d{6}", fullmatch=True)),
)
queries = st.one_of(
    st.sampled_from(
        ["", "a", "an", "ann", "ma", "mar li", "o'", "zo", "ün", "li.", "@", "x.io", "o_n", "_"]
    ),
    st.from_regex(r"[(+]?\d{1,3}[) .-]?\d{0,4}", fullmatch=True),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(contact, max_size=25), queries)
def test_same_answer_as_a_plain_scan(people: list[IndexedContact], query: str):
    assert ids(ContactIndex(people), query) == reference(people, query)


@settings(max_examples=100, deadline=None)
@given(st.lists(contact, max_size=25), queries, st.integers(1, 5))
def test_paging_through_everything_finds_each_match_once(people, query, size):
    index = ContactIndex(people)
    seen: list[str] = []
    after = None
    for _ in range(30):
        page = index.search(query, limit=size, after=after)
        assert page.total == len(reference(people, query))
        if not page.ids:
            break
        seen += page.ids
        after = page.keys[-1]
    assert seen == reference(people, query)


@settings(max_examples=100, deadline=None)
@given(st.lists(contact, max_size=25), queries)
def test_set_intersections_agree_with_candidate_checks(people, query):
    # Big candidate sets are intersected with each word's postings instead of checked one
    # by one; force that path on small books.
    import services.contact_index as module

    saved = module._VERIFY_BELOW
    module._VERIFY_BELOW = -1
    try:
        assert ids(ContactIndex(people), query) == reference(people, query)
    finally:
        module._VERIFY_BELOW = saved


def test_a_one_or_two_letter_query_sorts_its_matches_once_and_pages_them():
    people = [
        IndexedContact(id=f"c{n:03d}", name=name)
        for n, name in enumerate(["Maria Lopez", "Omar Marsh", "Ann Lee", "Mark Ma", "Lee Ann"])
    ]
    index = ContactIndex(people)
    first = index.search("M", limit=2)
    assert first.ids == ["c000", "c003"] and first.total == 3  # Maria Lopez, Mark Ma
    # Kept in order: the next keystroke of the same letters and the next page only slice it
    # (the postings are not read again).
    index._prefixed = None  # type: ignore[assignment]
    assert index.search("m ", limit=2, after=first.keys[-1]).ids == ["c001"]
    assert ids(index, "m") == ["c000", "c003", "c001"]
    with pytest.raises(TypeError):  # a longer word still reads the postings
        index.search("mar")
