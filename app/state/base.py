"""What every view-model shares: listeners, and errors turned into sentences."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.api.errors import NetworkError

log = logging.getLogger("app")

Listener = Callable[[str, Any], None]


class ViewModel:
    """Views register one listener; the view-model tells it what changed and how.

    ``what`` names the change ("rows", "append", "header", ...) so a view can
    redraw only that part; ``payload`` carries the changed item when useful.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.error: str | None = None

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, what: str, payload: Any = None) -> None:
        for listener in list(self._listeners):
            listener(what, payload)

    def fail(self, exc: BaseException) -> str:
        """Record a failure as the sentence the user sees, and tell the view."""
        self.error = user_message(exc)
        log.warning("%s: %s", type(self).__name__, exc, exc_info=exc)
        self.emit("error", self.error)
        return self.error

    def fail_refresh(self, exc: BaseException) -> str | None:
        """A background refresh failed. An unreachable server is not news: the cache is
        on screen and the connection indicator already says Offline (a snack bar per
        screen would cover the composer). Anything else is said as usual."""
        if isinstance(exc, NetworkError):
            log.info("%s: offline refresh skipped: %s", type(self).__name__, exc)
            return None
        return self.fail(exc)


def user_message(exc: BaseException) -> str:
    """One sentence for the user: the ApiError's own, or a generic one (never a traceback)."""
    message = getattr(exc, "user_message", None)
    if isinstance(message, str) and message:
        return message
    return "Something went wrong. Please try again."
