"""`admin contacts import`: CSV and vCard, every refused row reported, nothing half-imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.server import cli
from services.server.db import Database


def admin(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["admin", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def business(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, str]:
    """A location with one staff user (sam@harbor.example): (db, location id, user id)."""
    db = tmp_path / "s.db"
    _, location, _ = admin(db, capsys, "location", "create", "--name", "Harbor View")
    _, user, _ = admin(
        db,
        capsys,
        *("user", "add", "--location", location.strip(), "--name", "Sam Patel"),
        *("--role", "staff", "--assigned-only", "--email", "Sam@Harbor.example"),
    )
    return db, location.strip(), user.strip()


def contacts(db: Path) -> list[dict[str, object]]:
    store = Database(db)
    try:
        rows = store.all("SELECT * FROM contacts ORDER BY phone")
    finally:
        store.close()
    return [dict(r) for r in rows]


def test_a_csv_from_excel_with_a_bom_and_windows_line_endings_is_imported(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, user = business
    lines = [
        "First Name,Last Name,Phone,Email,Assigned User,DND",
        f'Ana,"Lopez, Jr.",(415) 555-0130,ana@example.com,{user},',
        "Ben,Ortiz,+1 604 555 0131,,sam@harbor.example,yes",
        "Cleo,,415.555.0132,,,no",
        ",,,,,",  # an empty row Excel left: not a contact, not refused
    ]
    file = tmp_path / "contacts.csv"
    file.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    code, out, err = admin(db, capsys, "contacts", "import", "--location", location, str(file))
    assert (code, err) == (0, "")
    assert out == "Imported 3 contacts.\n"
    stored = {c["phone"]: c for c in contacts(db)}
    assert set(stored) == {"+14155550130", "+16045550131", "+14155550132"}
    assert stored["+14155550130"]["last_name"] == "Lopez, Jr."
    assert stored["+14155550130"]["assigned_to"] == user
    assert stored["+16045550131"]["assigned_to"] == user  # by email, any case
    assert stored["+16045550131"]["dnd_status"] == "active"
    assert stored["+14155550132"]["dnd_status"] == "inactive"
    assert stored["+14155550132"]["assigned_to"] is None


BAD = [
    "first name,last name,phone,email,assigned user,dnd",
    "Good,One,+1 415 555 0140,,,",  # row 2
    "Uma,UK,+44 20 7946 0958,,,",  # row 3: outside US/Canada
    "Nora,Number,,,,",  # row 4: no number
    "Dup,Licate,(415) 555-0140,,,",  # row 5: same number as row 2
    "Bad,Email,+1 415 555 0141,not-an-email,,",  # row 6
    "Who,Knows,+1 415 555 0142,,usr_nobody,",  # row 7
    "Toll,Free,+1 800 555 0143,,,",  # row 8
    "Old,Friend,+1 415 555 0150,,,",  # row 9: already a contact
    "Good,Two,+1 415 555 0144,,,",  # row 10
]


def test_every_refused_row_is_reported_and_nothing_is_imported(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, _ = business
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("name,phone\nOld Friend,+14155550150\n", encoding="utf-8")
    assert admin(db, capsys, "contacts", "import", "--location", location, str(earlier))[0] == 0
    file = tmp_path / "bad.csv"
    file.write_text("\n".join(BAD) + "\n", encoding="utf-8")

    code, out, err = admin(db, capsys, "contacts", "import", "--location", location, str(file))

    assert code == 1 and out == ""
    report = err.splitlines()
    assert report == [
        "bad.csv, row 3: +44 20 7946 0958: number outside US/Canada.",
        "bad.csv, row 4: it has no phone number.",
        "bad.csv, row 5: (415) 555-0140 is also in row 2.",
        "bad.csv, row 6: not-an-email is not an email address.",
        "bad.csv, row 7: there is no user usr_nobody in this location.",
        "bad.csv, row 8: +1 800 555 0143: toll-free numbers can't join a group text.",
        "bad.csv, row 9: (415) 555-0150 is already a contact (Old Friend).",
        "Nothing was imported: 7 of 9 rows were refused (listed above). Fix them, or add"
        " --skip-refused to import the other 2.",
    ]
    assert [c["phone"] for c in contacts(db)] == ["+14155550150"]

    code, out, err = admin(
        db, capsys, "contacts", "import", "--location", location, str(file), "--skip-refused"
    )
    assert code == 0
    assert out == "Imported 2 contacts; 7 refused rows skipped.\n"
    assert len(err.splitlines()) == 7
    assert [c["phone"] for c in contacts(db)] == ["+14155550140", "+14155550144", "+14155550150"]


def test_a_file_over_the_size_limit_is_refused_in_a_sentence(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, _ = business
    file = tmp_path / "huge.csv"
    row = "Pat,Example,+1 415 555 0160,pat@example.com,,\n"
    with file.open("w", encoding="utf-8") as out:
        out.write("first name,last name,phone,email,assigned user,dnd\n")
        out.write(row * (10 * 1024 * 1024 // len(row) + 1))  # 10 MB
    assert file.stat().st_size > 10 * 1024 * 1024
    code, out, err = admin(db, capsys, "contacts", "import", "--location", location, str(file))
    assert code == 1 and out == ""
    assert err == (
        "huge.csv is 10.0 MB; files of up to 5 MB are imported, so split it and import each part.\n"
    )
    assert contacts(db) == []


def test_a_file_that_is_not_utf8_or_has_no_phone_column_is_refused(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, _ = business
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("name,phone\nJosé,+14155550170\n".encode("latin-1"))
    code, _, err = admin(db, capsys, "contacts", "import", "--location", location, str(latin))
    assert code == 1 and "is not UTF-8 text" in err and len(err.splitlines()) == 1
    no_phone = tmp_path / "names.csv"
    no_phone.write_text("name,email\nJo,jo@example.com\n", encoding="utf-8")
    code, _, err = admin(db, capsys, "contacts", "import", "--location", location, str(no_phone))
    assert code == 1 and err.startswith("names.csv has no phone column")
    code, _, err = admin(db, capsys, "contacts", "import", "--location", "loc_x", str(no_phone))
    assert code == 1
    code, _, err = admin(db, capsys, "contacts", "import", "--location", location, "nowhere.csv")
    assert (code, err) == (1, "There is no file nowhere.csv.\n")
    assert contacts(db) == []


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Reyes;Maya;;;\r\nFN:Maya Reyes\r\n"
    "TEL;TYPE=HOME:+1 415 555 0180\r\nTEL;TYPE=CELL:+1 415 555 0181\r\n"
    "EMAIL;TYPE=INTERNET:maya@example.com\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Theo\r\n  Park\r\nTEL;VALUE=uri:tel:+1-604-555-0182\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Far Away\r\nTEL:+44 20 7946 0959\r\nEND:VCARD\r\n"
)


def test_vcards_are_imported_by_extension_or_content(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, _ = business
    file = tmp_path / "phone-export.txt"  # no .vcf: recognised by its first line
    file.write_text(VCARDS, encoding="utf-8")
    code, out, err = admin(
        db, capsys, "contacts", "import", "--location", location, str(file), "--skip-refused"
    )
    assert (code, out) == (0, "Imported 2 contacts; 1 refused row skipped.\n"), err
    assert err == "phone-export.txt, card 3: +44 20 7946 0959: number outside US/Canada.\n"
    stored = {c["phone"]: c for c in contacts(db)}
    assert set(stored) == {"+14155550181", "+16045550182"}  # the mobile, not the home number
    assert (stored["+14155550181"]["first_name"], stored["+14155550181"]["last_name"]) == (
        "Maya",
        "Reyes",
    )
    assert stored["+14155550181"]["email"] == "maya@example.com"
    assert stored["+16045550182"]["first_name"] == "Theo"
    assert stored["+16045550182"]["last_name"] == "Park"


def test_a_number_that_opted_out_stays_blocked_when_imported_again(
    business: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, location, _ = business
    first = tmp_path / "first.csv"
    first.write_text("name,phone,dnd\nIvy Stone,+14155550190,yes\n", encoding="utf-8")
    assert admin(db, capsys, "contacts", "import", "--location", location, str(first))[0] == 0
    store = Database(db)
    with store.tx() as conn:  # the contact is deleted; her STOP must not be forgotten
        conn.execute("UPDATE contacts SET deleted = 1")
    store.close()
    again = tmp_path / "again.csv"
    again.write_text("name,phone,dnd\nIvy Stone,(415) 555-0190,no\n", encoding="utf-8")
    code, out, err = admin(db, capsys, "contacts", "import", "--location", location, str(again))
    assert (code, out, err) == (0, "Imported 1 contact.\n", "")
    live = [c for c in contacts(db) if not c["deleted"]]
    assert [(c["phone"], c["dnd_status"]) for c in live] == [("+14155550190", "active")]
