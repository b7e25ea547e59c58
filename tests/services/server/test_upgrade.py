"""A database made by every earlier schema opens in this server with everything in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from services.server import search
from services.server.app import create_app
from services.server.db import SCHEMA_VERSION, Database, token_hash
from services.server.embedded import EmbeddedTransport

pytestmark = pytest.mark.anyio
TOKEN = "legacy-token-from-v1"


def _version_1_data(conn: sqlite3.Connection) -> None:
    """What a version-1 server wrote: a user whose token sat in plain text, a group, history."""
    conn.execute(
        "INSERT INTO users (id, location_id, first_name, last_name, role, assigned_data_only,"
        " token) VALUES ('usr_old', 'loc_old', 'Ola', 'Old', 'admin', 0, ?)",
        (TOKEN,),
    )
    _history(conn)


def _history(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO numbers (phone_number, location_id, friendly_name, sms, mms, voice,"
        " group_enabled) VALUES ('+14155550100', 'loc_old', 'Main', 1, 1, 1, 1)"
    )
    for n, (first, phone) in enumerate([("Ana", "+14155550111"), ("Ben", "+14155550112")]):
        conn.execute(
            "INSERT INTO contacts (id, location_id, first_name, last_name, phone, date_updated)"
            " VALUES (?, 'loc_old', ?, 'Lee', ?, '2026-01-01T00:00:00.000Z')",
            (f"ct_{n}", first, phone),
        )
        conn.execute(
            "INSERT INTO participants (id, conversation_id, position, contact_id, name, phone)"
            " VALUES (?, 'conv_old', ?, ?, ?, ?)",
            (f"par_{n}", n, f"ct_{n}", f"{first} Lee", phone),
        )
    conn.execute(
        "INSERT INTO conversations (id, location_id, type, name, from_number, date_added, kind,"
        " last_message_body, last_message_date) VALUES ('conv_old', 'loc_old', 'TYPE_GROUP_SMS',"
        " 'Old friends', '+14155550100', '2026-01-01T00:00:00.000Z', 'contacts', 'Hello', 1)"
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, direction, body, date_added, status,"
        " user_id) VALUES ('msg_old', 'conv_old', 'outbound', 'Hello',"
        " '2026-01-01T00:00:00.000Z', 'delivered', 'usr_old')"
    )
    conn.execute(
        "INSERT INTO recipients (message_id, participant_id, position, phone, status)"
        " VALUES ('msg_old', 'par_0', 0, '+14155550111', 'delivered')"
    )


def _version_2_data(conn: sqlite3.Connection) -> None:
    """Version 2 added the carrier's tables: a group set up at Twilio, a send queued."""
    _version_1_data(conn)
    conn.execute(
        "UPDATE conversations SET carrier_ref = 'CH0123', carrier_ready = 1 WHERE id = 'conv_old'"
    )
    conn.execute(
        "INSERT INTO carrier_messages (carrier_message_id, message_id) VALUES ('IM1', 'msg_old')"
    )
    conn.execute(
        "INSERT INTO carrier_jobs (kind, conversation_id, message_id, state, ready, next_at)"
        " VALUES ('send', 'conv_old', 'msg_old', 'done', 1, 0)"
    )


def _version_3_data(conn: sqlite3.Connection) -> None:
    """Version 3 kept locations and hashed tokens in tables of their own."""
    conn.execute(
        "INSERT INTO locations (id, name, created_at) VALUES ('loc_old', 'Old office', '2026')"
    )
    conn.execute(
        "INSERT INTO users (id, location_id, first_name, last_name, role, assigned_data_only)"
        " VALUES ('usr_old', 'loc_old', 'Ola', 'Old', 'admin', 0)"
    )
    conn.execute(
        "INSERT INTO tokens (id, user_id, name, hash, created_at) VALUES"
        " ('tok_old', 'usr_old', 'laptop', ?, '2026')",
        (token_hash(TOKEN),),
    )
    _history(conn)


def _version_4_data(conn: sqlite3.Connection) -> None:
    """Version 4 kept search indexes: a version-4 server indexed the group as it made it."""
    _version_3_data(conn)
    conn.execute(
        "INSERT INTO conversation_words (conversation_id, words)"
        " VALUES ('conv_old', 'Old friends Ana Lee Ben Lee')"
    )
    conn.execute(
        "INSERT INTO conversation_digits (conversation_id, digits)"
        " VALUES ('conv_old', '14155550111 14155550112')"
    )


def _version_5_data(conn: sqlite3.Connection) -> None:
    """Version 5 kept devices for push: a phone registered by the old server."""
    _version_4_data(conn)
    conn.execute(
        "INSERT INTO devices (id, user_id, platform, push_id, created_at, last_seen)"
        " VALUES ('dev_old', 'usr_old', 'ios', 'sub-old', '2026-01-01', '2026-01-01')"
    )


def _version_6_data(conn: sqlite3.Connection) -> None:
    """Version 6 added only indexes; its message index was keyed by seq."""
    _version_5_data(conn)


def _version_7_data(conn: sqlite3.Connection) -> None:
    """Version 7 rekeyed the message index; its event log had no identity yet."""
    _version_6_data(conn)


