"""`python -m services.server admin`: every subcommand, its output, its refusals, and a
server running beside it that sees each change."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.server import admin as admin_module
from services.server import cli, logs, seed
from services.server.app import create_app
from services.server.backups import files_dir
from services.server.db import Database, token_hash
from services.server.embedded import EmbeddedTransport
from tests.services.server.carriers import fake_telnyx, fake_twilio
from tests.services.server.carriers.harness import TelnyxHarness, TwilioHarness
from tests.services.server.carriers.served import ServedFake
from tests.services.server.carriers.support import Clock
from tests.services.server_process import REPO, ServerProcess

pytestmark = pytest.mark.anyio
TOKEN = re.compile(r"^gcs_[A-Za-z0-9_-]{43}\n$")


class Admin:
    """The admin command, run in this process as ``python -m services.server`` would."""

    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = cli.main(["admin", "--db", str(self.db), *args])
        except SystemExit as stop:  # argparse: a wrong command line
            code = int(stop.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert (code, err) == (0, ""), err
        return out.strip()

    def refused(self, *args: str) -> str:
        """The one sentence of a refusal (exit code 1: nothing was changed)."""
        code, out, err = self(*args)
        assert code == 1 and out == "", (code, out, err)
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        return err.strip()


@pytest.fixture
def admin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Admin:
    return Admin(tmp_path / "server.db", capsys)


def business(admin: Admin) -> tuple[str, str, str]:
    """A location with an admin and a staff user limited to assigned data."""
    location = admin.ok("location", "create", "--name", "Harbor View Dental")
    boss = admin.ok(
        *("user", "add", "--location", location, "--name", "Dana Whitfield"),
        *("--role", "admin", "--email", "dana@harbor.example"),
    )
    staff = admin.ok(
        *("user", "add", "--location", location, "--name", "Sam Patel", "--role", "staff"),
        *("--assigned-only", "--phone", "(415) 555-0191"),
    )
    return location, boss, staff


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    top = admin_module.parser()
    commands = [
        ["location", "create"],
        ["location", "list"],
        ["user", "add"],
        ["user", "list"],
        ["user", "disable"],
        ["user", "enable"],
        ["token", "issue"],
        ["token", "list"],
        ["token", "revoke"],
        ["contacts", "import"],
        ["contacts", "assign"],
        ["numbers", "list"],
        ["numbers", "add"],
        ["numbers", "link"],
        ["numbers", "sync"],
        ["backup"],
        ["restore"],
    ]
    for words in [[], ["location"], ["user"], ["token"], ["contacts"], ["numbers"], *commands]:
        with pytest.raises(SystemExit) as done:
            top.parse_args(["--db", "x.db", *words, "--help"])
        assert done.value.code == 0, words
        shown = capsys.readouterr().out
        # Usage, then a sentence saying what it does, then its options.
        said = shown.split("\n\n")[1]
        assert said[:1].isupper() and said.rstrip().endswith("."), shown


def test_the_command_runs_as_a_module_and_serving_is_still_the_default(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    command = [sys.executable, "-m", "services.server"]
    made = subprocess.run(
        [*command, "admin", "--db", str(db), "location", "create", "--name", "Harbor View"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0 and re.fullmatch(r"loc_[0-9a-f]{20}\n", made.stdout)
    wrong = subprocess.run(
        [*command, "admin", "--db", str(db), "user", "add", "--name", "Jo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        wrong.returncode == 2 and "--location" in wrong.stderr and "Traceback" not in wrong.stderr
    )
    serve = subprocess.run(
        [*command, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert serve.returncode == 0 and "--trusted-proxy" in serve.stdout


def test_locations_and_users(admin: Admin) -> None:
    assert admin.refused("user", "list").startswith("There is no database")
    location, boss, staff = business(admin)
    assert re.fullmatch(r"usr_[0-9a-f]{20}", boss) and re.fullmatch(r"usr_[0-9a-f]{20}", staff)
    assert admin.ok("location", "list").splitlines()[1] == f"{location}\tHarbor View Dental"
    other = admin.ok("location", "create", "--name", "  Second   Office ")
    admin.ok("user", "add", "--location", other, "--name", "Lee Chen", "--role", "staff")

    listed = admin.ok("user", "list", "--location", location).splitlines()
    assert listed[0].split("\t") == ["id", "location", "name", "role", "sees", "email", "state"]
    rows = {line.split("\t")[0]: line.split("\t") for line in listed[1:]}
    assert set(rows) == {boss, staff}
    assert rows[boss][2:] == ["Dana Whitfield", "admin", "all", "dana@harbor.example", "active"]
    assert rows[staff][2:] == ["Sam Patel", "staff", "assigned only", "-", "active"]
    assert len(admin.ok("user", "list").splitlines()) == 4  # every location's

    admin.ok("user", "disable", "--user", staff)
    assert "disabled" in admin.ok("user", "list", "--location", location)
    assert "is disabled" in admin.refused("token", "issue", "--user", staff)
    admin.ok("user", "enable", "--user", staff)
    assert TOKEN.match(admin("token", "issue", "--user", staff)[1])

    assert (
        admin.refused("user", "disable", "--user", "usr_nobody") == "There is no user usr_nobody."
    )
    assert "no location" in admin.refused(
        "user", "add", "--location", "loc_nowhere", "--name", "A B", "--role", "staff"
    )
    assert admin.refused(
        "user", "add", "--location", location, "--name", "A B", "--role", "staff", "--email", "ab"
    ) == ("ab is not an email address.")
    assert admin.refused(
        *("user", "add", "--location", location, "--name", "Dana Two", "--role", "staff"),
        *("--email", "DANA@harbor.example"),
    ) == ("DANA@harbor.example is already a user's email in this location.")
    assert admin.refused("location", "create", "--name", "  ").startswith("Give the location")
    code, _, err = admin("user", "add", "--location", location, "--name", "A B", "--role", "boss")
    assert code == 2 and err.count("\n") == 1 and "invalid choice" in err


def test_tokens_are_printed_once_listed_without_secrets_and_revoked(admin: Admin) -> None:
    _, _, staff = business(admin)
    code, out, err = admin("token", "issue", "--user", staff, "--name", "Sam's phone")
    assert code == 0 and err == "" and TOKEN.match(out)  # the token alone: scripts read it
    token = out.strip()
    admin.ok("token", "issue", "--user", staff, "--name", "Desk", "--expires-in-days", "30")
    listed = admin.ok("token", "list", "--user", staff)
    assert token not in listed and token_hash(token) not in listed
    lines = [line.split("\t") for line in listed.splitlines()]
    assert lines[0] == ["id", "name", "created", "last used", "expires", "revoked"]
    by_name = {line[1]: line for line in lines[1:]}
    assert by_name["Sam's phone"][3:] == ["never", "never", "no"]
    assert by_name["Desk"][4].startswith("20") and by_name["Desk"][5] == "no"

    admin.ok("token", "revoke", "--token-id", by_name["Sam's phone"][0])
    again = [line.split("\t") for line in admin.ok("token", "list", "--user", staff).splitlines()]
    assert next(row for row in again if row[1] == "Sam's phone")[5].startswith("20")
    assert admin.refused("token", "revoke", "--token-id", "tok_x") == "There is no token tok_x."
    assert admin.refused("token", "list", "--user", "usr_x") == "There is no user usr_x."
    assert "from 1 to 3650" in admin.refused(
        "token", "issue", "--user", staff, "--expires-in-days", "0"
    )


def test_numbers_are_added_listed_and_linked(admin: Admin) -> None:
    location, boss, staff = business(admin)
    other = admin.ok("location", "create", "--name", "Elsewhere")
    stranger = admin.ok("user", "add", "--location", other, "--name", "Lee Chen", "--role", "staff")
    admin.ok(
        "numbers", "add", "--location", location, "--number", "(415) 555-0100", "--name", "Desk"
    )
    admin.ok("numbers", "add", "--location", location, "--number", "+1 800 555 0101")
    assert "already one of" in admin.refused(
        "numbers", "add", "--location", location, "--number", "+14155550100"
    )
    assert "not a phone number" in admin.refused(
        "numbers", "add", "--location", location, "--number", "12"
    )
    admin.ok("numbers", "link", "--number", "+1 415 555 0100", "--user", staff)
    lines = admin.ok("numbers", "list", "--location", location).splitlines()
    assert lines == [
        "number\tname\tcan\tlinked user",
        f"+14155550100\tDesk\tsms,mms,voice,group\t{staff}",
        "+18005550101\t+18005550101\tsms,mms,voice\t-",  # toll-free: no group texts
    ]
    assert "another location" in admin.refused(
        "numbers", "link", "--number", "+14155550100", "--user", stranger
    )
    assert "not one of the server's numbers" in admin.refused(
        "numbers", "link", "--number", "+14155550199", "--user", boss
    )
    assert admin.ok("numbers", "list", "--location", other) == "number\tname\tcan\tlinked user"


async def test_a_running_server_sees_every_admin_change(admin: Admin, tmp_path: Path) -> None:
    """The server in this process, the admin command writing the same file through its own
    connection: the server notices (data_version) and drops what it had cached."""
    location, _, staff = business(admin)
    admin.ok("numbers", "add", "--location", location, "--number", "+14155550100")
    token = admin.ok("token", "issue", "--user", staff)
    app = create_app(admin.db, rate_limit=0, latency_ms=0)
    transport = EmbeddedTransport(app.state.server, app=app)
    async with ApiClient("http://s", token, transport=transport, retry=RetryPolicy.never()) as sam:
        assert (await sam.search_contacts()).contacts == []  # cached by the server now
        file = tmp_path / "c.csv"
        file.write_text(
            f"name,phone,assigned user\nAna Lopez,+14155550130,{staff}\nBo Diaz,+14155550131,\n",
            encoding="utf-8",
        )
        admin.ok("contacts", "import", "--location", location, str(file))
        await until(lambda: _names(sam), {"Ana Lopez"})

        bo = _contact_id(admin.db, "+14155550131")
        admin.ok("contacts", "assign", "--contact", bo, "--user", staff)
        await until(lambda: _names(sam), {"Ana Lopez", "Bo Diaz"})

        admin.ok("user", "disable", "--user", staff)
        await until(lambda: _status(transport, token), 401)
    await transport.aclose()


async def _names(client: ApiClient) -> set[str]:
    page = await client.search_contacts()
    return {f"{c.first_name} {c.last_name}" for c in page.contacts}


async def _status(transport: EmbeddedTransport, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
        return (await http.get("/users/me", headers=headers)).status_code


def _contact_id(db: Path, phone: str) -> str:
    store = Database(db)
    try:
        return str(store.scalar("SELECT id FROM contacts WHERE phone = ?", (phone,)))
    finally:
        store.close()


async def until(check: Callable[[], Awaitable[object]], wanted: object, within: float = 20) -> None:
    """Poll until ``check()`` gives ``wanted`` (generous: the server polls twice a second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (got := await check()) != wanted:
        assert loop.time() < deadline, f"still {got!r}, not {wanted!r}"
        await asyncio.sleep(0.1)


async def test_no_token_is_in_the_database_the_logs_or_a_backup(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location, boss, staff = business(admin)
    tokens = [admin.ok("token", "issue", "--user", user) for user in (boss, staff, staff)]
    logs.configure("info", "json")
    try:
        app = create_app(admin.db, rate_limit=0, latency_ms=0)
        transport = EmbeddedTransport(app.state.server, app=app)
        capsys.readouterr()  # the printed tokens: what follows is the server's log only
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
            for token in tokens:
                me = await http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
                assert me.status_code == 200
            wrong = tokens[0][:-2] + "xx"
            refused = await http.get("/users/me", headers={"Authorization": f"Bearer {wrong}"})
            assert refused.status_code == 401
        await transport.aclose()
        app.state.server.db.close()
        log = capsys.readouterr().err
    finally:
        logging.getLogger().handlers = []
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(line.get("user") == staff for line in lines)  # the log did capture the requests
    assert admin.ok("backup", str(tmp_path / "backup.db")).startswith("Backed up")
    stored = every_byte_under(tmp_path)
    for token in [*tokens, wrong]:
        secret = token.removeprefix("gcs_")  # the random part, in any encoding of the file
        assert secret.encode() not in stored
        assert secret not in log
    del location


def every_byte_under(folder: Path, *, names: bool = False) -> bytes:
    """Every file's bytes (or, with ``names``, every file's name) under ``folder``."""
    paths = [path for path in folder.rglob("*") if path.is_file()]
    return b"".join(path.name.encode() if names else path.read_bytes() for path in paths)


async def test_backup_and_restore_with_attachments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "live.db"
    app = create_app(db, seed="demo")  # the demo has attachments on disk
    server = app.state.server
    admin = Admin(db, capsys)
    messages = server.db.scalar("SELECT COUNT(*) FROM messages")
    log_before = server.hub.log_id
    attachments = sorted(p.name for p in files_dir(db).iterdir())
    assert attachments

    # While the server has the file open: a consistent copy.
    out = admin.ok("backup", str(tmp_path / "nightly.db"))
    assert (
        out
        == f"Backed up {db} to {tmp_path / 'nightly.db'} with {len(attachments)} attachment files."
    )
    assert "already exists" in admin.refused("backup", str(tmp_path / "nightly.db"))
    assert admin.ok("backup", str(tmp_path / "nightly.db"), "--force").startswith("Backed up")
    assert b".partial" not in every_byte_under(tmp_path, names=True)
    assert "in use" in admin.refused("restore", str(tmp_path / "nightly.db"), "--force")
    server.db.close()

    # A restore to a new place, and over the old database once the server is stopped.
    fresh = Admin(tmp_path / "restored.db", capsys)
    assert fresh.ok("restore", str(tmp_path / "nightly.db")).startswith("Restored")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM messages")
    conn.close()
    (files_dir(db) / attachments[0]).unlink()
    assert "already exists" in admin.refused("restore", str(tmp_path / "nightly.db"))
    admin.ok("restore", str(tmp_path / "nightly.db"), "--force")
    logs = {log_before}
    for path in (db, tmp_path / "restored.db"):
        store = Database(path)
        try:
            assert store.scalar("SELECT COUNT(*) FROM messages") == messages
            assert store.scalar("PRAGMA quick_check") == "ok"
            logs.add(store.scalar("SELECT id FROM event_log"))
        finally:
            store.close()
        assert sorted(p.name for p in files_dir(path).iterdir()) == attachments
    # Each restore is a log of its own: devices that saw events after the backup's
    # moment start it afresh instead of taking its new events for ones they applied.
    assert len(logs) == 3
    backup = Database(tmp_path / "nightly.db")
    assert backup.scalar("SELECT id FROM event_log") == log_before  # the backup itself kept
    backup.close()

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello", encoding="utf-8")
    assert fresh.refused("restore", str(not_a_backup), "--force") == (
        f"{not_a_backup} is not a backup of this server's database."
    )
    assert fresh.refused("restore", str(tmp_path / "none.db")).startswith("There is no backup")
    assert fresh.refused("backup", str(tmp_path / "no" / "such.db")) == (
        f"There is no folder {tmp_path / 'no'} to write the backup in."
    )
    assert admin.refused("backup", str(db)).startswith("The backup can't be the database")


async def test_a_backup_during_a_burst_of_sends_holds_every_acknowledged_message(
    tmp_path: Path,
) -> None:
    db = tmp_path / "live.db"
    server = ServerProcess(db)
    await server.start()
    headers = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
    acked: dict[str, str] = {}
    backup = tmp_path / "during.db"
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            found = await http.get("/conversations/search", params={"limit": 100})
            conversation = next(
                c["id"] for c in found.json()["conversations"] if c["name"] == "Weekend crew"
            )
            halfway = asyncio.Event()
            queue = iter(range(200))

            async def sender() -> None:
                for n in queue:
                    body = {"type": "SMS", "conversationId": conversation, "message": f"m{n}"}
                    answer = await http.post("/conversations/messages", json=body)
                    assert answer.status_code == 201, answer.text
                    acked[f"m{n}"] = answer.json()["messageId"]
                    if len(acked) >= 100:
                        halfway.set()

            async def backer() -> dict[str, str]:
                await halfway.wait()
                before = dict(acked)  # acknowledged before the backup began
                # The command's own code in a thread: it starts at once, while sends go on.
                command = ["admin", "--db", str(db), "backup", str(backup)]
                assert await asyncio.to_thread(cli.main, command) == 0
                return before

            results = await asyncio.gather(backer(), *(sender() for _ in range(6)))
            before: dict[str, str] = results[0]
    finally:
        server.stop()
    assert len(acked) == 200 and 100 <= len(before) < 200
    restored = tmp_path / "restored.db"
    code = cli.main(["admin", "--db", str(restored), "restore", str(backup)])
    assert code == 0
    store = Database(restored)
    try:
        kept = {r["id"] for r in store.all("SELECT id FROM messages")}
        assert store.scalar("PRAGMA quick_check") == "ok"
    finally:
        store.close()
    missing = [body for body, message_id in before.items() if message_id not in kept]
    assert missing == []
    print(
        f"{len(before)} acknowledged before the backup; the backup holds"
        f" {len(kept & set(acked.values()))} of the burst's 200"
    )


def served_env(harness: TwilioHarness | TelnyxHarness, served: ServedFake) -> dict[str, str]:
    """The carrier's settings, its addresses pointed at the fake served on 127.0.0.1."""
    if isinstance(harness, TwilioHarness):
        return {
            **fake_twilio.ENV,
            "TWILIO_API_BASE": served.base(fake_twilio.API),
            "TWILIO_ACCOUNTS_BASE": served.base(fake_twilio.ACCOUNTS),
            "TWILIO_MEDIA_BASE": served.base(fake_twilio.MCS),
        }
    return {**fake_telnyx.ENV, "TELNYX_API_BASE": served.base(fake_telnyx.API) + "/v2"}


@pytest.mark.parametrize("harness_class", [TwilioHarness, TelnyxHarness], ids=["twilio", "telnyx"])
def test_numbers_sync_fetches_a_real_carrier_accounts_numbers(
    admin: Admin,
    monkeypatch: pytest.MonkeyPatch,
    harness_class: type[TwilioHarness] | type[TelnyxHarness],
) -> None:
    """The carrier account (its spec-validated fake, served on 127.0.0.1) holds three
    numbers; the command adds them, refreshes one it knew without losing its link."""
    location, _, staff = business(admin)
    admin.ok("numbers", "add", "--location", location, "--number", "+14155550100")
    admin.ok("numbers", "link", "--number", "+14155550100", "--user", staff)
    harness = harness_class(Clock())
    carrier = harness.name
    refused = admin.refused("numbers", "sync", "--location", location, "--carrier", carrier)
    assert f"{carrier.upper()}_" in refused  # no credentials here: the missing one is named
    harness.add_numbers()
    served = ServedFake(harness.fake.transport)
    served.start()
    try:
        for name, value in served_env(harness, served).items():
            monkeypatch.setenv(name, value)
        out = admin.ok("numbers", "sync", "--location", location, "--carrier", carrier)
    finally:
        served.stop()
    assert out == f"3 numbers at {carrier.title()}: 2 new."
    listed = [
        line.split("\t")
        for line in admin.ok("numbers", "list", "--location", location).splitlines()[1:]
    ]
    assert [(n, can, linked) for n, _, can, linked in listed] == [
        ("+14155550100", "sms,mms" + (",voice" if carrier == "twilio" else "") + ",group", staff),
        ("+14155550177", "sms", "-"),
        ("+18005550199", "sms,mms" + (",voice" if carrier == "twilio" else ""), "-"),
    ]
    harness.fake.assert_clean()
