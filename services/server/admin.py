"""``python -m services.server admin --db DB ...``: set up and look after a business.

Locations, staff users and their tokens, contacts, business numbers, backups. Each
subcommand prints what a script needs on standard output (a new id, a new token, a
table), every refusal as one sentence on standard error, and exits 0 on success, 1 when
it refused, 2 when the command line itself was wrong.

It may run while the server runs: it writes the same SQLite file through its own
connection, every change in one transaction, and the server notices another process's
change within half a second (``auth.ChangeWatch``, SQLite's ``data_version``), drops
its caches and closes the event streams of revoked tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from services import phones
from services.server import accounts, backups, changes, clock
from services.server.accounts import AccountError
from services.server.carriers.base import BusinessNumber, CarrierError
from services.server.carriers.config import CarrierKind, make_carrier
from services.server.contacts_import import ImportRefused, import_contacts, is_email, read_rows
from services.server.core import LOCAL_URL
from services.server.db import Database


class Refused(Exception):
    """Why the command did nothing, in one sentence."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One sentence, not argparse's usage block: scripts and people read the same line.
        self.exit(2, f"{self.prog}: {message} (see --help).\n")


# --- the command line ---------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="python -m services.server admin",
        description="Set up the server for a business: locations, users, tokens, contacts,"
        " numbers, backups. Safe to run while the server runs.",
    )
    top.add_argument("--db", required=True, help="the server's SQLite file")
    sub = top.add_subparsers(dest="area", required=True, metavar="AREA", parser_class=_Parser)

    location = _area(sub, "location", "the business location")
    add = location.add_parser("create", help="create the location; prints its id")
    add.add_argument("--name", required=True, help="e.g. 'Harbor View Dental'")
    add.set_defaults(run=location_create)
    location.add_parser("list", help="every location: id and name").set_defaults(run=location_list)

    user = _area(sub, "user", "staff users")
    add = user.add_parser("add", help="add a user; prints their id")
    add.add_argument("--location", required=True, metavar="ID")
    add.add_argument("--name", required=True, help='first and last name, e.g. "Dana Whitfield"')
    add.add_argument("--role", required=True, choices=sorted(accounts.ROLES))
    add.add_argument(
        "--assigned-only",
        action="store_true",
        help="the user sees only contacts (and their conversations) assigned to them",
    )
    add.add_argument("--email", default=None)
    add.add_argument("--phone", default=None, help="their own mobile, e.g. +14155550191")
    add.set_defaults(run=user_add)
    listing = user.add_parser("list", help="users: id, name, role, email, state")
    listing.add_argument("--location", default=None, metavar="ID", help="only this location's")
    listing.set_defaults(run=user_list)
    for verb, text in (("disable", "sign the user out everywhere"), ("enable", "allow again")):
        step = user.add_parser(verb, help=text)
        step.add_argument("--user", required=True, metavar="ID")
        step.set_defaults(run=user_disable if verb == "disable" else user_enable)

    token = _area(sub, "token", "a user's sign-in tokens")
    issue = token.add_parser("issue", help="a new token; printed once, alone, and stored hashed")
    issue.add_argument("--user", required=True, metavar="ID")
    issue.add_argument("--name", default="", help='what it is for, e.g. "Sam\'s phone"')
    issue.add_argument("--expires-in-days", type=int, default=None, metavar="N")
    issue.set_defaults(run=token_issue)
    listing = token.add_parser("list", help="a user's tokens: name and dates, never the token")
    listing.add_argument("--user", required=True, metavar="ID")
    listing.set_defaults(run=token_list)
    revoke = token.add_parser("revoke", help="refuse the token at once, open streams too")
    revoke.add_argument("--token-id", required=True, metavar="ID")
    revoke.set_defaults(run=token_revoke)

    contacts = _area(sub, "contacts", "the business's contacts")
    load = contacts.add_parser(
        "import",
        help="import a CSV (first name,last name,phone,email,assigned user,dnd) or vCard file;"
        " all or nothing",
    )
    load.add_argument("--location", required=True, metavar="ID")
    load.add_argument("file", type=Path, metavar="FILE", help="a .csv or .vcf file, UTF-8")
    load.add_argument(
        "--skip-refused",
        action="store_true",
        help="import the good rows even when others are refused (each still reported)",
    )
    load.set_defaults(run=contacts_import)
    assign = contacts.add_parser("assign", help="assign a contact to a user")
    assign.add_argument("--contact", required=True, metavar="ID")
    assign.add_argument("--user", required=True, metavar="ID")
    assign.set_defaults(run=contacts_assign)

    numbers = _area(sub, "numbers", "the carrier account's business numbers")
    listing = numbers.add_parser("list", help="the location's numbers and who each is linked to")
    listing.add_argument("--location", required=True, metavar="ID")
    listing.set_defaults(run=numbers_list)
    add = numbers.add_parser(
        "add", help="record a number the carrier account holds (SMS and MMS, for group texts)"
    )
    add.add_argument("--location", required=True, metavar="ID")
    add.add_argument("--number", required=True, help="E.164, e.g. +14155550100")
    add.add_argument("--name", default="", help="what staff call it, e.g. 'Front desk'")
    add.set_defaults(run=numbers_add)
    sync = numbers.add_parser(
        "sync",
        help="fetch the numbers a real carrier account holds (credentials from the environment,"
        " as for serving) into the location",
    )
    sync.add_argument("--location", required=True, metavar="ID")
    sync.add_argument("--carrier", required=True, choices=["twilio", "telnyx"])
    sync.set_defaults(run=numbers_sync)
    link = numbers.add_parser("link", help="link a number to the user who answers it")
    link.add_argument("--number", required=True)
    link.add_argument("--user", required=True, metavar="ID")
    link.set_defaults(run=numbers_link)

    backup = sub.add_parser(
        "backup", help="a consistent copy of the database and attachments, server running or not"
    )
    backup.add_argument("path", type=Path, metavar="PATH")
    backup.add_argument("--force", action="store_true", help="replace an existing PATH")
    backup.set_defaults(run=backup_run)
    restore = sub.add_parser(
        "restore", help="put a backup in place of --db (stop the server first)"
    )
    restore.add_argument("path", type=Path, metavar="PATH")
    restore.add_argument("--force", action="store_true", help="replace an existing --db")
    restore.set_defaults(run=restore_run)
    _describe(top)
    return top


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's --help opens with the line its parent lists it with."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if child.description is None and helps.get(name):
                    text = str(helps[name])
                    child.description = text[:1].upper() + text[1:] + "."
                _describe(child)