MADE_BY = {
    1: _version_1_data,
    2: _version_2_data,
    3: _version_3_data,
    4: _version_4_data,
    5: _version_5_data,
    6: _version_6_data,
    7: _version_7_data,
}


def test_every_earlier_version_is_covered() -> None:
    assert set(MADE_BY) == set(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("version", sorted(MADE_BY))
async def test_an_earlier_database_upgrades_with_everything_in_it(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.db"
    old = Database(path, upto=version)
    assert old.version == version
    with old.tx() as conn:
        MADE_BY[version](conn)
    old.close()

    app = create_app(path, rate_limit=0)
    server = app.state.server
    assert server.db.version == SCHEMA_VERSION
    transport = EmbeddedTransport(server, app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers) as c:
        me = (await c.get("/users/me")).json()["user"]
        assert me["id"] == "usr_old" and me["locationId"] == "loc_old"
        group = (await c.get("/conversations/conv_old")).json()["conversation"]
        assert group["name"] == "Old friends"
        assert [p["name"] for p in group["participants"]] == ["Ana Lee", "Ben Lee"]
        history = (await c.get("/conversations/conv_old/messages")).json()["messages"]
        assert [m["body"] for m in history["messages"]] == ["Hello"]
        assert history["messages"][0]["recipients"][0]["status"] == "delivered"
        numbers = (await c.get("/phone-system/numbers/location/loc_old")).json()["numbers"]
        assert [n["phoneNumber"] for n in numbers] == ["+14155550100"]
    assert server.db.scalar("SELECT COUNT(*) FROM locations WHERE id = 'loc_old'") == 1
    # Version 8 named the event log: every long-poll answer carries its name.
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers) as c:
        answer = (await c.get("/events", params={"after": "0"})).json()
        assert answer["logId"] == server.hub.log_id and len(answer["logId"]) == 32
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers) as c:
        # The indexes of version 4 were built from the rows already there.
        found = (await c.get("/conversations/search", params={"query": "hello"})).json()
        assert [x["id"] for x in found["conversations"]] == ["conv_old"]
        assert found["conversations"][0]["match"] == {"text": "Hello", "highlights": [[0, 5]]}
        by_name = (await c.get("/conversations/search", params={"query": "ben"})).json()
        assert by_name["total"] == 1
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers) as c:
        # Version 5's tables start empty (nothing muted, the preference off); a device a
        # version-5 server registered is still there after version 6.
        devices = (await c.get("/devices")).json()["devices"]
        assert [d["id"] for d in devices] == (["dev_old"] if version >= 5 else [])
        prefs = (await c.get("/me/notifications")).json()
        assert prefs == {"pushStaffMessages": False, "mutedConversationIds": []}
        muted = await c.put("/conversations/conv_old/mute")
        assert muted.json()["mutedConversationIds"] == ["conv_old"]
    await server.aclose(final=True)
    server.db.close()
    assert TOKEN.encode() not in path.read_bytes(), "the plain token was left in the file"


def test_a_version_6_message_index_is_rekeyed_by_conversation(tmp_path: Path) -> None:
    """Version 7 keys each message in the index by its conversation: matches made by a
    version-6 server, interleaved between groups, are found as they were, newest first."""
    path = tmp_path / "v6.db"
    old = Database(path, upto=6)
    with old.tx() as conn:
        _version_3_data(conn)
        conn.execute(
            "INSERT INTO conversations (id, location_id, type, name, from_number, date_added,"
            " kind, last_message_date) VALUES ('conv_two', 'loc_old', 'TYPE_GROUP_SMS',"
            " 'Second', '+14155550100', '2026', 'contacts', 2)"
        )
        for n, (conversation, body) in enumerate(
            [("conv_two", "ferry at noon"), ("conv_old", "ferry late"), ("conv_two", "no ferry")]
        ):
            conn.execute(
                "INSERT INTO messages (id, conversation_id, direction, body, date_added,"
                " status) VALUES (?, ?, 'inbound', ?, '2026', 'delivered')",
                (f"msg_{n}", conversation, body),
            )
    old.close()

    db = Database(path)
    key = {
        r[0]: r[1]
        for r in db.all(
            "SELECT m.id, (c.num << 32) + m.seq FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id"
        )
    }
    assert search.matching(db, "loc_old", "ferry") == {
        "conv_two": key["msg_2"],
        "conv_old": key["msg_1"],
    }
    assert search.matching(db, "loc_old", "noon") == {"conv_two": key["msg_0"]}
    with db.tx() as conn:  # a conversation and a message after the upgrade
        conn.execute(
            "INSERT INTO conversations (id, location_id, type, from_number, date_added,"
            " last_message_date) VALUES ('conv_new', 'loc_old', 'TYPE_SMS', '+1', '2026', 3)"
        )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, direction, body, date_added, status)"
            " VALUES ('msg_new', 'conv_new', 'inbound', 'ferry again', '2026', 'delivered')"
        )
    nums = [r[0] for r in db.all("SELECT num FROM conversations ORDER BY num")]
    assert len(set(nums)) == 3 and None not in nums
    assert set(search.matching(db, "loc_old", "ferry")) == {"conv_two", "conv_old", "conv_new"}
    db.close()
