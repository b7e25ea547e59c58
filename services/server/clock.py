"""Time stamps and identifiers in the contract's formats."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as LeadConnector writes ``dateAdded``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch, as LeadConnector writes ``lastMessageDate``."""
    return int(moment.timestamp() * 1000)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_id(prefix: str) -> str:
    """An unguessable string id with a readable prefix."""
    return f"{prefix}_{secrets.token_hex(10)}"
