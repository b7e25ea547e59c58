"""Contacts from a business's old system: a CSV or vCard file, checked row by row.

Every row is checked before any is stored, and each refused row is reported with its
reason (no number, a number outside the US and Canada as ``services/phones.py`` judges
it, a number that another row or an existing contact has, a bad email, an unknown
assigned user, a DND value that is neither yes nor no). The import is all or nothing:
one refused row and nothing is stored, unless the caller chose to skip refused rows.
Either way what is stored is stored in one transaction, through the same
``people.create_contact`` the app's ``POST /contacts`` uses, so the rules (DND inherited
from a number that once opted out, one contact per number) are the same.

Files: UTF-8 (a BOM, as Excel writes "CSV UTF-8", is accepted), any line endings, at most
``MAX_BYTES``. A vCard is recognised by its extension (.vcf, .vcard) or by starting with
``BEGIN:VCARD``.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from services import phones
from services.server import people
from services.server.db import Database

# 5 MB holds about 60,000 rows of name, number, email and assignee (1,000 contacts take
# about 80 KB), more than a small business keeps; every row is held in memory and checked
# before one is stored, so a larger file is refused rather than read.
MAX_BYTES = 5 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
_YES = {"yes", "y", "true", "1", "active", "dnd", "x"}
_NO = {"", "no", "n", "false", "0", "inactive"}

# A header cell (lower case, letters and digits only) → the field it names.
_COLUMNS = {
    "firstname": "first",
    "first": "first",
    "givenname": "first",
    "lastname": "last",
    "last": "last",
    "surname": "last",
    "familyname": "last",
    "name": "name",
    "fullname": "name",
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilephone": "phone",
    "cell": "phone",
    "number": "phone",
    "email": "email",
    "emailaddress": "email",
    "assigneduser": "assigned",
    "assignedto": "assigned",
    "assigned": "assigned",
    "assignee": "assigned",
    "dnd": "dnd",
    "donotdisturb": "dnd",
}


class ImportRefused(Exception):
    """The whole file is refused (too big, not text, no phone column), in one sentence."""


@dataclass(frozen=True)
class Row:
    """One contact as the file gives it; ``where`` names it in the report ("row 3")."""

    where: str
    first: str = ""
    last: str = ""
    phone: str = ""
    email: str = ""
    assigned: str = ""
    dnd: str = ""


@dataclass
class Report:
    imported: list[str] = field(default_factory=list)  # contact ids
    refused: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    rows: int = 0


# --- reading ------------------------------------------------------------------------------


def read_rows(path: Path) -> list[Row]:
    try:
        size = path.stat().st_size
    except OSError:
        raise ImportRefused(f"There is no file {path}.") from None
    if size > MAX_BYTES:
        raise ImportRefused(
            f"{path.name} is {size / 1_048_576:.1f} MB; files of up to"
            f" {MAX_BYTES // 1_048_576} MB are imported, so split it and import each part."
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            f'{path.name} is not UTF-8 text: save it as "CSV UTF-8" (or vCard) and try again.'
        ) from None
    if path.suffix.lower() in (".vcf", ".vcard") or text.lstrip().upper().startswith("BEGIN:VCARD"):
        return list(_vcards(text))
    return list(_csv_rows(text, path.name))


def _csv_rows(text: str, name: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ImportRefused(f"{name} is empty.")
    fields = [_COLUMNS.get(re.sub(r"[^a-z0-9]", "", cell.lower())) for cell in header]
    if "phone" not in fields:
        raise ImportRefused(
            f"{name} has no phone column: its first line must name the columns, e.g."
            " first name,last name,phone,email,assigned user,dnd."
        )
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (a trailing one, rows Excel left empty)
        values: dict[str, str] = {}
        for key, cell in zip(fields, cells, strict=False):
            if key is not None and key not in values:
                values[key] = cell.strip()
        first, last = values.get("first", ""), values.get("last", "")
        if not (first or last) and values.get("name"):
            first, _, last = " ".join(values["name"].split()).partition(" ")
        yield Row(
            where=f"row {number}",
            first=first,
            last=last,
            phone=values.get("phone", ""),
            email=values.get("email", ""),
            assigned=values.get("assigned", ""),
            dnd=values.get("dnd", ""),
        )


def _vcards(text: str) -> Iterator[Row]:
    # Folded lines (RFC 6350 3.2) continue with a space or tab.
    lines = re.sub(r"\r?\n[ \t]", "", text).splitlines()
    card: dict[str, str] | None = None
    number = 0
    for line in lines:
        name, _, value = line.partition(":")
        prop, *params = name.split(";")
        prop = prop.split(".")[-1].upper()  # item1.TEL → TEL
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, number = {}, number + 1
        elif prop == "END" and card is not None:
            yield _card_row(f"card {number}", card)
            card = None
        elif card is not None and prop in ("N", "FN", "TEL", "EMAIL"):
            cell = prop + ("+cell" if prop == "TEL" and "CELL" in ";".join(params).upper() else "")
            card.setdefault(cell, value)


def _card_row(where: str, card: dict[str, str]) -> Row:
    last, first = "", ""
    if "N" in card:
        parts = [_unescape(p) for p in re.split(r"(?<!\\);", card["N"])]
        last, first = [*parts, "", ""][:2]
    if not (first or last) and card.get("FN"):
        first, _, last = " ".join(_unescape(card["FN"]).split()).partition(" ")
    phone = card.get("TEL+cell") or card.get("TEL", "")
    return Row(
        where=where,
        first=first.strip(),
        last=last.strip(),
        phone=phone.removeprefix("tel:").strip(),
        email=_unescape(card.get("EMAIL", "")).strip(),
    )


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


# --- checking and storing -----------------------------------------------------------------


def import_contacts(
    db: Database, location_id: str, rows: list[Row], *, skip_refused: bool = False
) -> Report:
    """Check every row, then store all of them (or, with ``skip_refused``, the good ones)
    in one transaction; nothing is stored when a row is refused and not skipped."""
    report = Report(rows=len(rows))
    with db.tx() as conn:  # checked and stored in one transaction: nobody adds one between
        users = _users(conn, location_id)
        good = _checked(conn, location_id, rows, users, report)
        if report.refused and not skip_refused:
            return report
        opted_out = people.opted_out_numbers(conn)
        for row, phone, assignee, dnd in good:
            report.imported.append(
                people.create_contact(
                    conn,
                    db,
                    people.NewContact(
                        location_id=location_id,
                        first_name=row.first,
                        last_name=row.last,
                        phone=phone,
                        email=row.email or None,
                        assigned_to=assignee,
                        # A number that once said STOP stays blocked whatever the file says.
                        dnd_status=opted_out.get(phone) or dnd or "inactive",
                    ),
                    checked=True,
                )
            )
    return report


def _checked(
    conn: sqlite3.Connection,
    location_id: str,
    rows: list[Row],
    users: dict[str, str],
    report: Report,
) -> list[tuple[Row, str, str | None, str | None]]:
    seen: dict[str, str] = {}  # number → the row that has it
    existing = _existing(conn, location_id)
    good: list[tuple[Row, str, str | None, str | None]] = []
    for row in rows:
        why, phone = _problem(row, users, seen, existing)
        if why is not None:
            report.refused.append((row.where, why))
            continue
        seen[phone] = row.where
        assignee = users[row.assigned.lower()] if row.assigned else None
        dnd = "active" if row.dnd.strip().lower() in _YES else None
        good.append((row, phone, assignee, dnd))
    return good


def _problem(
    row: Row, users: dict[str, str], seen: dict[str, str], existing: dict[str, str]
) -> tuple[str | None, str]:
    """Why the row can't be imported (None when it can), and its number in E.164."""
    if not row.phone:
        return "it has no phone number", ""
    parsed = phones.parse_phone(row.phone)  # once: phonenumbers is most of an import's time
    problem = parsed.problem
    if problem is not None or not isinstance(parsed, phones.ParsedPhone):
        message = (problem or phones.PhoneProblem.INVALID).message  # the wizard's words
        return f"{row.phone}: {message[:1].lower()}{message[1:]}", ""
    phone = parsed.e164
    shown = phones.format_display(phone)
    if phone in seen:
        return f"{shown} is also in {seen[phone]}", phone
    if phone in existing:
        return f"{shown} is already a contact ({existing[phone]})", phone
    if not (row.first or row.last):
        return "it has no name", phone
    if row.email and not is_email(row.email):
        return f"{row.email} is not an email address", phone
    if row.assigned and row.assigned.lower() not in users:
        return f"there is no user {row.assigned} in this location", phone
    if row.dnd.strip().lower() not in _YES | _NO:
        return f"DND must be yes or no, not {row.dnd}", phone
    return None, phone


def _existing(conn: sqlite3.Connection, location_id: str) -> dict[str, str]:
    """The location's contacts by number: who each is, for the report."""
    found: dict[str, str] = {}
    for row in conn.execute(
        "SELECT id, phone, first_name, last_name FROM contacts WHERE location_id = ?"
        " AND deleted = 0 AND phone IS NOT NULL",
        (location_id,),
    ):
        found[row["phone"]] = " ".join(filter(None, (row["first_name"], row["last_name"])))
        found[row["phone"]] = found[row["phone"]] or row["id"]
    return found


def is_email(text: str) -> bool:
    """An address as people write them: one @, a dot in the domain, no spaces."""
    return _EMAIL.match(text) is not None


def _users(conn: sqlite3.Connection, location_id: str) -> dict[str, str]:
    """Who a row may be assigned to: each enabled user of the location by id and by email."""
    found: dict[str, str] = {}
    for user in conn.execute(
        "SELECT id, email FROM users WHERE location_id = ? AND disabled = 0", (location_id,)
    ):
        found[user["id"].lower()] = user["id"]
        if user["email"]:
            found[user["email"].lower()] = user["id"]
    return found
