"""A business's locations, staff users and their tokens: the one place that writes them.

The admin command and the server share these functions. A token is 256 random bits
(``gcs_`` and 43 URL-safe characters), shown once when issued; only its SHA-256 is
stored (``db.token_hash``: for a random token a plain hash is as strong as a slow
password hash, and it costs nothing per request). A user may hold several tokens (one
per device or script), each with a name, an optional expiry and the last time it was
used; a revoked or expired token, or any token of a disabled user, signs in no one.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from services.server import clock
from services.server.db import Database, Row, token_hash

TOKEN_PREFIX = "gcs_"
ROLES = {"admin": "admin", "staff": "user"}  # the command's words → the contract's roles


class AccountError(Exception):
    """A refusal in one sentence (an unknown user, a name left empty…)."""


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    token_id: str
    token_hash: str
    expires_at: str | None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- locations and users -------------------------------------------------------------------


def create_location(conn: sqlite3.Connection, name: str, location_id: str | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise AccountError("Give the location a name, e.g. --name 'Harbor View Dental'.")
    location_id = location_id or clock.new_id("loc")
    conn.execute(
        "INSERT INTO locations (id, name, created_at) VALUES (?, ?, ?)",
        (location_id, name[:200], clock.iso(clock.now())),
    )
    return location_id


def location_exists(conn: sqlite3.Connection, location_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM locations WHERE id = ?", (location_id,)).fetchone()
    return row is not None


def add_user(
    conn: sqlite3.Connection,
    *,
    location_id: str,
    name: str,
    role: str,
    assigned_only: bool = False,
    email: str | None = None,
    phone: str | None = None,
    user_id: str | None = None,
) -> str:
    if not location_exists(conn, location_id):
        raise AccountError(f"There is no location {location_id}. Create it first.")
    if role not in ROLES:
        raise AccountError("The role must be admin or staff.")
    first, _, last = " ".join(name.split()).partition(" ")
    if not first:
        raise AccountError('Give the user a name, e.g. --name "Dana Whitfield".')
    user_id = user_id or clock.new_id("usr")
    conn.execute(
        "INSERT INTO users (id, location_id, first_name, last_name, email, phone, role,"
        " assigned_data_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, location_id, first, last, email, phone, ROLES[role], int(assigned_only)),
    )
    return user_id


def user_row(conn: sqlite3.Connection, user_id: str) -> Row:
    row: Row | None = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise AccountError(f"There is no user {user_id}.")
    return row


def set_disabled(conn: sqlite3.Connection, user_id: str, disabled: bool = True) -> None:
    user_row(conn, user_id)
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))


# --- tokens --------------------------------------------------------------------------------


def issue_token(
    conn: sqlite3.Connection,
    user_id: str,
    *,
    name: str = "",
    expires_at: datetime | None = None,
    token: str | None = None,
) -> tuple[str, str]:
    """A new token for the user: (its id, the token itself, which is never stored)."""
    row = user_row(conn, user_id)
    if row["disabled"]:
        raise AccountError(f"{user_id} is disabled: enable the user before issuing a token.")
    token = token or new_token()
    token_id = clock.new_id("tok")
    conn.execute(
        "INSERT INTO tokens (id, user_id, name, hash, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            token_id,
            user_id,
            " ".join(name.split())[:100] or "token",
            token_hash(token),
            clock.iso(clock.now()),
            clock.iso(expires_at) if expires_at else None,
        ),
    )
    return token_id, token


def tokens_of(db: Database, user_id: str) -> list[Row]:
    """A user's tokens, newest first: names and dates, never a token."""
    return db.all(
        "SELECT id, name, created_at, last_used_at, expires_at, revoked_at FROM tokens"
        " WHERE user_id = ? ORDER BY created_at DESC, id",
        (user_id,),
    )


def revoke_token(conn: sqlite3.Connection, token_id: str) -> None:
    found = conn.execute(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
        (clock.iso(clock.now()), token_id),
    ).rowcount
    if not found:
        raise AccountError(f"There is no token {token_id}.")


def sign_in(db: Database, token: str, now: datetime) -> SignedIn | None:
    """Who the token signs in, if it still does."""
    digest = token_hash(token)
    row = db.one(
        "SELECT t.id, t.user_id, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.hash = ? AND t.revoked_at IS NULL AND u.disabled = 0",
        (digest,),
    )
    if row is None or (row["expires_at"] and clock.parse_iso(row["expires_at"]) <= now):
        return None
    return SignedIn(row["user_id"], row["id"], digest, row["expires_at"])


def still_valid(db: Database, hashes: list[str], now: datetime) -> set[str]:
    """Of these token hashes, the ones that still sign someone in."""
    if not hashes:
        return set()
    marks = ",".join("?" * len(hashes))
    rows = db.all(
        "SELECT t.hash, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id"
        f" WHERE t.hash IN ({marks}) AND t.revoked_at IS NULL AND u.disabled = 0",
        hashes,
    )
    return {
        r["hash"] for r in rows if not r["expires_at"] or clock.parse_iso(r["expires_at"]) > now
    }


def note_used(conn: sqlite3.Connection, token_id: str, when: datetime) -> None:
    conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (clock.iso(when), token_id))
