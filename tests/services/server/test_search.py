"""Conversation search on FTS5, and the list's visibility in SQL agreeing with the rules."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from services import rules
from services.models import Conversation, User
from services.server import changes, search, seed, views
from services.server.app import create_app
from services.server.core import MessagingServer
from services.server.embedded import EmbeddedTransport

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
