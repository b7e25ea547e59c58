"""The demo location is what the contract describes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from services import phones, rules
from services.models import Contact, DndStatus
from services.server import seed
from services.server.core import MessagingServer


def contacts(sandbox: MessagingServer) -> list[Contact]:
    rows = sandbox.db.all("SELECT id FROM contacts")
    found = [sandbox.contact(row["id"]) for row in rows]
    return [c for c in found if c is not None]


def test_demo_contacts_match_the_contract(tmp_path: Path) -> None:
    sandbox = MessagingServer(tmp_path / "d.db")
    assert seed.apply_seed(sandbox, "demo")
    people = contacts(sandbox)
    assert 35 <= len(people) <= 45
    staff = sandbox.user_for_token(seed.STAFF_TOKEN)
    assert staff is not None and staff.assigned_data_only
    assert len(rules.visible_contacts(people, staff)) >= 5
    assert sum(c.dnd_status in (DndStatus.ACTIVE, DndStatus.PERMANENT) for c in people) == 2
    parsed = [phones.parse_phone(c.phone) for c in people if c.phone]
    regions = Counter(p.region for p in parsed if isinstance(p, phones.ParsedPhone))
    assert regions["GB"] == 1 and regions["US"] > 10 and regions["CA"] > 5
    assert sum(c.phone is None for c in people) == 1
    shared = Counter(c.phone for c in people if c.phone)
    assert [n for n, k in shared.items() if k > 1] == ["+13125550177"]
    # Every US/Canadian demo number is one a group can actually use.
    assert all(
        phones.is_group_capable(c.phone)
        for c in people
        if c.phone and not c.phone.startswith("+44")
    )


def test_demo_numbers_give_staff_exactly_one_group_number(tmp_path: Path) -> None:
    sandbox = MessagingServer(tmp_path / "d.db")
    seed.apply_seed(sandbox, "demo")
    staff = sandbox.user_for_token(seed.STAFF_TOKEN)
    admin = sandbox.user_for_token(seed.ADMIN_TOKEN)
    assert staff is not None and admin is not None
    numbers = sandbox.numbers(seed.LOCATION)
    assert [n.phone_number for n in rules.usable_from_numbers(numbers, staff)] == [
        seed.STAFF_NUMBER
    ]
    assert {n.phone_number for n in rules.usable_from_numbers(numbers, admin)} == {
        seed.STAFF_NUMBER,
        seed.ADMIN_NUMBER,
    }
    teammates = sandbox.users(seed.LOCATION)
    assert sum(1 for u in teammates if u.phone) >= 3


def test_seed_runs_once(tmp_path: Path) -> None:
    sandbox = MessagingServer(tmp_path / "d.db")
    assert seed.apply_seed(sandbox, "demo")
    assert not seed.apply_seed(MessagingServer(tmp_path / "d.db"), "demo")
    assert sandbox.db.scalar("SELECT COUNT(*) FROM users") == len(seed.USERS)


def test_seeded_media_files_are_real(tmp_path: Path) -> None:
    sandbox = MessagingServer(tmp_path / "d.db")
    seed.apply_seed(sandbox, "demo")
    rows = sandbox.db.all("SELECT * FROM attachments")
    kinds = {row["mime"] for row in rows}
    assert {"image/jpeg", "image/png", "application/pdf"} <= kinds
    for row in rows:
        data = (sandbox.files_dir / row["path"]).read_bytes()
        assert len(data) == row["size"]
        magic = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "application/pdf": b"%PDF"}
        assert data.startswith(magic[row["mime"]])


def test_one_demo_group_is_blocked(tmp_path: Path) -> None:
    sandbox = MessagingServer(tmp_path / "d.db")
    seed.apply_seed(sandbox, "demo")
    ids = [row["id"] for row in sandbox.db.all("SELECT id FROM conversations")]
    convs = [sandbox.conversation(i) for i in ids]
    assert [c.name for c in convs if c is not None and c.blocked] == ["Sunday league"]
    assert len(convs) >= 4
