"""Issue 7's journey in Chromium: sign out of the demo, sign in to a second standalone
sandbox as the staff user, see that user's data only - and find the token nowhere.

The app process uses ``PYTHON_KEYRING_BACKEND=tests.memory_keyring.MemoryKeyring``:
the real KeyringStore code path, with the vault in the app's memory, so it never
touches this machine's keyring and anything of the token found on disk is a leak.
Its data folder is a fresh temporary one (GCS_DATA_DIR) and it logs at DEBUG, the
chattiest setting, so the log search below is as strict as it can be.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from services.server import accounts
from services.server.db import Database, token_hash
from tests.e2e.a11y import assert_all_named, spoken
from tests.e2e.conftest import (
    DESKTOP,
    ROOT,
    App,
    _env,
    _stop,
    free_port,
    start_server,
    wait_for_port,
)

pytestmark = pytest.mark.e2e
WAIT = 30_000
STAFF_TOKEN = "demo-staff"
WRONG_TOKEN = "pit-e2e-wrong-5f9c2d"
NEW_STAFF_TOKEN = "pit-e2e-staff-rotated-81ad"


@dataclass
class Run:
    url: str
    server_url: str
    data: Path
    log: Path
    proc: subprocess.Popen[bytes]
    sandbox_db: Path


@pytest.fixture(scope="module")
def demo_and_second_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("signin")
    sport = free_port()
    sandbox = start_server(sport, tmp / "second.sqlite3", tmp / "sandbox.log")
    try:
        wait_for_port(sport, sandbox)
        config = tmp / "flet.toml"
        config.write_text('backend = "embedded"\n')
        env = _env() | {
            "PYTHON_KEYRING_BACKEND": "tests.memory_keyring.MemoryKeyring",
            "GCS_CONFIG": str(config),
            "GCS_DATA_DIR": str(tmp / "data"),
            "GCS_APP_LOG": "DEBUG",
        }
        port = free_port()
        log = tmp / "app.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, proc)
            yield Run(
                f"http://127.0.0.1:{port}",
                f"http://127.0.0.1:{sport}",
                tmp / "data",
                log,
                proc,
                tmp / "second.sqlite3",
            )
        finally:
            _stop(proc)
    finally:
        _stop(sandbox)


def nav(app: App, name: str) -> None:
    app.page.locator(
        f'[role="tab"][aria-label="{name}"], [role="button"][aria-label="{name}"]'
    ).or_(app.page.get_by_role("button", name=re.compile(f"^{name}"))).first.click()


def label(app: App, ident: str) -> str:
    return spoken(app.by_id(ident))


def wait_until(check, app: App, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 4)):
        if check():
            return
        app.page.wait_for_timeout(250)
    raise AssertionError("the screen never showed what was expected")


def revoke(db: Path, old: str, new: str) -> None:
    """What an admin rotating the token does (`admin token revoke`, `admin token issue`),
    from its own connection: the server notices within half a second."""
    admin = Database(db)
    try:
        with admin.tx() as conn:
            found = admin.one("SELECT id, user_id FROM tokens WHERE hash = ?", (token_hash(old),))
            assert found is not None
            accounts.revoke_token(conn, found["id"])
            accounts.issue_token(conn, found["user_id"], name="rotated", token=new)
    finally:
        admin.close()


def files_containing(folder: Path, secret: str, skip: str | None = None) -> list[Path]:
    needle = secret.encode()
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and not (skip and skip in p.parts) and needle in p.read_bytes()
    ]


def test_sign_out_of_the_demo_and_sign_in_to_another_sandbox_as_staff(
    make_app, demo_and_second_sandbox
):
    run = demo_and_second_sandbox
    app = make_app(run, DESKTOP)  # opens on the embedded demo, as the admin
    assert app.text("Open house").count() == 1

    nav(app, "Settings")
    app.by_id("sign-out").click()
    app.by_id("signin").wait_for(timeout=WAIT)
    assert_all_named(app.page, "sign-in")

    app.type_in("signin-url", "http://example.com")  # plain http to a remote host
    app.type_in("signin-location", "loc_demo")
    app.type_in("signin-token", WRONG_TOKEN)
    app.by_id("signin-submit").click()
    app.text("must use https://").wait_for(timeout=WAIT)

    app.type_in("signin-url", run.server_url)
    app.by_id("signin-submit").click()
    wait_until(lambda: "didn't accept" in label(app, "signin-error"), app)
    app.shot("signin-refused")

    app.type_in("signin-token", STAFF_TOKEN)
    app.by_id("signin-submit").click()
    app.by_id("create-new-message").wait_for(timeout=WAIT)
    app.text("Weekend crew").wait_for(timeout=WAIT)
    app.settle(1.5)
    # The staff user's data only: the admin's conversation is not listed...
    assert app.text("Open house").count() == 0
    nav(app, "Settings")
    who = label(app, "signed-in-as")
    assert "Staff" in who
    assert app.by_id("switch-user").count() == 0  # the demo's switch is for the demo only
    app.shot("signin-staff-settings")
    # ...and only the number linked to them is offered to send from.
    app.by_id("create-new-message").click()
    app.by_id("new-group").wait_for(timeout=WAIT)
    app.by_id("from-+14155550100").wait_for(timeout=WAIT)
    assert app.ids_starting("from-").count() == 1
    app.shot("signin-staff-wizard")

    # The server stops accepting the token mid-session (revoked): a draft survives.
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.type_in("composer", "See you at 6")
    app.settle(1.0)
    revoke(run.sandbox_db, STAFF_TOKEN, NEW_STAFF_TOKEN)
    # Any request now gets 401: this click's, unless the open event stream, which the
    # server closes within half a second, met it first and the sign-in is already shown.
    with contextlib.suppress(PlaywrightTimeout):
        app.by_id("create-new-message").click(timeout=5_000)
    app.by_id("signin-notice").wait_for(timeout=WAIT)
    assert "sign in again" in label(app, "signin-notice")
    app.shot("signin-after-401")
    assert_all_named(app.page, "sign-in after a 401")
    app.type_in("signin-token", NEW_STAFF_TOKEN)  # address and location are kept
    app.by_id("signin-submit").click()
    app.by_id("create-new-message").wait_for(timeout=WAIT)
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.page.wait_for_timeout(500)
    values = app.page.locator("textarea, input").evaluate_all("els => els.map(e => e.value)")
    assert "See you at 6" in values
    app.shot("signin-draft-kept")

    _stop(run.proc)  # flush the log, release the cache
    log = run.log.read_text(errors="replace")
    assert "DEBUG" in log and "/users/me" in log  # it did log, at the chattiest level
    for token in (STAFF_TOKEN, WRONG_TOKEN, NEW_STAFF_TOKEN):
        assert token not in log, f"{token} is in the app's log"
    # The wrong token was only ever typed: it must be nowhere in the app's folder.
    assert files_containing(run.data, WRONG_TOKEN) == []
    # The staff token is in the embedded demo's own database (its seed holds the
    # demo tokens, server side); anywhere else in the app's folder it would be a leak.
    assert files_containing(run.data, STAFF_TOKEN, skip="embedded") == []
    assert files_containing(run.data, NEW_STAFF_TOKEN) == []
    assert any(run.data.glob("accounts/127.0.0.1-*/usr_demo_staff/cache.sqlite3"))
