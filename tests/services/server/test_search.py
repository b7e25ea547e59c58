"""Conversation search on FTS5, and the list's visibility in SQL agreeing with the rules."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import rules
from services.models import Conversation, User
from services.server import changes, clock, search, seed, views
from services.server.app import create_app
from services.server.core import MessagingServer
from services.server.db import Database
from services.server.embedded import EmbeddedTransport
from services.server.writes import Member, insert_conversation

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(tmp_path: Path) -> MessagingServer:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
    server: MessagingServer = app.state.server
    server.app = app  # type: ignore[attr-defined]
    return server


def client(server: MessagingServer, token: str = seed.ADMIN_TOKEN) -> httpx.AsyncClient:
    app = server.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=EmbeddedTransport(server, app=app),
        base_url="http://s",
        headers={"Authorization": f"Bearer {token}"},
    )


async def found(server: MessagingServer, query: str, token: str = seed.ADMIN_TOKEN) -> list[str]:
    async with client(server, token) as http:
        page = (await http.get("/conversations/search", params={"query": query})).json()
    return [c["name"] for c in page["conversations"]]


async def test_words_match_the_start_of_words_whatever_the_case_and_accents(server) -> None:  # type: ignore[no-untyped-def]
    assert "Weekend crew" in await found(server, "WEEK")
    assert "Weekend crew" in await found(server, "saturday")  # a message in it
    assert await found(server, "eekend") == []  # not inside a word


async def test_three_digits_or_more_find_a_number_however_typed(server) -> None:  # type: ignore[no-untyped-def]
    weekend = await found(server, "(604) 555-0113")  # Hannah, in Weekend crew
    assert "Weekend crew" in weekend
    assert "Weekend crew" in await found(server, "0113")
    assert "Weekend crew" not in await found(server, "01")  # two digits are no number search


@pytest.mark.parametrize("typed", ["%", "_", "%_%", "\x00"])
async def test_wildcards_are_not_wildcards(server, typed: str) -> None:  # type: ignore[no-untyped-def]
    assert await found(server, typed) == []


async def test_a_message_match_comes_with_its_words_marked(server) -> None:  # type: ignore[no-untyped-def]
    async with client(server) as http:
        page = (await http.get("/conversations/search", params={"query": "saturday"})).json()
    match = next(c for c in page["conversations"] if c["name"] == "Weekend crew")["match"]
    start, end = match["highlights"][0]
    assert match["text"][start:end].lower() == "saturday"


async def test_staff_search_only_their_conversations(server) -> None:  # type: ignore[no-untyped-def]
    everyone = set(await found(server, "a"))
    theirs = set(await found(server, "a", seed.STAFF_TOKEN))
    assert theirs and theirs < everyone


def test_new_messages_and_renamed_contacts_are_searchable_at_once(server) -> None:  # type: ignore[no-untyped-def]
    db = server.db
    crew = db.scalar("SELECT id FROM conversations WHERE name = 'Weekend crew'")
    assert crew not in search.matching(db, seed.LOCATION, "zucchini")
    with server.write() as conn:
        conn.execute(
            "INSERT INTO messages (id, conversation_id, direction, body, date_added, status)"
            " VALUES ('m1', ?, 'inbound', 'Bring zucchini bread', '2026', 'delivered')",
            (crew,),
        )
    assert crew in search.matching(db, seed.LOCATION, "zucchini")
    hannah = seed.contact_id("Hannah", "Nguyen")
    with server.write() as conn:
        conn.execute("UPDATE contacts SET first_name = 'Hanalei' WHERE id = ?", (hannah,))
        changes.contact_updated(conn, db, hannah, dnd_changed=False)
    assert crew in search.matching(db, seed.LOCATION, "hanalei")


def _may_see_by_rules(server: MessagingServer, user: User) -> set[str]:
    seen = set()
    for row in server.db.all("SELECT id FROM conversations"):
        wire = views.load_conversation(server.db, row["id"])
        assert wire is not None
        conversation = Conversation.model_validate(wire)
        contacts = server.contacts_of(conversation)
        if rules.can_view_conversation(conversation, user, contacts):
            seen.add(row["id"])
    return seen


def _may_see_by_sql(server: MessagingServer, user: User) -> set[str]:
    where, params = search.visible_sql(user)
    return {r[0] for r in server.db.all(f"SELECT c.id FROM conversations c WHERE {where}", params)}


def test_the_lists_sql_says_what_the_rules_say_for_every_user(server) -> None:  # type: ignore[no-untyped-def]
    db = server.db
    users = server.users(seed.LOCATION)
    limited = [u.model_copy(update={"assigned_data_only": True}) for u in users]
    rng = random.Random(7)
    contacts = [r["id"] for r in db.all("SELECT id FROM contacts")]
    for round_ in range(6):
        for user in users + limited:
            assert _may_see_by_sql(server, user) == _may_see_by_rules(server, user), (
                round_,
                user.id,
                user.assigned_data_only,
            )
        # Shuffle who owns what (and delete one now and then), as staff work would.
        with server.write() as conn:
            for contact_id in rng.sample(contacts, 8):
                owner = rng.choice([None, *(u.id for u in users)])
                conn.execute(
                    "UPDATE contacts SET assigned_to = ?, deleted = ? WHERE id = ?",
                    (owner, int(rng.random() < 0.1), contact_id),
                )
                changes.contact_updated(conn, db, contact_id, dnd_changed=False)


# --- the answer against reading every message ---------------------------------------------

VOCABULARY = ["apple", "apricot", "banana", "bandana", "cherry", "meet", "meeting", "éclair"]
QUERIES = ["ap", "apple", "ban", "meeting", "meet apple", "ECLAIR", "cherry éclair", "weekend"]


def _folded_words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return re.findall(r"\w+", plain)


def _says(text: str, query: str) -> bool:
    """Every word of the query starts a word of the text (what the index promises)."""
    words = _folded_words(text)
    return all(any(w.startswith(q) for w in words) for q in _folded_words(query))


def _groups(server: MessagingServer, rng: random.Random, count: int) -> None:
    """Groups of the demo's contacts and staff, some sharing a last message date."""
    contacts = server.db.all(
        "SELECT id, first_name, last_name, phone FROM contacts WHERE location_id = ?",
        (seed.LOCATION,),
    )
    users = server.users(seed.LOCATION)
    with server.write() as conn:
        for n in range(count):
            kind = rng.choice(["contacts", "contacts", "teammates"])
            if kind == "teammates":
                members = [Member(u.display_name, u.phone or "", user_id=u.id) for u in users]
            else:
                members = [
                    Member(
                        f"{c['first_name']} {c['last_name']}", c["phone"] or "", contact_id=c["id"]
                    )
                    for c in rng.sample(contacts, 3)
                ]
            cid = insert_conversation(
                conn,
                server.db,
                location_id=seed.LOCATION,
                type_="TYPE_GROUP_SMS",
                from_number=seed.STAFF_NUMBER,
                members=members,
                when=clock.now(),
                kind=kind,
                name=f"Group {n}",
                created_by=rng.choice([u.id for u in users]),
            )
            conn.execute(
                "UPDATE conversations SET last_message_date = ?, unread_count = ? WHERE id = ?",
                (rng.randint(1, 12), rng.randint(0, 1), cid),
            )