def _area(sub: argparse._SubParsersAction[_Parser], name: str, text: str) -> Any:
    area = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
    return area.add_subparsers(dest="verb", required=True, metavar="COMMAND", parser_class=_Parser)


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.run
    try:
        run(args)
    except (Refused, AccountError, ImportRefused, backups.BackupRefused) as refusal:
        print(str(refusal), file=sys.stderr)
        return 1
    except sqlite3.Error as error:
        print(f"The database {args.db} could not be used: {error}.", file=sys.stderr)
        return 1
    except OSError as error:  # a file the command was given or writes: unreadable, full disk
        print(f"{error.filename or args.db}: {error.strerror or error}.", file=sys.stderr)
        return 1
    return 0


# --- opening the database -----------------------------------------------------------------


def _open(args: argparse.Namespace, *, create: bool = False) -> Database:
    path = Path(args.db)
    if not create and not path.exists():
        raise Refused(f"There is no database {path}: create it with 'admin location create'.")
    try:
        return Database(path)
    except RuntimeError as error:  # a schema newer than this program
        raise Refused(f"{path} was written by a newer server: {error}.") from None


def _write(args: argparse.Namespace, step: Callable[[sqlite3.Connection], str | None]) -> None:
    db = _open(args)
    try:
        with db.tx() as conn:
            printed = step(conn)
    finally:
        db.close()
    if printed is not None:
        print(printed)


