"""A sandbox database at a busy location's scale, for the benchmarks.

    .venv/bin/python -m bench.scale_seed [--force]

On top of the demo seed (users, tokens, numbers): 50,000 contacts, 10,000
conversations (most one-to-one, some groups, one message each), one
10,000-message group thread and one 100-message group thread to compare it
with. Rows go in with ``executemany`` in one transaction through the
sandbox's own schema (``services.server.db``), so seeding takes seconds.

The file is cached in ``bench/.cache`` (git-ignored) and reused while
``VERSION`` matches; benchmarks that write to the backend work on a copy
(``fresh_copy``) so the cache stays pristine.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.server import clock, search
from services.server.core import MessagingServer
from services.server.seed import (
    ADMIN_ID,
    ADMIN_NUMBER,
    LOCATION,
    STAFF_ID,
    STAFF_NUMBER,
    apply_seed,
)

VERSION = "6"  # bump when the data below changes, so caches are rebuilt
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
N_CONTACTS = 50_000
N_CONVERSATIONS = 10_000  # the two threads below included
LONG_THREAD = "conv_bench_long"
SHORT_THREAD = "conv_bench_short"
LONG_MESSAGES = 10_000
SHORT_MESSAGES = 100
THREAD_MEMBERS = 5
# Fixed, so every run (and every machine) benchmarks the same data.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Aaron Abigail Adam Aiden Alexis Alice Amara Amelia Andre Angela Anna Ava Beatriz "
    "Benjamin Bianca Brandon Caleb Camila Carlos Carmen Charlotte Chen Chloe Daniel David "
    "Deepa Diego Elena Eli Elijah Emily Emma Ethan Fatima Felix Gabriel Grace Hannah Hiro "
    "Isaac Isabella Jack Jacob James Jasmine Javier Jin Jordan Jose Joshua Julia Kai Kavya "
    "Kenji Laila Layla Leo Liam Lucas Lucia Luis Maria Mason Mateo Maya Mei Mia Michael "
    "Mohammed Nadia Naomi Nathan Noah Nora Olivia Omar Owen Priya Rafael Ravi Riley Rosa "
    "Ryan Samuel Sara Sofia Sophie Tariq Thomas Valentina Victor William Yara Yusuf Zara "
    "Zoe"
)
LAST = _words(
    "Adams Ahmed Alvarez Anderson Bailey Baker Bennett Brooks Brown Campbell Carter "
    "Castillo Chan Chavez Clark Collins Cook Cooper Cruz Davis Diaz Edwards Evans Fischer "
    "Flores Foster Garcia Gomez Gonzalez Gray Green Gupta Hall Harris Hernandez Hill Huang "
    "Hughes Jackson James Jenkins Johnson Jones Kelly Khan Kim King Kumar Lee Lewis Lopez "
    "Martin Martinez Miller Mitchell Moore Morales Morgan Murphy Nguyen Okafor Ortiz Park "
    "Parker Patel Perez Peterson Phillips Price Ramirez Reed Reyes Richardson Rivera "
    "Roberts Robinson Rodriguez Rogers Ross Russell Sanchez Scott Shah Singh Smith Stewart "
    "Sullivan Taylor Thomas Thompson Torres Tremblay Turner Walker Ward Watson White "
    "Williams Wilson Wong Wright Young"
)
AREA_CODES = _words(
    "206 212 213 303 305 312 404 408 415 416 503 510 512 514 604 617 646 650 702 718 773 801"
)
WORDS = _words(
    "sounds good see you at the field tomorrow can someone bring the cones thanks all "
    "running late be there in ten great game today next practice moved to thursday who has "
    "the keys parking is on pine street the photos are up"
)


@dataclass(frozen=True)
class ScaleDb:
    path: Path
    long_thread: str = LONG_THREAD
    short_thread: str = SHORT_THREAD


def cached_db(*, force: bool = False, quiet: bool = False) -> ScaleDb:
    """The seeded database, built on first use (about 10 s) and reused afterwards."""
    path = CACHE_DIR / f"scale-v{VERSION}.sqlite3"
    if path.exists() and not force and _complete(path):
        return ScaleDb(path)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # A new seed makes every cached file stale (the device caches built from it too).
    for stale in [*CACHE_DIR.glob("scale-v*"), *CACHE_DIR.glob("store-*")]:
        if stale.is_dir():
            shutil.rmtree(stale)  # the demo seed's attachments folder
        else:
            stale.unlink()
    started = time.perf_counter()
    build(path)
    if not quiet:
        print(f"seeded {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return ScaleDb(path)


def fresh_copy(target_dir: Path) -> ScaleDb:
    """A private copy of the cached database, for benchmarks that write to it."""
    source = cached_db(quiet=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "scale.sqlite3"
    shutil.copyfile(source.path, target)
    files = source.path.parent / f"{source.path.name}.files"
    if files.is_dir():
        shutil.copytree(files, target_dir / f"{target.name}.files", dirs_exist_ok=True)
    return ScaleDb(target)


def _complete(path: Path) -> bool:
    try:
        with sqlite3.connect(path) as conn:
            row = conn.execute("SELECT value FROM bench_meta WHERE key = 'version'").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == VERSION


def build(path: Path) -> None:
    sandbox = MessagingServer(path, latency_ms=0)
    apply_seed(sandbox, "demo")
    rng = random.Random(8)
    with sandbox.db.tx() as conn:
        contacts = _contacts(conn, rng)
        _conversations(conn, rng, contacts)
        # Different people in each thread, because an inbound text is routed by its set of
        # numbers (identical sets go to the newest group). Contacts 1-10 have no DND.
        size = THREAD_MEMBERS
        long_members, short_members = contacts[1 : 1 + size], contacts[1 + size : 1 + 2 * size]
        _thread(conn, rng, long_members, LONG_THREAD, "Harbor league (10,000 msgs)", LONG_MESSAGES)
        _thread(conn, rng, short_members, SHORT_THREAD, "Book club (100 msgs)", SHORT_MESSAGES)
        # The bulk inserts went around the writes: index the conversations for search.
        search.rebuild(conn, sandbox.db)
        conn.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO bench_meta VALUES ('version', ?)", (VERSION,))
    # One file to copy: fold the WAL back in.
    sandbox.db.one("PRAGMA wal_checkpoint(TRUNCATE)")
    sandbox.db.close()


def _phone(rng: random.Random) -> str:
    exchange = rng.randint(200, 999)
    while exchange % 100 == 11 or exchange == 555:  # N11 codes are not valid exchanges
        exchange = rng.randint(200, 999)
    return f"+1{rng.choice(AREA_CODES)}{exchange}{rng.randint(0, 9999):04d}"


def _contacts(conn: sqlite3.Connection, rng: random.Random) -> list[tuple[str, str, str]]:
    """Insert the contacts; (id, name, phone) of each, for participants."""
    rows = []
    people: list[tuple[str, str, str]] = []
    stamp = clock.iso(NOW)
    for i in range(N_CONTACTS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phone = _phone(rng)
        cid = f"ct_bench_{i:05d}"
        assigned = STAFF_ID if i % 10 == 0 else ADMIN_ID if i % 3 == 0 else None
        dnd = "active" if i % 97 == 0 else "inactive"
        email = f"{first}.{last}{i}@example.com".lower()
        rows.append((cid, LOCATION, first, last, phone, email, assigned, dnd, "[]", stamp))
        people.append((cid, f"{first} {last}", phone))
    conn.executemany(
        "INSERT INTO contacts (id, location_id, first_name, last_name, phone, email,"
        " assigned_to, dnd_status, tags, date_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return people


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))).capitalize()


def _conversations(
    conn: sqlite3.Connection, rng: random.Random, people: list[tuple[str, str, str]]
) -> None:
    convs, parts, msgs = [], [], []
    # DND contacts stay out of these, so the list isn't full of blocked groups.
    usable = [p for i, p in enumerate(people) if i % 97]
    for i in range(N_CONVERSATIONS - 2):
        cid = f"conv_bench_{i:05d}"
        when = NOW - timedelta(minutes=7 * (i + 1) + rng.randint(0, 6))
        group = i % 5 == 0
        members = rng.sample(usable, rng.randint(2, 5)) if group else [rng.choice(usable)]
        body = _sentence(rng)
        convs.append(
            (
                cid,
                LOCATION,
                "TYPE_GROUP_SMS" if group else "TYPE_PHONE",
                None,
                None if group else members[0][0],
                STAFF_NUMBER if i % 2 else ADMIN_NUMBER,
                ADMIN_ID if group else None,
                clock.iso(when - timedelta(days=1)),
                "contacts" if group else None,
                body,
                clock.ms(when),
                "inbound",
                1 if i % 9 == 0 else 0,
            )
        )
        for pos, (ct, name, phone) in enumerate(members):
            parts.append((f"par_{cid}_{pos}", cid, pos, ct, None, name, phone))
        msgs.append(_inbound_row(f"msg_{cid}", cid, body, when, f"par_{cid}_0", members[0][2]))
    conn.executemany(
        "INSERT INTO conversations (id, location_id, type, name, contact_id, from_number,"
        " created_by, date_added, kind, last_message_body, last_message_date,"
        " last_message_direction, unread_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        convs,
    )
    _insert_participants(conn, parts)
    _insert_messages(conn, msgs)


def _inbound_row(
    mid: str, cid: str, body: str, when: datetime, participant: str, phone: str
) -> tuple[object, ...]:
    return (
        mid,
        cid,
        "inbound",
        body,
        "[]",
        0,
        clock.iso(when),
        "delivered",
        None,
        participant,
        phone,
    )


def _insert_participants(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO participants (id, conversation_id, position, contact_id, user_id, name,"
        " phone) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _insert_messages(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, direction, body, attachments,"
        " attachment_bytes, date_added, status, user_id, participant_id, from_phone)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _thread(
    conn: sqlite3.Connection,
    rng: random.Random,
    people: list[tuple[str, str, str]],
    cid: str,
    name: str,
    count: int,
) -> None:
    """A group thread of ``count`` messages over about three years, the newest now."""
    members = people
    started = NOW - timedelta(days=3 * 365)
    step = (NOW - started) / count
    parts = [
        (f"par_{cid}_{pos}", cid, pos, ct, None, n, ph) for pos, (ct, n, ph) in enumerate(members)
    ]
    msgs, recipients = [], []
    for k in range(count):
        when = started + step * (k + 1)
        mid = f"msg_{cid}_{k:05d}"
        body = f"{_sentence(rng)} (#{k + 1})"
        if k % 3 == 0:  # the team's own messages go to every member
            msgs.append(
                (
                    mid,
                    cid,
                    "outbound",
                    body,
                    "[]",
                    0,
                    clock.iso(when),
                    "delivered",
                    ADMIN_ID,
                    None,
                    None,
                )
            )
            recipients += [
                (mid, f"par_{cid}_{pos}", pos, ph, "delivered")
                for pos, (_ct, _n, ph) in enumerate(members)
            ]
        else:
            pos = k % len(members)
            msgs.append(_inbound_row(mid, cid, body, when, f"par_{cid}_{pos}", members[pos][2]))
    conn.execute(
        "INSERT INTO conversations (id, location_id, type, name, contact_id, from_number,"
        " created_by, date_added, kind, last_message_body, last_message_date,"
        " last_message_direction, unread_count) VALUES (?, ?, 'TYPE_GROUP_SMS', ?, NULL, ?, ?,"
        " ?, 'contacts', ?, ?, ?, 0)",
        (
            cid,
            LOCATION,
            name,
            ADMIN_NUMBER,
            ADMIN_ID,
            clock.iso(started),
            msgs[-1][3],
            clock.ms(NOW),
            msgs[-1][2],
        ),
    )
    _insert_participants(conn, parts)
    _insert_messages(conn, msgs)
    conn.executemany(
        "INSERT INTO recipients (message_id, participant_id, position, phone, status)"
        " VALUES (?, ?, ?, ?, ?)",
        recipients,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args(argv)
    db = cached_db(force=args.force)
    print(f"{db.path} ({db.path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