def _messages(server: MessagingServer, rng: random.Random, count: int) -> None:
    """Messages spread over every conversation, in no order of conversation."""
    ids = [r["id"] for r in server.db.all("SELECT id FROM conversations")]
    with server.write() as conn:
        for n in range(count):
            words = rng.choices(VOCABULARY, k=rng.randint(1, 4))
            conn.execute(
                "INSERT INTO messages (id, conversation_id, direction, body, date_added,"
                " status) VALUES (?, ?, 'inbound', ?, '2026', 'delivered')",
                (f"msg_t{n}", rng.choice(ids), " ".join(words)),
            )


def _expected(server: MessagingServer, user: User, query: str, status: str) -> list[tuple]:  # type: ignore[type-arg]
    """(id, newest matching message or None) of what the user may see, in the list's order."""
    db = server.db
    visible = _may_see_by_rules(server, user)
    rows = db.all(
        "SELECT * FROM conversations WHERE location_id = ?"
        " ORDER BY last_message_date DESC, id DESC",
        (user.location_id,),
    )
    found = []
    for row in rows:
        if row["id"] not in visible or (status == "unread" and not row["unread_count"]):
            continue
        bodies = [
            m["body"]
            for m in db.all(
                "SELECT body FROM messages WHERE conversation_id = ? ORDER BY seq DESC",
                (row["id"],),
            )
            if _says(m["body"], query)
        ]
        wire = views.load_conversation(db, row["id"])
        assert wire is not None
        names = [wire["name"] or ""]
        names += [n for p in wire["participants"] for n in (p["name"], p["currentName"]) if n]
        if bodies or _says(" ".join(names), query):
            found.append((row["id"], bodies[0] if bodies else None))
    return found


