"""The server's state shared by every endpoint: storage, events, carrier, limits."""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from services import limits
from services.models import (
    Contact,
    Conversation,
    GroupLimits,
    Participant,
    PhoneNumber,
    User,
)
from services.server import accounts, clock, views
from services.server.auth import Auth, ChangeWatch
from services.server.carrier_queue import CarrierQueue
from services.server.carriers.base import Carrier, CarrierLimits, DeliveryUpdate, InboundMessage
from services.server.carriers.simulated import SimulatedCarrier, SimulatedSettings
from services.server.contact_search import ContactSearch
from services.server.db import Database, Row
from services.server.events import KEEP_IN_MEMORY, EventHub
from services.server.inbox import CarrierInbox
from services.server.push.base import PushService
from services.server.push_queue import PushQueue
from services.server.ratelimit import RateLimiter
from services.server.visibility import Visibility

if TYPE_CHECKING:  # Redis is loaded only by a server that has one
    from services.server.broker import RedisBroker

ATTACHMENT_PREFIX = "/attachments/"
# Conversations whose people are kept (a few KB each); past it the memory starts afresh.
PEOPLE_KEPT = 5000
# A conversation's columns that each message changes (writes.insert_message).
ACTIVITY = ("last_message_body", "last_message_date", "last_message_direction", "unread_count")
# Where a carrier fetches our attachments when the server was given no public URL
# (the simulated carrier fetches nothing).
LOCAL_URL = "http://127.0.0.1"


