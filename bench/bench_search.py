"""Participant search in the New Group wizard: time per keystroke over 50,000 contacts.

    .venv/bin/python -m bench.bench_search [--runs N]

Types a name ("maria l") and numbers in two formats ("(415) 86", "415.86")
one character at a time and times each keystroke's search on four paths:

- wizard: ``NewGroupVM.search`` as the app runs it, through ``ApiClient`` to
  the embedded sandbox backend (``POST /contacts/search``, which now answers
  from ``services.contact_index``), first page of 50 with its total;
- index: ``services.contact_index.ContactIndex`` alone (the same answer);
- store: ``Store.contacts()``, the device cache's ``SearchIndex`` (it narrows
  the previous answer while the query grows, else scans everything);
- scan: the baseline, a plain linear substring scan over the same 50,000
  (name, email, phone digits) rows, then the same sort and page.

Budget: at most 20 ms per keystroke, at least 20x faster than the scan.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.scale_seed import fresh_copy
from services import phones
from services.contact_index import ContactIndex, IndexedContact, sort_key
from services.server.db import Database
from services.server.seed import LOCATION

TYPED = {"name": "maria l", "number (415) 86": "(415) 86", "number 415.86": "415.86"}
BUDGET_MS = 20.0
BUDGET_RATIO = 20.0
PAGE = 50


def keystrokes(text: str) -> list[str]:
    return [text[: i + 1] for i in range(len(text))]


def load_rows(db_path: Path) -> list[IndexedContact]:
    db = Database(db_path)
    rows = db.all(
        "SELECT id, first_name, last_name, email, phone, assigned_to FROM contacts"
        " WHERE location_id = ? AND deleted = 0",
        (LOCATION,),
    )
    db.close()
    return [
        IndexedContact(
            r["id"],
            " ".join(p for p in (r["first_name"], r["last_name"]) if p),
            r["email"],
            r["phone"],
            r["assigned_to"],
        )
        for r in rows
    ]


class LinearScan:
    """The baseline: what a search without an index does on every keystroke."""

    def __init__(self, people: list[IndexedContact]) -> None:
        self.rows = [
            (sort_key(c), c.name.lower(), (c.email or "").lower(), phones.digits(c.phone or ""))
            for c in people
        ]

    def search(self, query: str) -> tuple[list[str], int]:
        text = query.strip().lower()
        wanted = phones.digits(text)
        found = [
            key
            for key, name, email, digits in self.rows
            if text in name or text in email or (len(wanted) >= 3 and wanted in digits)
        ]
        found.sort()
        return [key[1] for key in found[:PAGE]], len(found)


def per_keystroke(search: Callable[[str], Any], typed: str, runs: int) -> list[float]:
    """Milliseconds per keystroke: the median over runs of typing the text."""
    runs_ms: list[list[float]] = []
    for _ in range(runs):
        one: list[float] = []
        for query in keystrokes(typed):
            started = time.perf_counter()
            search(query)
            one.append((time.perf_counter() - started) * 1000)
        runs_ms.append(one)
    return [statistics.median(col) for col in zip(*runs_ms, strict=True)]


async def wizard_timings(db_path: Path, typed: str, runs: int) -> list[float]:
    """The wizard's own search through the client and the embedded backend."""
    from app.state.new_group import NewGroupVM
    from services.api.client import ApiClient
    from services.server.embedded import embedded_transport
    from services.store import Store

    transport = embedded_transport(db_path, seed=None, rate_limit=0, latency_ms=0)
    async with ApiClient(
        "http://embedded.invalid", "demo-admin", transport=transport, location_id=LOCATION
    ) as client:
        me = await client.me()
        vm = NewGroupVM(
            client=client, store=Store(":memory:"), me=me, numbers=await client.phone_numbers()
        )
        await vm.search("")  # the wizard opens on the first page (and the index is built)
        runs_ms: list[list[float]] = []
        for _ in range(runs):
            one = []
            for query in keystrokes(typed):
                started = time.perf_counter()
                await vm.search(query)
                one.append((time.perf_counter() - started) * 1000)
            runs_ms.append(one)
    await transport.aclose()
    return [statistics.median(col) for col in zip(*runs_ms, strict=True)]


def store_with(people: list[IndexedContact]) -> Any:
    from services.models import Contact
    from services.store import Store

    store = Store(":memory:")
    first_last = [(c, c.name.partition(" ")) for c in people]
    store.put_contacts(
        Contact(
            id=c.id,
            first_name=first,
            last_name=last,
            name=c.name,
            email=c.email,
            phone=c.phone,
            location_id=LOCATION,
        )
        for c, (first, _, last) in first_last
    )
    return store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_copy(Path(tmp))
        people = load_rows(db.path)
        started = time.perf_counter()
        index = ContactIndex(people)
        build_ms = (time.perf_counter() - started) * 1000
        scan = LinearScan(people)
        store = store_with(people)
        print(f"contacts {len(people):,}; index built in {build_ms:.0f} ms")
        for label, typed in TYPED.items():
            report(label, typed, db.path, index, scan, store, args.runs)


def report(
    label: str,
    typed: str,
    db_path: Path,
    index: ContactIndex,
    scan: LinearScan,
    store: Any,
    runs: int,
) -> None:
    timings = {
        "scan": per_keystroke(scan.search, typed, runs),
        "index": per_keystroke(lambda q: index.search(q, limit=PAGE), typed, runs),
        "store": per_keystroke(lambda q: store.contacts(q, limit=PAGE), typed, runs),
        "wizard": asyncio.run(wizard_timings(db_path, typed, runs)),
    }
    hits = [index.search(q, limit=PAGE).total for q in keystrokes(typed)]
    print(f"-- {label}: typing {typed!r}, matches per keystroke {hits}")
    for name, ms in timings.items():
        cells = " ".join(f"{v:6.2f}" for v in ms)
        mean = statistics.mean(ms)
        print(f"  {name:6} ms/keystroke: {cells}  (worst {max(ms):.2f}, mean {mean:.2f})")
    base = statistics.mean(timings["scan"])
    for name in ("index", "store", "wizard"):
        worst, mean = max(timings[name]), statistics.mean(timings[name])
        ratio = base / mean
        verdict = "met" if worst <= BUDGET_MS and ratio >= BUDGET_RATIO else "MISSED"
        print(
            f"  {name:6} worst {worst:.2f} ms (budget {BUDGET_MS:.0f}), "
            f"{ratio:.1f}x the scan (budget {BUDGET_RATIO:.0f}x): {verdict}"
        )


if __name__ == "__main__":
    main()