def _location(db: Database, location_id: str) -> None:
    if db.one("SELECT 1 FROM locations WHERE id = ?", (location_id,)) is None:
        raise Refused(f"There is no location {location_id}.")


def _table(rows: list[list[str]]) -> None:
    """Tab-separated, a header first: readable, and easy for ``cut`` and spreadsheets
    (an empty cell is "-", so a column never disappears at the end of a line)."""
    for row in rows:
        print("\t".join(cell or "-" for cell in row))


# --- locations and users ------------------------------------------------------------------


def location_create(args: argparse.Namespace) -> None:
    db = _open(args, create=True)
    try:
        with db.tx() as conn:
            location_id = accounts.create_location(conn, args.name)
    finally:
        db.close()
    print(location_id)


def location_list(args: argparse.Namespace) -> None:
    db = _open(args)
    try:
        rows = db.all("SELECT id, name FROM locations ORDER BY created_at, id")
    finally:
        db.close()
    _table([["id", "name"], *([r["id"], r["name"]] for r in rows)])


def user_add(args: argparse.Namespace) -> None:
    email = (args.email or "").strip() or None
    if email and not is_email(email):
        raise Refused(f"{email} is not an email address.")
    phone = None
    if args.phone:
        phone = phones.normalize(args.phone)
        if phone is None:
            raise Refused(f"{args.phone} is not a phone number.")

    def add(conn: sqlite3.Connection) -> str:
        # An email names one user: the contacts import assigns rows by it.
        if (
            email
            and conn.execute(
                "SELECT 1 FROM users WHERE location_id = ? AND lower(email) = lower(?)",
                (args.location, email),
            ).fetchone()
        ):
            raise Refused(f"{email} is already a user's email in this location.")
        return accounts.add_user(
            conn,
            location_id=args.location,
            name=args.name,
            role=args.role,
            assigned_only=args.assigned_only,
            email=email,
            phone=phone,
        )

    _write(args, add)


def user_list(args: argparse.Namespace) -> None:
    db = _open(args)
    try:
        where, params = ("WHERE location_id = ?", [args.location]) if args.location else ("", [])
        if args.location and not db.one("SELECT 1 FROM locations WHERE id = ?", params):
            raise Refused(f"There is no location {args.location}.")
        rows = db.all(f"SELECT * FROM users {where} ORDER BY location_id, last_name, id", params)
    finally:
        db.close()
    roles = {contract: word for word, contract in accounts.ROLES.items()}
    table = [["id", "location", "name", "role", "sees", "email", "state"]]
    for r in rows:
        table.append(
            [
                r["id"],
                r["location_id"],
                f"{r['first_name']} {r['last_name']}".strip(),
                roles.get(r["role"], r["role"]),
                "assigned only" if r["assigned_data_only"] else "all",
                r["email"] or "",
                "disabled" if r["disabled"] else "active",
            ]
        )
    _table(table)


def user_disable(args: argparse.Namespace) -> None:
    _write(args, lambda conn: accounts.set_disabled(conn, args.user, True))


def user_enable(args: argparse.Namespace) -> None:
    _write(args, lambda conn: accounts.set_disabled(conn, args.user, False))


# --- tokens -------------------------------------------------------------------------------


def token_issue(args: argparse.Namespace) -> None:
    days = args.expires_in_days
    if days is not None and not 1 <= days <= 3650:
        raise Refused("--expires-in-days must be a number of days from 1 to 3650.")
    expires = clock.now() + timedelta(days=days) if days else None

    def issue(conn: sqlite3.Connection) -> str:
        _, token = accounts.issue_token(conn, args.user, name=args.name, expires_at=expires)
        return token  # printed once, here; only its hash was stored

    _write(args, issue)