class MessagingServer:
    """One backend instance over one database file."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        rate_limit: int = limits.RATE_LIMIT_REQUESTS,
        latency_ms: int = 300,
        fail_rate: float = 0.0,
        carrier: Carrier | None = None,
        public_url: str | None = None,
        push: PushService | None = None,
        keep_events: int = KEEP_IN_MEMORY,
    ) -> None:
        self.db = Database(db_path)
        self.files_dir = _files_dir(db_path)
        self.public_url = (public_url or LOCAL_URL).rstrip("/")
        self.hub = EventHub(self.db, keep_events)
        self.contact_search = ContactSearch(self.db)
        self.limiter = RateLimiter(rate_limit, limits.RATE_LIMIT_WINDOW_MS)
        self.auth = Auth(self.db)
        self.watch = ChangeWatch(self.db, self.changed_elsewhere)
        # Other server processes on this database, heard through Redis (None: only this one).
        self.broker: RedisBroker | None = None
        self.inbox = CarrierInbox(self)
        self.queue = CarrierQueue(self)
        # The push service's door; None (the demo, the tests' default): no push at all.
        self.push = push
        self.push_queue = PushQueue(self)
        # The simulated carrier unless a real one is given; only it has /sandbox routes.
        self.simulated: SimulatedCarrier | None = None
        if carrier is None:
            settings = SimulatedSettings(latency_ms=latency_ms, fail_rate=fail_rate)
            self.simulated = SimulatedCarrier(self.db, settings, self.carrier_events)
            carrier = self.simulated
        self.carrier: Carrier = carrier
        self._live = False
        self.carrier_health: tuple[float, str] | None = None  # (when, "ok" or why not)
        self._visibility: dict[str, Visibility] = {}
        # A location's numbers as models: every send checks them (issue 19). Dropped when
        # a row changes here (the trigger) or in another process (changed_elsewhere).
        self._numbers: dict[tuple[str, CarrierLimits], list[PhoneNumber]] = {}
        self.db.watch("numbers", self._numbers.clear)
        # Who each token signs in, as a model: every request asks. Dropped the same ways.
        self._users: dict[str, User] = {}
        self.db.watch("users", self._users.clear)
        # A conversation's people as wire objects and as (frozen) models: they and their
        # contacts change far less often than its messages come, and every send reads
        # them (issue 19).
        self._people: dict[str, tuple[list[dict[str, Any]], list[Participant]]] = {}
        # A conversation as a send reads it, its activity left out: a message changes
        # that, and only that (see ``conversation_to_send``).
        self._to_send: dict[str, Conversation] = {}
        self.db.watch("conversations", self._to_send.clear, ignoring=ACTIVITY)
        for table in ("participants", "contacts", "users"):
            self.db.watch(table, self._people.clear)
            self.db.watch(table, self._to_send.clear)
        # Who may see what moves with contacts (assigned, deleted): a change made here
        # moves the access epoch as it is written, so a route's remembered answer needs no
        # look at the event log first (the log's events still move it for other processes').
        self.db.watch("contacts", self.hub.access_changed)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; event readers are woken once it has committed."""
        with self.db.tx() as conn:
            yield conn
        self.hub.wake()
        if self.broker is not None:
            self.broker.committed()

    def resume(self) -> None:
        """Start the carrier's queue and inbox and pick up what a previous run left
        unfinished (lazily, on the first request: ASGITransport runs no lifespan)."""
        if self._live:
            return
        self._live = True
        self.queue.start()
        if self.push is not None:
            self.push_queue.start()
        self.inbox.start()
        self.watch.start()
        if self.simulated is not None:
            self.simulated.resume()

    def visibility(self, user: User) -> Visibility:
        """The remembered answers of who may see what, for this user (shared by their
        streams); a user whose permissions changed gets a fresh one."""
        judge = self._visibility.get(user.id)
        # Identity first: comparing two pydantic models field by field costs every stream.
        if judge is None or (judge.user is not user and judge.user != user):
            judge = self._visibility[user.id] = Visibility(self, user)
        return judge

    async def join(self, broker: RedisBroker) -> None:
        """Hear of the events other server processes write, and tell them of ours."""
        await broker.start(self.hub.wake)
        self.broker = broker

    def changed_elsewhere(self) -> None:
        """Another process (the admin command) changed the database: drop what was cached
        from it, close streams whose token was revoked, and let readers see new events."""
        self.auth.invalidate()
        self.contact_search.invalidate()
        self._numbers.clear()
        self._users.clear()
        self._people.clear()
        self._to_send.clear()
        self.hub.access_changed()
        self.hub.wake()

    def carrier_events(self, events: Sequence[InboundMessage | DeliveryUpdate]) -> None:
        """What the carrier reported: kept in the inbox and applied there, each once."""
        self.inbox.store(self.carrier.name, events)

    async def aclose(self, drain_s: float = 0.0, *, final: bool = False) -> None:
        """Stop the queue (after letting sends at the carrier finish, up to ``drain_s``),
        the inbox and the simulation; the next request starts them again. ``final``
        (the server is shutting down) also closes a real carrier's connections."""
        self._live = False
        await self.queue.aclose(drain_s)
        await self.push_queue.aclose()
        await self.inbox.aclose()
        await self.watch.aclose()
        if final and self.broker is not None:
            await self.broker.aclose()
            self.broker = None
        if final or self.simulated is not None:
            await self.carrier.aclose()
        if final and self.push is not None:
            await self.push.aclose()

    def group_limits(self) -> GroupLimits:
        """The carrier's limits in the contract's terms (every number shares its carrier)."""
        carrier = self.carrier.limits
        return GroupLimits(
            max_participants=carrier.max_participants,
            max_media_bytes=carrier.max_media_bytes,
            max_media_files=carrier.max_media_files,
            max_body_chars=carrier.max_body_chars,
            why=carrier.why,
        )

    # --- attachments ----------------------------------------------------------------------

    def keep_file(self, name: str, mime: str, content: bytes) -> str:
        """Store bytes we received (an inbound picture) as an attachment; its URL path."""
        from services.server.uploads import safe_name  # uploads imports the web layer

        file_id = secrets.token_urlsafe(18)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        (self.files_dir / f"{file_id}.bin").write_bytes(content)
        clean = safe_name(name)
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO attachments (id, name, mime, size, path, date_added)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (file_id, clean, mime, len(content), f"{file_id}.bin", clock.iso(clock.now())),
            )
        return f"{ATTACHMENT_PREFIX}{file_id}/{quote(clean)}"

    def attachment_for(self, url: str) -> Row | None:
        """The stored file behind one of our attachment URLs (absolute or a path)."""
        file_id = attachment_id(url)
        if file_id is None:
            return None
        return self.db.one("SELECT * FROM attachments WHERE id = ?", (file_id,))

    def public_url_for(self, path: str) -> str:
        return self.public_url + urlsplit(path).path

    # --- lookups shared by the endpoints ------------------------------------------------

    def user_for_token(self, token: str) -> User | None:
        found = self.signed_in(token)
        return None if found is None else found[0]

    def signed_in(self, token: str) -> tuple[User, accounts.SignedIn] | None:
        """Who the token signs in (and the token's record), or None."""
        signed = self.auth.sign_in(token)
        if signed is None:
            return None
        user = self._users.get(signed.user_id)
        if user is None:
            row = self.db.one("SELECT * FROM users WHERE id = ?", (signed.user_id,))
            if row is None:
                return None
            user = self._users[signed.user_id] = User.model_validate(views.user(row))
        return user, signed

    def users(self, location_id: str) -> list[User]:
        rows = self.db.all(
            "SELECT * FROM users WHERE location_id = ? AND disabled = 0"
            " ORDER BY first_name, last_name",
            (location_id,),
        )
        return [User.model_validate(views.user(row)) for row in rows]

    def numbers(self, location_id: str) -> list[PhoneNumber]:
        limits = self.carrier.limits
        found = self._numbers.get((location_id, limits))
        if found is None:
            rows = self.db.all(
                "SELECT * FROM numbers WHERE location_id = ? ORDER BY phone_number",
                (location_id,),
            )
            found = [PhoneNumber.model_validate(views.number(row, limits)) for row in rows]
            self._numbers[(location_id, limits)] = found
        return list(found)

    def contact(self, contact_id: str, *, include_deleted: bool = False) -> Contact | None:
        row = self.db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        if row is None or (row["deleted"] and not include_deleted):
            return None
        return Contact.model_validate(views.contact(row))

    def conversation(self, conversation_id: str) -> Conversation | None:
        row = self.db.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if row is None:
            return None
        people = self._people.get(conversation_id)
        if people is None:
            if len(self._people) >= PEOPLE_KEPT:
                self._people.clear()
            wire = views.participants(self.db, conversation_id)
            models = [Participant.model_validate(p) for p in wire]
            people = self._people[conversation_id] = (wire, models)
        wire, models = people
        # The kept wire objects are read, never handed out; the kept models are frozen and
        # taken as they are (pydantic does not validate an instance again).
        return Conversation.model_validate(
            {**views.conversation(self.db, row, wire), "participants": models}
        )

    def conversation_to_send(self, conversation_id: str) -> Conversation | None:
        """The conversation as a send needs it: its people, number, kind and owner, and
        whether it is blocked. Its activity is left out (no last message, no unread
        count), so this one is never to be shown. Kept until any of the rest changes:
        every send asks, and reading and validating the row cost a send more than its
        checks under load (issue 19)."""
        found = self._to_send.get(conversation_id)
        if found is None:
            full = self.conversation(conversation_id)
            if full is None:
                return None
            if len(self._to_send) >= PEOPLE_KEPT:
                self._to_send.clear()
            # The model's fields are named as the columns: the same list says what is left out.
            blank = {**dict.fromkeys(ACTIVITY), "unread_count": 0}
            found = self._to_send[conversation_id] = full.model_copy(update=blank)
        return found

    def contacts_of(self, conversation: Conversation) -> dict[str, Contact]:
        """The current (not deleted) contacts of a conversation, by id."""
        ids = [p.contact_id for p in conversation.participants if p.contact_id]
        if conversation.contact_id:
            ids.append(conversation.contact_id)
        rows = views.rows_by_id(self.db, "contacts", ids)
        return {
            cid: Contact.model_validate(views.contact(rows[cid]))
            for cid in ids
            if cid in rows and not rows[cid]["deleted"]
        }


def attachment_id(url: str) -> str | None:
    """The id in one of our attachment URLs (absolute or a path), or None."""
    path = urlsplit(url).path
    if not path.startswith(ATTACHMENT_PREFIX):
        return None
    parts = PurePosixPath(path).parts
    return parts[2] if len(parts) >= 3 else None


def _files_dir(db_path: str | Path) -> Path:
    if str(db_path) in ("", ":memory:"):
        return Path(tempfile.mkdtemp(prefix="server-files-"))
    path = Path(db_path).resolve()
    return path.parent / f"{path.name}.files"
