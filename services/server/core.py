"""The server's state shared by every endpoint: storage, events, carrier, limits."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services import limits
from services.models import Contact, Conversation, PhoneNumber, User
from services.server import views
from services.server.carrier import Carrier, CarrierSettings
from services.server.contact_search import ContactSearch
from services.server.db import Database
from services.server.events import EventHub
from services.server.ratelimit import RateLimiter


class MessagingServer:
    """One backend instance over one database file."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        rate_limit: int = limits.RATE_LIMIT_REQUESTS,
        latency_ms: int = 300,
        fail_rate: float = 0.0,
    ) -> None:
        self.db = Database(db_path)
        self.files_dir = _files_dir(db_path)
        self.hub = EventHub(self.db)
        self.contact_search = ContactSearch(self.db)
        self.limiter = RateLimiter(rate_limit, limits.RATE_LIMIT_WINDOW_MS)
        self.carrier = Carrier(
            self,
            CarrierSettings(
                latency_ms=latency_ms,
                fail_rate=fail_rate,
                max_mms_bytes=limits.CARRIER_MAX_MMS_BYTES,
            ),
        )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; event readers are woken once it has committed."""
        with self.db.tx() as conn:
            yield conn
        self.hub.wake()

    def resume(self) -> None:
        """Start what a previous run left unfinished (lazily: ASGITransport runs no lifespan)."""
        self.carrier.resume()

    async def aclose(self) -> None:
        await self.carrier.aclose()

    # --- lookups shared by the endpoints ------------------------------------------------

    def user_for_token(self, token: str) -> User | None:
        row = self.db.one("SELECT * FROM users WHERE token = ?", (token,))
        return None if row is None else User.model_validate(views.user(row))

    def users(self, location_id: str) -> list[User]:
        rows = self.db.all(
            "SELECT * FROM users WHERE location_id = ? ORDER BY first_name, last_name",
            (location_id,),
        )
        return [User.model_validate(views.user(row)) for row in rows]

    def numbers(self, location_id: str) -> list[PhoneNumber]:
        rows = self.db.all(
            "SELECT * FROM numbers WHERE location_id = ? ORDER BY phone_number", (location_id,)
        )
        return [PhoneNumber.model_validate(views.number(row, self.carrier.limits)) for row in rows]

    def contact(self, contact_id: str, *, include_deleted: bool = False) -> Contact | None:
        row = self.db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        if row is None or (row["deleted"] and not include_deleted):
            return None
        return Contact.model_validate(views.contact(row))

    def conversation(self, conversation_id: str) -> Conversation | None:
        wire = views.load_conversation(self.db, conversation_id)
        return None if wire is None else Conversation.model_validate(wire)

    def contacts_of(self, conversation: Conversation) -> dict[str, Contact]:
        """The current (not deleted) contacts of a conversation, by id."""
        ids = [p.contact_id for p in conversation.participants if p.contact_id]
        if conversation.contact_id:
            ids.append(conversation.contact_id)
        found = {}
        for cid in ids:
            current = self.contact(cid)
            if current is not None:
                found[cid] = current
        return found


def _files_dir(db_path: str | Path) -> Path:
    if str(db_path) in ("", ":memory:"):
        return Path(tempfile.mkdtemp(prefix="server-files-"))
    path = Path(db_path).resolve()
    return path.parent / f"{path.name}.files"
