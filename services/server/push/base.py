"""The server's one door to a push service: what the pusher asks of it, in our terms.

One implementation stands behind it today, ``onesignal.py``; with no push service
configured the server has no door at all (``MessagingServer.push`` is None) and
pushes nothing. Errors are ``PushError`` with a ``kind`` that tells the push queue
what to do: retry later (the service is down or asked us to slow down) or give up
on that notification. No secret appears in any message, repr or log line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Notification:
    """One notification for one user's devices."""

    push_ids: tuple[str, ...]  # the push service's ids of the devices (subscription ids)
    title: str  # the group's name
    text: str  # "Sender: start of the message", or "Sender: Picture"
    conversation_id: str  # rides along so a tap opens the thread; also the collapse key
    badge: int  # the user's unread total, for the app icon
    # Ours, the same on every try of one notification: the service sends it once.
    idempotency_key: str
    # A badge update only (threads were read): no alert, no sound, no text.
    silent: bool = False


@dataclass(frozen=True)
class Pushed:
    """The service took the notification."""

    # Devices the service says no longer exist or no longer accept pushes: forget them.
    gone: tuple[str, ...] = ()


class PushErrorKind(enum.StrEnum):
    RETRYABLE = "retryable"  # 5xx, 429, a timeout, a dropped connection: try again later
    PERMANENT = "permanent"  # refused for good (a malformed request): drop this one
    CONFIG = "config"  # the app id or key is wrong: nothing works until it is fixed


class PushError(Exception):
    def __init__(
        self, kind: PushErrorKind, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message  # a sentence for whoever runs the server
        self.retry_after = retry_after


@runtime_checkable
class PushService(Protocol):
    """Everything the server asks of a push service."""

    name: str  # "onesignal"

    async def verify(self) -> None:
        """Prove the credentials with one cheap call; PushError(CONFIG) in a sentence."""

    async def send(self, notification: Notification) -> Pushed:
        """Hand one notification to the service; PushError says what went wrong."""

    async def aclose(self) -> None: ...