def token_list(args: argparse.Namespace) -> None:
    db = _open(args)
    try:
        if db.one("SELECT 1 FROM users WHERE id = ?", (args.user,)) is None:
            raise Refused(f"There is no user {args.user}.")
        rows = accounts.tokens_of(db, args.user)
    finally:
        db.close()
    table = [["id", "name", "created", "last used", "expires", "revoked"]]
    for r in rows:
        table.append(
            [
                r["id"],
                r["name"],
                r["created_at"],
                r["last_used_at"] or "never",
                r["expires_at"] or "never",
                r["revoked_at"] or "no",
            ]
        )
    _table(table)


def token_revoke(args: argparse.Namespace) -> None:
    _write(args, lambda conn: accounts.revoke_token(conn, args.token_id))


# --- contacts -----------------------------------------------------------------------------


def contacts_import(args: argparse.Namespace) -> None:
    rows = read_rows(args.file)  # before opening the database: a bad file changes nothing
    db = _open(args)
    try:
        _location(db, args.location)
        report = import_contacts(db, args.location, rows, skip_refused=args.skip_refused)
    finally:
        db.close()
    for where, why in report.refused:
        print(f"{args.file.name}, {where}: {why}.", file=sys.stderr)
    if report.refused and not report.imported:
        good = report.rows - len(report.refused)
        hint = f" Fix them, or add --skip-refused to import the other {good}." if good else ""
        raise Refused(
            f"Nothing was imported: {len(report.refused)} of {report.rows} rows were refused"
            f" (listed above).{hint}"
        )
    skipped = f"; {_count(len(report.refused), 'refused row')} skipped" if report.refused else ""
    print(f"Imported {_count(len(report.imported), 'contact')}{skipped}.")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def contacts_assign(args: argparse.Namespace) -> None:
    db = _open(args)
    try:
        with db.tx() as conn:
            contact = conn.execute(
                "SELECT location_id FROM contacts WHERE id = ? AND deleted = 0", (args.contact,)
            ).fetchone()
            if contact is None:
                raise Refused(f"There is no contact {args.contact}.")
            _same_location(conn, args.user, contact["location_id"], "contact")
            conn.execute(
                "UPDATE contacts SET assigned_to = ?, date_updated = ? WHERE id = ?",
                (args.user, clock.iso(clock.now()), args.contact),
            )
            # Its event (and its conversations' new assignee) in the same transaction.
            changes.contact_updated(conn, db, args.contact, dnd_changed=False)
    finally:
        db.close()


def _same_location(conn: sqlite3.Connection, user_id: str, location_id: str, what: str) -> None:
    user = accounts.user_row(conn, user_id)
    if user["location_id"] != location_id:
        raise Refused(f"{user_id} works at another location than the {what}.")
    if user["disabled"]:
        raise Refused(f"{user_id} is disabled: enable the user first.")


# --- business numbers ---------------------------------------------------------------------


def numbers_list(args: argparse.Namespace) -> None:
    db = _open(args)
    try:
        _location(db, args.location)
        rows = db.all(
            "SELECT * FROM numbers WHERE location_id = ? ORDER BY phone_number", (args.location,)
        )
    finally:
        db.close()
    table = [["number", "name", "can", "linked user"]]
    for r in rows:
        can = [word for word in ("sms", "mms", "voice") if r[word]]
        if r["group_enabled"]:
            can.append("group")
        table.append([r["phone_number"], r["friendly_name"], ",".join(can), r["linked_user"] or ""])
    _table(table)