async def _walked(server: MessagingServer, token: str, query: str, status: str) -> list[tuple]:  # type: ignore[type-arg]
    """Every page, three at a time, each saying the same total as the pages add up to."""
    seen: list[tuple] = []  # type: ignore[type-arg]
    totals = set()
    params: dict[str, Any] = {"query": query, "limit": 3, "status": status}
    async with client(server, token) as http:
        while True:
            page = (await http.get("/conversations/search", params=params)).json()
            totals.add(page["total"])
            if not page["conversations"]:
                break
            for c in page["conversations"]:
                match = c["match"]
                for start, end in match["highlights"] if match else ():
                    marked = _folded_words(match["text"][start:end])
                    assert any(m.startswith(q) for m in marked for q in _folded_words(query))
                seen.append((c["id"], None if match is None else match["text"]))
            last = page["conversations"][-1]
            params |= {"startAfterDate": last["lastMessageDate"], "startAfterId": last["id"]}
    assert totals == {len(seen)}
    return seen


async def test_search_answers_what_reading_every_message_would(server) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(19)
    _groups(server, rng, 30)
    _messages(server, rng, 400)
    users = {u.id: u for u in server.users(seed.LOCATION)}
    for token, user_id in ((seed.ADMIN_TOKEN, seed.ADMIN_ID), (seed.STAFF_TOKEN, seed.STAFF_ID)):
        for query in QUERIES:
            for status in ("all", "unread"):
                expected = _expected(server, users[user_id], query, status)
                assert await _walked(server, token, query, status) == expected, (
                    user_id,
                    query,
                    status,
                )
    # Some conversations were found by their messages, some by names alone, some not at all.
    admin = users[seed.ADMIN_ID]
    found = {q: _expected(server, admin, q, "all") for q in QUERIES}
    assert any(0 < len(f) < len(found["ap"]) for f in found.values())
    assert any(m for _, m in found["ap"]) and any(m is None for _, m in found["weekend"])


def test_edited_and_deleted_messages_leave_the_index_as_they_leave_the_table(server) -> None:  # type: ignore[no-untyped-def]
    db = server.db
    crew = db.scalar("SELECT id FROM conversations WHERE name = 'Weekend crew'")
    with server.write() as conn:
        for n, body in enumerate(["quince jam", "quince tart", "plain toast"]):
            conn.execute(
                "INSERT INTO messages (id, conversation_id, direction, body, date_added,"
                " status) VALUES (?, ?, 'inbound', ?, '2026', 'delivered')",
                (f"msg_q{n}", crew, body),
            )
    newest = _key(db, "msg_q1")
    assert search.matching(db, seed.LOCATION, "quince") == {crew: newest}
    with server.write() as conn:
        conn.execute("UPDATE messages SET body = 'pear tart' WHERE id = 'msg_q1'")
    older = _key(db, "msg_q0")
    assert search.matching(db, seed.LOCATION, "quince") == {crew: older}
    assert crew in search.matching(db, seed.LOCATION, "pear")
    other = db.scalar("SELECT id FROM conversations WHERE id != ? LIMIT 1", (crew,))
    with server.write() as conn:  # moved to another conversation: found there
        conn.execute("UPDATE messages SET conversation_id = ? WHERE id = 'msg_q1'", (other,))
    assert search.matching(db, seed.LOCATION, "pear") == {other: _key(db, "msg_q1")}
    with server.write() as conn:
        conn.execute("DELETE FROM messages WHERE id = 'msg_q0'")
        # Inside a write, a search sees what the write did so far.
        assert search.matching(db, seed.LOCATION, "quince") == {}
    assert search.matching(db, seed.LOCATION, "quince") == {}


def _key(db: Database, message_id: str) -> int:
    """A message's rowid in message_words: its conversation's number, then its seq."""
    return int(
        db.scalar(
            "SELECT (c.num << 32) + m.seq FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
            (message_id,),
        )
    )


def test_a_messages_index_key_is_its_conversations_number_then_its_seq(server) -> None:  # type: ignore[no-untyped-def]
    db = server.db
    keys = {
        r[0]
        for r in db.all(
            "SELECT rowid FROM message_words WHERE message_words MATCH ?", ("saturday",)
        )
    }
    ids = [r[0] for r in db.all("SELECT id FROM messages WHERE body LIKE '%saturday%'")]
    assert keys and keys == {_key(db, i) for i in ids}
    nums = [r[0] for r in db.all("SELECT num FROM conversations")]
    assert None not in nums and len(set(nums)) == len(nums)
