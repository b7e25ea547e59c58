"""Issue 14's journey from nothing: a business set up with the admin command, then used.

An empty folder; ``python -m services.server admin`` (each step its own process, as an
office manager types them) creates the location, an admin and a staff user limited to
assigned data, a token for each, imports 1,000 contacts from a CSV (100 assigned to the
staff user), adds the carrier's business number and links it to the staff user. The
server then starts on that database (no demo seed); in Chromium the app signs in with
the staff token, its wizard finds only the staff user's contacts, a number typed in the
search becomes a new contact ("Add (415) 555-0188 as a new contact"), and a group is
created with it.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e import conftest
from tests.e2e.conftest import DESKTOP, ROOT, Server, _env, _start, _stop, free_port, wait_for_port
from tests.e2e.test_journeys import wait_until

pytestmark = pytest.mark.e2e
WAIT = 60_000
AREAS = ("212", "617", "303", "206", "312", "512", "718", "213", "604", "416")  # not 415
BUSINESS_NUMBER = "+14155550100"


@dataclass
class Business:
    db: Path
    location: str
    staff: str
    staff_token: str
    admin_token: str
    assigned: set[str]  # contact ids assigned to the staff user
    server_url: str


def admin(db: Path, *args: str) -> str:
    """One admin command, as typed in a shell: its standard output, stripped."""
    done = subprocess.run(
        [sys.executable, "-m", "services.server", "admin", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.strip()


def contacts_csv(path: Path, staff_email: str) -> None:
    """1,000 contacts named "Pat0000 Rivera" … "Pat0999 Rivera"; every tenth assigned."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["first name", "last name", "phone", "email", "assigned user", "dnd"])
        for i in range(1000):
            phone = f"+1 {AREAS[i // 100]} 555 01{i % 100:02d}"
            assigned = staff_email if i % 10 == 0 else ""
            writer.writerow([f"Pat{i:04d}", "Rivera", phone, f"pat{i}@example.com", assigned, ""])


@pytest.fixture
def business(tmp_path: Path) -> Iterator[Business]:
    db = tmp_path / "business.db"
    location = admin(db, "location", "create", "--name", "Harbor View Dental")
    admin(db, "user", "add", "--location", location, "--name", "Dana Whitfield", "--role", "admin")
    staff = admin(
        *(db, "user", "add", "--location", location, "--name", "Sam Patel"),
        *("--role", "staff", "--assigned-only", "--email", "sam@harbor.example"),
    )
    admin_id = admin(db, "user", "list", "--location", location).splitlines()[1].split("\t")[0]
    admin_token = admin(db, "token", "issue", "--user", admin_id, "--name", "Dana's laptop")
    staff_token = admin(db, "token", "issue", "--user", staff, "--name", "Sam's browser")
    file = tmp_path / "contacts.csv"
    contacts_csv(file, "sam@harbor.example")
    assert admin(db, "contacts", "import", "--location", location, str(file)) == (
        "Imported 1000 contacts."
    )
    admin(db, "numbers", "add", "--location", location, "--number", BUSINESS_NUMBER)
    admin(db, "numbers", "link", "--number", BUSINESS_NUMBER, "--user", staff)
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id FROM contacts WHERE assigned_to = ?", (staff,)).fetchall()
    finally:
        conn.close()
    assert len(rows) == 100

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "services.server", "--host", "127.0.0.1"),
                *("--port", str(port), "--db", str(db), "--rate-limit", "0"),
            ],
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server)
        yield Business(
            db,
            location,
            staff,
            staff_token,
            admin_token,
            {row[0] for row in rows},
            f"http://127.0.0.1:{port}",
        )
    finally:
        _stop(server)


@pytest.fixture
def app_on_business(business: Business, tmp_path: Path) -> Iterator[Server]:
    """The app on that server, not signed in (no token given): the sign-in screen."""
    env_log = tmp_path / "app.log"
    proc, port = _start(
        ["--backend", business.server_url, "--location", business.location, "--demo-reset"],
        env_log,
    )
    try:
        yield Server(f"http://127.0.0.1:{port}", proc, env_log, business.server_url)
    finally:
        _stop(proc)