def numbers_add(args: argparse.Namespace) -> None:
    number = phones.normalize(args.number)
    if number is None:
        raise Refused(f"{args.number} is not a phone number.")

    def add(conn: sqlite3.Connection) -> None:
        if not accounts.location_exists(conn, args.location):
            raise Refused(f"There is no location {args.location}.")
        if conn.execute("SELECT 1 FROM numbers WHERE phone_number = ?", (number,)).fetchone():
            raise Refused(f"{number} is already one of the server's numbers.")
        group = phones.is_group_capable(number)
        conn.execute(
            "INSERT INTO numbers (phone_number, location_id, friendly_name, sms, mms, voice,"
            " group_enabled) VALUES (?, ?, ?, 1, 1, 1, ?)",
            (number, args.location, " ".join(args.name.split()) or number, int(group)),
        )

    _write(args, add)


def numbers_sync(args: argparse.Namespace) -> None:
    """The account's numbers, as the carrier lists them: new ones added, known ones' names
    and capabilities refreshed (their links kept); one the account no longer holds is
    named, not deleted, since conversations may still be sent from it."""
    try:
        held = asyncio.run(_account_numbers(args.carrier, os.environ))
    except CarrierError as error:
        raise Refused(error.message) from None
    db = _open(args)
    try:
        _location(db, args.location)
        with db.tx() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT phone_number FROM numbers WHERE location_id = ?", (args.location,)
                )
            }
            for number in held:
                _upsert_number(conn, args.location, number)
    finally:
        db.close()
    gone = sorted(known - {n.phone_number for n in held})
    added = len({n.phone_number for n in held} - known)
    print(f"{len(held)} numbers at {args.carrier.title()}: {added} new.")
    for number in gone:
        print(f"{number} is no longer in the {args.carrier.title()} account.", file=sys.stderr)


async def _account_numbers(kind: CarrierKind, env: Mapping[str, str]) -> list[BusinessNumber]:
    # The numbers call needs no public address: the server's own (webhooks) is not used.
    carrier = make_carrier(kind, env, LOCAL_URL)
    try:
        return await carrier.numbers()
    finally:
        await carrier.aclose()


def _upsert_number(conn: sqlite3.Connection, location_id: str, number: BusinessNumber) -> None:
    row = conn.execute(
        "SELECT location_id FROM numbers WHERE phone_number = ?", (number.phone_number,)
    ).fetchone()
    if row is not None and row["location_id"] != location_id:
        raise Refused(f"{number.phone_number} belongs to location {row['location_id']}.")
    values = (
        number.friendly_name or number.phone_number,
        int(number.sms),
        int(number.mms),
        int(number.voice),
        int(number.group_capable),
    )
    if row is None:
        conn.execute(
            "INSERT INTO numbers (phone_number, location_id, friendly_name, sms, mms, voice,"
            " group_enabled) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (number.phone_number, location_id, *values),
        )
    else:
        conn.execute(
            "UPDATE numbers SET friendly_name = ?, sms = ?, mms = ?, voice = ?, group_enabled = ?"
            " WHERE phone_number = ?",
            (*values, number.phone_number),
        )


def numbers_link(args: argparse.Namespace) -> None:
    number = phones.normalize(args.number) or args.number

    def link(conn: sqlite3.Connection) -> None:
        row = conn.execute(
            "SELECT location_id FROM numbers WHERE phone_number = ?", (number,)
        ).fetchone()
        if row is None:
            raise Refused(f"{args.number} is not one of the server's numbers (see numbers list).")
        _same_location(conn, args.user, row["location_id"], "number")
        conn.execute(
            "UPDATE numbers SET linked_user = ? WHERE phone_number = ?", (args.user, number)
        )

    _write(args, link)


# --- backups ------------------------------------------------------------------------------


def backup_run(args: argparse.Namespace) -> None:
    source = Path(args.db)
    if not source.exists():
        raise Refused(f"There is no database {source} to back up.")
    files = backups.backup(source, args.path, force=args.force)
    print(f"Backed up {source} to {args.path} with {files} attachment files.")


def restore_run(args: argparse.Namespace) -> None:
    files = backups.restore(args.path, Path(args.db), force=args.force)
    print(f"Restored {args.db} from {args.path} with {files} attachment files.")
