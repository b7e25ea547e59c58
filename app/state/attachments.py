"""The composer's files: what is attached, checked and compressed before anything goes up.

Each pick is checked at once in a worker thread (type, content sniffing,
damaged pictures, size; pictures compressed), so the preview row shows the
file as it will be sent — with the reason in words for any file refused —
before Send. The message limits (ten files, 5 MB in all) are checked over
everything attached, and block Send until the user removes something.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.state.base import ViewModel
from services import limits
from services.attachments import (
    AttachmentCheck,
    AttachmentSource,
    IconCategory,
    PreparedAttachment,
    batch_violations,
    check_attachments_async,
    human_size,
)
from services.models import GroupLimits
from services.rules import Violation

Checker = Callable[[Sequence[AttachmentSource]], Awaitable[AttachmentCheck]]
_keys = itertools.count(1)


@dataclass(frozen=True)
class PickedFile:
    """One file in the preview row."""

    key: str
    name: str
    prepared: PreparedAttachment | None = None  # None while it is being checked
    source_size: int = 0

    @property
    def checking(self) -> bool:
        return self.prepared is None

    @property
    def size(self) -> int:
        return self.prepared.size if self.prepared else self.source_size

    @property
    def size_text(self) -> str:
        return human_size(self.size)

    @property
    def is_image(self) -> bool:
        return self.prepared is not None and self.prepared.is_image

    @property
    def icon(self) -> IconCategory:
        return self.prepared.category if self.prepared else IconCategory.OTHER

    @property
    def thumbnail(self) -> bytes | None:
        return self.prepared.data if self.is_image and self.prepared else None

    @property
    def note(self) -> str | None:
        """ "Compressed from 3.1 MB", or a caution about carriers."""
        p = self.prepared
        if p is None:
            return "Checking…"
        if p.compressed:
            return f"Compressed from {human_size(p.original_size)}"
        return p.note

    @property
    def can_send_original(self) -> bool:
        """A compressed picture: "Send original" is offered on its chip."""
        return self.prepared is not None and self.prepared.compressed

    @property
    def original_hint(self) -> str:
        """What "Send original" does (its tooltip and screen-reader label), or why it can't."""
        p = self.prepared
        if p is None or not p.compressed:
            return ""
        size = human_size(p.original_size)
        if p.original_size > limits.MAX_ATTACHMENT_TOTAL_BYTES:
            cap = human_size(limits.MAX_ATTACHMENT_TOTAL_BYTES)
            return f"The original ({size}) is over the {cap} limit: only the smaller copy can go."
        return (
            f"Send the original ({size}) as a file: full quality, with its metadata "
            "(location too), and it may not reach every phone."
        )

    @property
    def label(self) -> str:
        """What a screen reader says for the chip."""
        extra = f", {self.note}" if self.note else ""
        return f"{self.name}, {self.size_text}{extra}"


class AttachmentTray(ViewModel):
    """Emits "files" whenever the row changes (payload: the list of PickedFile)."""

    def __init__(self, check: Checker | None = None, carrier: GroupLimits | None = None) -> None:
        super().__init__()
        self._check: Checker = check or (lambda sources: check_attachments_async(sources))
        # The carrier behind the thread's number (Telnyx takes under 1 MB a message).
        self.carrier = carrier
        self.files: list[PickedFile] = []
        # Why the last picked files were refused (shown under the row until the next change).
        self.refused: list[str] = []

    # --- what the composer shows ------------------------------------------------------

    @property
    def checking(self) -> bool:
        return any(f.checking for f in self.files)

    def limit_problems(self) -> list[Violation]:
        """Count and total size over everything attached (Send waits until they're fixed)."""
        prepared = [f.prepared for f in self.files if f.prepared is not None]
        return batch_violations(prepared, self.carrier)

    @property
    def problem(self) -> str | None:
        """Every reason in words: files refused, then the message's limits."""
        reasons = self.refused + [v.message for v in self.limit_problems()]
        return " ".join(dict.fromkeys(reasons)) or None

    @property
    def blocker(self) -> str | None:
        """Why Send must wait, or None."""
        if self.checking:
            return "Wait a moment: the files are still being checked."
        limits = self.limit_problems()
        return limits[0].message if limits else None

    @property
    def total_text(self) -> str:
        return human_size(sum(f.size for f in self.files)) if self.files else ""

    # --- what the user does -----------------------------------------------------------

    async def add(self, sources: Sequence[AttachmentSource]) -> None:
        """Attach picked files: shown at once as "checking", then as they will be sent."""
        if not sources:
            return
        keyed = [dataclasses.replace(s, key=f"f{next(_keys)}") for s in sources]
        self.refused = []
        self.files += [PickedFile(s.subject, s.name, None, _size(s)) for s in keyed]
        self.emit("files", self.files)
        try:
            check = await self._check(keyed)
        except Exception as exc:  # a bug in checking must not leave files "checking"
            self._drop({s.subject for s in keyed})
            self.fail(exc)
            self.emit("files", self.files)
            return
        ready = {p.key: p for p in check.prepared}
        self.refused = [v.message for v in check.violations if v.subject_id not in ready]
        self.files = [
            dataclasses.replace(f, prepared=ready[f.key], name=ready[f.key].name)
            if f.key in ready
            else f
            for f in self.files
            if f.key in ready or f.key not in {s.subject for s in keyed}
        ]
        self.emit("files", self.files)

    def remove(self, key: str) -> None:
        self._drop({key})
        self.refused = []
        self.emit("files", self.files)

    def send_as_file(self, key: str) -> None:
        """Send a compressed picture as picked (bigger, with its metadata) instead."""
        for i, f in enumerate(self.files):
            if f.key == key and f.prepared is not None:
                outcome = f.prepared.as_file()
                if isinstance(outcome, Violation):
                    self.refused = [outcome.message]
                else:
                    self.files[i] = dataclasses.replace(f, prepared=outcome, name=outcome.name)
                self.emit("files", self.files)
                return

    def take(self) -> list[PreparedAttachment]:
        """Empty the row, returning what was in it (for Send)."""
        taken = [f.prepared for f in self.files if f.prepared is not None]
        self.files, self.refused = [], []
        self.emit("files", self.files)
        return taken

    def put_back(self, prepared: Sequence[PreparedAttachment]) -> None:
        """A send that didn't happen: the files return to the row, nothing is lost."""
        self.files = [PickedFile(p.key, p.name, p) for p in prepared] + self.files
        self.emit("files", self.files)

    def _drop(self, keys: set[str]) -> None:
        self.files = [f for f in self.files if f.key not in keys]


def _size(source: AttachmentSource) -> int:
    try:
        return source.size()
    except OSError:
        return 0


def outgoing(prepared: Sequence[PreparedAttachment]) -> list[Any]:
    """The outbox's files for a message (bytes already checked and compressed)."""
    from services.outbox import OutgoingFile

    return [OutgoingFile(name=p.name, content_type=p.mime, data=p.data) for p in prepared]
