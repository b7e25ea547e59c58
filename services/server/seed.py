"""The demo location of the contract (``--seed demo``), loaded once into a new database.

One location (``loc_demo``) with an admin (token ``demo-admin``) and a staff
user limited to assigned data (token ``demo-staff``); three business numbers
(group-capable and linked to the staff user, group-capable but not theirs,
SMS-only); about 40 contacts with US and Canadian numbers (several assigned
to the staff user, two with SMS Do Not Disturb, one UK number, one without a
phone, two sharing a number); teammates with phones; and a handful of
conversations with history, photos and a PDF, one of them blocked by DND.
The 555-01XX numbers are fictional but valid to phonenumbers.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from services.server import accounts, clock, seed_media
from services.server.core import MessagingServer
from services.server.db import dumps
from services.server.writes import Member, NewMessage, insert_conversation, insert_message

LOCATION = "loc_demo"
ADMIN_ID = "usr_demo_admin"
STAFF_ID = "usr_demo_staff"
ADMIN_TOKEN = "demo-admin"
STAFF_TOKEN = "demo-staff"

STAFF_NUMBER = "+14155550100"  # group-capable, linked to the staff user
ADMIN_NUMBER = "+14155550101"  # group-capable, the staff user can't use it
SMS_ONLY_NUMBER = "+16045550100"  # SMS only, not group-capable

# (id, first, last, email, phone, role, assigned-data-only, token)
USERS = [
    (
        ADMIN_ID,
        "Dana",
        "Whitfield",
        "dana@harborview.example",
        "+14155550190",
        "admin",
        0,
        ADMIN_TOKEN,
    ),
    (STAFF_ID, "Sam", "Patel", "sam@harborview.example", "+14155550191", "user", 1, STAFF_TOKEN),
    (
        "usr_demo_jordan",
        "Jordan",
        "Lee",
        "jordan@harborview.example",
        "+16045550192",
        "user",
        0,
        None,
    ),
    (
        "usr_demo_priya",
        "Priya",
        "Nair",
        "priya@harborview.example",
        "+14165550193",
        "user",
        0,
        None,
    ),
    ("usr_demo_chris", "Chris", "Walker", "chris@harborview.example", None, "user", 0, None),
]

S, A = STAFF_ID, ADMIN_ID
# (first, last, phone, assigned to, dnd status)
CONTACTS: list[tuple[str, str, str | None, str | None, str]] = [
    ("Chloe", "Martin", "+14155550111", S, "inactive"),
    ("Marcus", "Johnson", "+14155550112", S, "inactive"),
    ("Hannah", "Nguyen", "+16045550113", S, "inactive"),
    ("Diego", "Alvarez", "+12125550114", S, "inactive"),
    ("Emily", "Tremblay", "+15145550115", S, "inactive"),
    ("Evan", "Brooks", "+12065550116", S, "active"),  # replied STOP in "Sunday league"
    ("Aisha", "Rahman", "+14165550117", S, "inactive"),
    ("Ryan", "O'Connor", "+13125550118", S, "inactive"),
    ("Megan", "Foster", "+16175550119", A, "permanent"),
    ("Oliver", "Bennett", "+442079460958", A, "inactive"),  # UK: can't join a group
    ("Grace", "Kim", None, A, "inactive"),  # no phone
    ("Tom", "Reyes", "+13125550177", A, "inactive"),  # shares a number with Linda
    ("Linda", "Reyes", "+13125550177", A, "inactive"),
    ("Noah", "Williams", "+14155550120", A, "inactive"),
    ("Olivia", "Brown", "+12125550121", A, "inactive"),
    ("Liam", "Davis", "+16175550122", A, "inactive"),
    ("Sophia", "Garcia", "+12065550123", A, "inactive"),
    ("Mason", "Miller", "+15125550124", None, "inactive"),
    ("Isabella", "Wilson", "+13035550125", None, "inactive"),
    ("Ethan", "Moore", "+14155550126", None, "inactive"),
    ("Ava", "Taylor", "+12125550127", None, "inactive"),
    ("Lucas", "Anderson", "+13125550128", None, "inactive"),
    ("Mia", "Thomas", "+16175550129", None, "inactive"),
    ("Benjamin", "Jackson", "+12065550130", None, "inactive"),
    ("Charlotte", "White", "+15125550131", None, "inactive"),
    ("Henry", "Harris", "+13035550132", None, "inactive"),
    ("Amelia", "Clark", "+14155550133", None, "inactive"),
    ("Jack", "Lewis", "+12125550134", None, "inactive"),
    ("Zoe", "Roy", "+15145550135", None, "inactive"),
    ("Gabriel", "Gagnon", "+15145550136", None, "inactive"),
    ("Léa", "Bouchard", "+15145550137", None, "inactive"),
    ("William", "Campbell", "+16045550138", None, "inactive"),
    ("Emma", "MacDonald", "+16045550139", None, "inactive"),
    ("Owen", "Singh", "+14165550140", None, "inactive"),
    ("Ella", "Chen", "+14165550141", None, "inactive"),
    ("Nathan", "Wong", "+14035550142", None, "inactive"),
    ("Abigail", "Thompson", "+14035550143", None, "inactive"),
    ("Daniel", "Scott", "+16135550144", None, "inactive"),
    ("Madison", "Young", "+16135550145", None, "inactive"),
    ("Caleb", "Hall", "+15125550146", None, "inactive"),
]


def contact_id(first: str, last: str) -> str:
    slug = "".join(
        ch for ch in f"{first}_{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "_")
    )
    return f"ct_demo_{slug}"


def apply_seed(server: MessagingServer, name: str) -> bool:
    """Load the named seed into an empty database; a database with users is left alone."""
    if name != "demo":
        raise ValueError(f"unknown seed {name!r}; the only seed is 'demo'")
    if server.db.scalar("SELECT COUNT(*) FROM users"):
        return False
    with server.db.tx() as conn:
        _Seeder(server, conn).run()
    return True


@dataclass(frozen=True)
class _File:
    path: str
    size: int


class _Seeder:
    def __init__(self, server: MessagingServer, conn: sqlite3.Connection) -> None:
        self.server = server
        self.conn = conn
        self.now = clock.now()
        self.phones = {contact_id(c[0], c[1]): c[2] for c in CONTACTS}
        self.names = {contact_id(c[0], c[1]): f"{c[0]} {c[1]}" for c in CONTACTS}

    def run(self) -> None:
        self._users()
        self._numbers()
        self._contacts()
        self._conversations()

    def _users(self) -> None:
        accounts.create_location(self.conn, "Harbor View Dental", LOCATION)
        for user_id, first, last, email, phone, role, assigned_only, token in USERS:
            self.conn.execute(
                "INSERT INTO users (id, first_name, last_name, email, phone, role,"
                " assigned_data_only, location_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, first, last, email, phone, role, assigned_only, LOCATION),
            )
            if token is not None:
                # The demo's well-known tokens, kept (like every token) as their hash only.
                accounts.issue_token(self.conn, user_id, name="demo", token=token)

    def _numbers(self) -> None:
        numbers = [
            (STAFF_NUMBER, "Front desk", 1, 1, 1, 1, STAFF_ID, [STAFF_ID, ADMIN_ID]),
            (ADMIN_NUMBER, "Sales", 1, 1, 1, 1, ADMIN_ID, []),
            (SMS_ONLY_NUMBER, "Vancouver alerts (SMS only)", 1, 0, 0, 0, None, [STAFF_ID]),
        ]
        for phone, friendly, sms, mms, voice, group, linked, ring in numbers:
            self.conn.execute(
                "INSERT INTO numbers (phone_number, location_id, friendly_name, sms, mms, voice,"
                " group_enabled, linked_user, linked_ring_all) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (phone, LOCATION, friendly, sms, mms, voice, group, linked, dumps(ring)),
            )

    def _contacts(self) -> None:
        for index, (first, last, phone, assigned, dnd) in enumerate(CONTACTS):
            email_name = "".join(
                ch for ch in f"{first}.{last}".lower() if ch.isascii() and ch != "'"
            )
            self.conn.execute(
                "INSERT INTO contacts (id, location_id, first_name, last_name, phone, email,"
                " assigned_to, dnd_status, tags, date_updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    contact_id(first, last),
                    LOCATION,
                    first,
                    last,
                    phone,
                    f"{email_name}@example.com",
                    assigned,
                    dnd,
                    dumps(["customer"] if index % 3 else ["customer", "vip"]),
                    clock.iso(self.now - timedelta(days=30 - index % 20)),
                ),
            )

    # --- conversations ---------------------------------------------------------------------

    def _group(
        self, name: str | None, from_number: str, ids: list[str], days_ago: float, creator: str
    ) -> tuple[str, dict[str, str]]:
        members = [Member(self.names[i], self.phones[i] or "", contact_id=i) for i in ids]
        cid = insert_conversation(
            self.conn,
            self.server.db,
            location_id=LOCATION,
            type_="TYPE_GROUP_SMS",
            from_number=from_number,
            members=members,
            when=self.at(days_ago),
            kind="contacts",
            name=name,
            created_by=creator,
        )
        return cid, self._participants(cid)

    def _participants(self, conversation_id: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT id, contact_id, user_id FROM participants WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchall()
        return {row["contact_id"] or row["user_id"]: row["id"] for row in rows}

    def at(self, days_ago: float) -> datetime:
        return self.now - timedelta(days=days_ago)

    def out(
        self,
        cid: str,
        body: str,
        days_ago: float,
        user: str,
        files: tuple[_File, ...] = (),
    ) -> None:
        recipients = [
            (row["id"], row["phone"])
            for row in self.conn.execute(
                "SELECT id, phone FROM participants WHERE conversation_id = ? ORDER BY position",
                (cid,),
            )
        ]
        insert_message(
            self.conn,
            NewMessage(
                conversation_id=cid,
                direction="outbound",
                body=body,
                when=self.at(days_ago),
                status="delivered",
                attachments=tuple(f.path for f in files),
                attachment_bytes=sum(f.size for f in files),
                user_id=user,
            ),
            recipients=recipients,
            recipient_status="delivered",
        )

    def inbound(
        self, cid: str, who: str, body: str, days_ago: float, files: tuple[_File, ...] = ()
    ) -> None:
        participant = self._participants(cid)[who]
        insert_message(
            self.conn,
            NewMessage(
                conversation_id=cid,
                direction="inbound",
                body=body,
                when=self.at(days_ago),
                status="delivered",
                attachments=tuple(f.path for f in files),
                attachment_bytes=sum(f.size for f in files),
                participant_id=participant,
                from_phone=self.phones.get(who) or _user_phone(who),
            ),
        )

    def file(self, name: str, mime: str, data: bytes, conversation_id: str) -> _File:
        file_id = secrets.token_urlsafe(18)
        folder = self.server.files_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{file_id}.bin").write_bytes(data)
        self.conn.execute(
            "INSERT INTO attachments (id, name, mime, size, path, conversation_id, user_id,"
            " date_added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                file_id,
                name,
                mime,
                len(data),
                f"{file_id}.bin",
                conversation_id,
                None,
                clock.iso(self.now),
            ),
        )
        return _File(f"/attachments/{file_id}/{quote(name)}", len(data))

    def _conversations(self) -> None:
        self._weekend_crew()
        self._open_house()
        self._sunday_league()
        self._front_desk_team()
        self._one_to_one()

    def _weekend_crew(self) -> None:
        ids = [
            contact_id("Chloe", "Martin"),
            contact_id("Marcus", "Johnson"),
            contact_id("Hannah", "Nguyen"),
            contact_id("Diego", "Alvarez"),
        ]
        cid, _ = self._group("Weekend crew", STAFF_NUMBER, ids, 6, STAFF_ID)
        self.out(cid, "Hi all! Saturday's cleanup starts at 9. Coffee's on us ☕", 5.9, STAFF_ID)
        self.inbound(cid, ids[0], "I'll be there. Can I bring my nephew?", 5.8)
        self.inbound(cid, ids[2], "Count me in 👍", 5.7)
        self.out(cid, "Of course, the more the merrier.", 5.6, STAFF_ID)
        photo = self.file("lake-sunset.jpg", "image/jpeg", seed_media.sunset_jpeg(), cid)
        self.inbound(cid, ids[1], "Here's the spot from last year", 2.1, (photo,))
        self.inbound(cid, ids[3], "Looks great. See you Saturday!", 0.2)
        self.conn.execute("UPDATE conversations SET unread_count = 2 WHERE id = ?", (cid,))

    def _open_house(self) -> None:
        ids = [
            contact_id("Noah", "Williams"),
            contact_id("Olivia", "Brown"),
            contact_id("Liam", "Davis"),
            contact_id("Zoe", "Roy"),
            contact_id("William", "Campbell"),
        ]
        cid, _ = self._group("Open house – 12 Bay St", ADMIN_NUMBER, ids, 4, ADMIN_ID)
        flyer = self.file("open-house-flyer.pdf", "application/pdf", seed_media.flyer_pdf(), cid)
        plan = self.file("floor-plan.png", "image/png", seed_media.floor_plan_png(), cid)
        self.out(
            cid,
            "Thanks for your interest in 12 Bay St! The flyer is attached.",
            3.9,
            ADMIN_ID,
            (flyer,),
        )
        self.inbound(cid, ids[1], "Is there parking nearby?", 3.5)
        self.out(
            cid,
            "Yes, street parking and a lot on Pine Ave. Here's the floor plan.",
            3.4,
            ADMIN_ID,
            (plan,),
        )
        self.inbound(cid, ids[3], "Merci! We'll come by around 11.", 1.0)
        self.conn.execute("UPDATE conversations SET unread_count = 1 WHERE id = ?", (cid,))

    def _sunday_league(self) -> None:
        ids = [
            contact_id("Evan", "Brooks"),
            contact_id("Aisha", "Rahman"),
            contact_id("Ryan", "O'Connor"),
            contact_id("Emily", "Tremblay"),
        ]
        cid, _ = self._group("Sunday league", STAFF_NUMBER, ids, 9, STAFF_ID)
        self.out(cid, "Reminder: the field moved to Central Park, pitch 3.", 8.9, STAFF_ID)
        self.inbound(cid, ids[1], "Got it, thanks Sam!", 8.8)
        self.out(cid, "Jerseys arrive Thursday.", 3.0, STAFF_ID)
        # Evan opted out: his DND (seeded active) blocks this group for everyone.
        self.inbound(cid, ids[0], "STOP", 2.9)

    def _front_desk_team(self) -> None:
        mates = [STAFF_ID, "usr_demo_jordan", "usr_demo_priya"]
        users = {row[0]: row for row in USERS}
        members = [
            Member(f"{users[m][1]} {users[m][2]}", users[m][4] or "", user_id=m) for m in mates
        ]
        cid = insert_conversation(
            self.conn,
            self.server.db,
            location_id=LOCATION,
            type_="TYPE_GROUP_SMS",
            from_number=ADMIN_NUMBER,
            members=members,
            when=self.at(2),
            kind="teammates",
            name="Front desk team",
            created_by=ADMIN_ID,
        )
        self.out(cid, "Team lunch Friday at noon, my treat.", 1.9, ADMIN_ID)
        self.inbound(cid, "usr_demo_jordan", "Yes please!", 1.8)

    def _one_to_one(self) -> None:
        who = contact_id("Chloe", "Martin")
        cid = insert_conversation(
            self.conn,
            self.server.db,
            location_id=LOCATION,
            type_="TYPE_PHONE",
            from_number=STAFF_NUMBER,
            members=[Member(self.names[who], self.phones[who] or "", contact_id=who)],
            when=self.at(12),
            contact_id=who,
        )
        self.inbound(cid, who, "Hi, is the studio open on Sunday?", 11.9)
        self.out(cid, "Hi Chloe, yes from 10 to 4.", 11.8, STAFF_ID)


def _user_phone(user_id: str) -> str | None:
    for row in USERS:
        if row[0] == user_id:
            return row[4]
    return None