def visible_picks(app: object) -> set[str]:
    ids = app.ids_starting("pick-").evaluate_all(  # type: ignore[attr-defined]
        "els => els.map(e => e.getAttribute('flt-semantics-identifier'))"
    )
    return {ident.removeprefix("pick-") for ident in ids}


def test_a_business_set_up_from_nothing_signs_in_and_texts_a_new_contact(
    make_app, business: Business, app_on_business: Server, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(conftest.App, "open", open_to_signin)  # no token yet: sign-in first
    app = make_app(app_on_business, DESKTOP)
    app.type_in("signin-url", business.server_url)
    app.type_in("signin-location", business.location)
    app.type_in("signin-token", business.staff_token)
    app.by_id("signin-submit").click()
    app.by_id("create-new-message").wait_for(timeout=WAIT)

    app.by_id("create-new-message").click()
    app.by_id("search-contacts").wait_for(timeout=WAIT)
    app.by_id(f"from-{BUSINESS_NUMBER}").wait_for(timeout=WAIT)  # linked to Sam
    # All 1,000 are "Rivera"; Sam sees the 100 assigned to him, and only those.
    app.type_in("search-contacts", "Rivera")
    app.ids_starting("pick-").first.wait_for(timeout=WAIT)
    app.settle(1.0)
    shown = visible_picks(app)
    assert shown and shown <= business.assigned, shown - business.assigned
    app.shot("setup-journey-staff-search")
    app.type_in("search-contacts", "Pat0003")  # not assigned to Sam
    app.text("No contacts match.").wait_for(timeout=WAIT)
    assert visible_picks(app) == set()
    app.type_in("search-contacts", "Pat0010")  # assigned to Sam
    # Each keystroke's results are drawn in turn ("Pat00" shows Sam's ten of Pat0000-99):
    # the signal is the one row that only "Pat001" and "Pat0010" show.
    wait_until(lambda: len(visible_picks(app)) == 1, app)
    (picked,) = visible_picks(app)
    assert picked in business.assigned
    app.by_id(f"pick-{picked}").click()

    # A number no contact has becomes a new contact, assigned to Sam, and is chosen.
    app.type_in("search-contacts", "(415) 555-0188")
    offer = app.by_id("add-new-contact")
    offer.wait_for(timeout=WAIT)
    app.text("Add (415) 555-0188 as a new contact").wait_for(timeout=WAIT)
    offer.click()
    app.by_id("new-contact-first").wait_for(timeout=WAIT)
    app.type_in("new-contact-first", "Rosa")
    app.type_in("new-contact-last", "Mendes")
    app.by_id("new-contact-save").click()
    app.text("Rosa Mendes").wait_for(timeout=WAIT)
    app.type_in("group-name", "Cleaning day")
    app.by_id("create-conversation").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.shot("setup-journey-group-created")

    headers = {"Authorization": f"Bearer {business.staff_token}"}
    with httpx.Client(base_url=business.server_url, headers=headers, timeout=30) as http:
        found = http.get("/conversations/search", params={"limit": 100}).json()["conversations"]
        group = next(c for c in found if c["name"] == "Cleaning day")
        rosa = http.post(
            "/contacts/search",
            json={"locationId": business.location, "query": "Rosa", "pageLimit": 5},
        ).json()["contacts"]
    assert [c["phone"] for c in rosa] == ["+14155550188"]
    assert rosa[0]["assignedTo"] == business.staff  # limited to assigned data: his
    conn = sqlite3.connect(business.db)
    try:
        members = {
            row[0]
            for row in conn.execute(
                "SELECT phone FROM participants WHERE conversation_id = ?", (group["id"],)
            )
        }
    finally:
        conn.close()
    assert "+14155550188" in members and len(members) >= 2


def open_to_signin(self: conftest.App) -> conftest.App:
    """``App.open`` waits for the conversation list; signed out, the app shows sign-in."""
    p = self.page
    p.route("**/*", conftest._only_loopback)  # type: ignore[attr-defined]
    p.goto(self.url)  # type: ignore[attr-defined]
    p.wait_for_selector("#loading", state="detached", timeout=60_000)  # type: ignore[attr-defined]
    p.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)  # type: ignore[attr-defined]
    p.locator("flt-semantics-placeholder").dispatch_event("click")  # type: ignore[attr-defined]
    self.by_id("signin").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    return self
