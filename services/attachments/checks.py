"""Checking and preparing picked files before anything is uploaded.

``prepare_attachment`` turns one picked file into a ``PreparedAttachment``
(safe name, MIME type by extension *and* content, images compressed and
stripped of metadata) or a ``Violation`` saying why it can't be sent.
``check_attachments`` does that for a whole message and adds the message
limits (count, total size) from ``services.rules``, which the backend shares.

The count is checked first and alone: with more than ten files nothing is
read or compressed until the user removes some.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services import limits
from services.attachments.display import IconCategory, human_size, icon_category
from services.attachments.images import ImageOutput, ImageProblem, optimise_image
from services.attachments.names import safe_filename, split_extension
from services.attachments.sniff import TEXT_EXTENSIONS, mismatch_reason, text_as_utf8
from services.models import GroupLimits
from services.rules import AttachmentInfo, Violation, ViolationCode, attachment_violations

# Extensions Pillow decodes: these are checked pixel by pixel and compressed.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif"})
# A phone photo may be far above the message limit before compression; past
# this it is not a photo anyone should wait for us to decode.
MAX_IMAGE_SOURCE_BYTES = 50 * limits.MIB


@dataclass(frozen=True, slots=True)
class AttachmentSource:
    """A file the user picked: bytes in memory (web, paste) or a path (desktop)."""

    name: str
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None
    # The UI's id for this pick, carried into violations' ``subject_id``;
    # the name when not given (two pasted "image.png" need their own keys).
    key: str | None = None

    @property
    def subject(self) -> str:
        return self.key if self.key is not None else self.name

    def size(self) -> int:
        """Size in bytes, without reading a file from disk."""
        if self.data is not None:
            return len(self.data)
        if self.path is not None:
            return self.path.stat().st_size
        return 0

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is not None:
            return self.path.read_bytes()
        return b""


@dataclass(frozen=True, slots=True)
class PreparedAttachment:
    """A file checked and ready to upload (``data`` under ``name`` as ``mime``)."""

    key: str
    name: str
    mime: str
    data: bytes = field(repr=False)
    # The file as picked: its (sanitised) name, size and bytes, so the UI can
    # offer "send as file instead" of a compressed picture.
    original_name: str
    original_size: int
    original: bytes = field(repr=False)
    # True when ``data`` is a picture resized, re-encoded or stripped. (Text
    # transcoded to UTF-8 doesn't count: nothing is lost, nothing to offer back.)
    compressed: bool = False
    width: int | None = None
    height: int | None = None
    # A caution to show beside the file (e.g. it may be too big for some phones).
    note: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def category(self) -> IconCategory:
        return icon_category(self.mime, self.name)

    @property
    def is_image(self) -> bool:
        """Shown inline as a picture rather than as a file chip."""
        return self.category is IconCategory.IMAGE

    def info(self) -> AttachmentInfo:
        return AttachmentInfo(self.name, self.size, self.mime)

    def as_file(self) -> PreparedAttachment | Violation:
        """The picked bytes unchanged ("send as file instead"), if small enough.

        The original keeps its metadata, location included: the UI should say
        so when it offers this.
        """
        if not self.compressed:
            return self
        if self.original_size > limits.MAX_ATTACHMENT_TOTAL_BYTES:
            return _too_large(self.key, self.original_name, self.original_size)
        mime = limits.ALLOWED_ATTACHMENT_TYPES[split_extension(self.original_name)[1]]
        return dataclasses.replace(
            self,
            name=self.original_name,
            mime=mime,
            data=self.original,
            compressed=False,
            note=_reliability_note(self.original_size),
        )


@dataclass(frozen=True, slots=True)
class AttachmentCheck:
    """The outcome for a message's files: what is ready and what is refused."""

    prepared: tuple[PreparedAttachment, ...] = ()
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def total_size(self) -> int:
        return sum(item.size for item in self.prepared)


def prepare_attachment(
    source: AttachmentSource, *, image_max_bytes: int = limits.RELIABLE_MMS_BYTES
) -> PreparedAttachment | Violation:
    """Check one picked file and get it ready to upload (blocking: CPU and disk)."""
    name = safe_filename(source.name)
    extension = split_extension(name)[1]
    refused = _type_violation(name, source.subject)
    if refused is not None:
        return refused
    limit = (
        MAX_IMAGE_SOURCE_BYTES
        if extension in IMAGE_EXTENSIONS
        else limits.MAX_ATTACHMENT_TOTAL_BYTES
    )
    try:
        size = source.size()
        if size > limit:
            return _too_large(source.subject, name, size)
        data = source.read()
    except OSError:
        return Violation(
            ViolationCode.ATTACHMENT_TYPE,
            f"“{name}” couldn't be read. Check the file and pick it again.",
            source.subject,
            "Can't read file",
        )
    reason = mismatch_reason(name, extension, data)
    if reason is not None:
        return Violation(ViolationCode.ATTACHMENT_TYPE, reason, source.subject, "Not what it says")
    if extension in IMAGE_EXTENSIONS:
        return _prepare_image(source.subject, name, data, image_max_bytes)
    return _prepared_as_is(source.subject, name, extension, data, image_max_bytes)


def check_attachments(
    sources: Sequence[AttachmentSource], *, image_max_bytes: int = limits.RELIABLE_MMS_BYTES
) -> AttachmentCheck:
    """Check and prepare every file of one message (blocking: CPU and disk)."""
    too_many = _count_violation(len(sources))
    if too_many is not None:
        return AttachmentCheck((), (too_many,))
    prepared: list[PreparedAttachment] = []
    refused: list[Violation] = []
    for source in sources:
        outcome = prepare_attachment(source, image_max_bytes=image_max_bytes)
        if isinstance(outcome, Violation):
            refused.append(outcome)
        else:
            prepared.append(outcome)
    return AttachmentCheck(tuple(prepared), (*refused, *batch_violations(prepared)))


def batch_violations(
    prepared: Sequence[PreparedAttachment], carrier: GroupLimits | None = None
) -> list[Violation]:
    """The message limits (count, total size; ``carrier``'s when given) over files already
    prepared. For a composer that prepares files one by one as they are attached.
    """
    return attachment_violations([item.info() for item in prepared], carrier)


# --- helpers ----------------------------------------------------------------------------


def _count_violation(count: int) -> Violation | None:
    # The rules own the wording; sizes don't matter for the count.
    infos = [AttachmentInfo("file.pdf", 0)] * count
    found = attachment_violations(infos)
    return next((v for v in found if v.code is ViolationCode.TOO_MANY_ATTACHMENTS), None)


def _type_violation(name: str, subject: str) -> Violation | None:
    # The picker's MIME type is unreliable ("image/jpg", "audio/x-m4a"):
    # the extension decides here, and the content check follows.
    found = attachment_violations([AttachmentInfo(name, 0, "")])
    violation = next((v for v in found if v.code is ViolationCode.ATTACHMENT_TYPE), None)
    return None if violation is None else dataclasses.replace(violation, subject_id=subject)


def _too_large(subject: str, name: str, size: int) -> Violation:
    return Violation(
        ViolationCode.ATTACHMENTS_TOO_LARGE,
        f"“{name}” is {human_size(size)}; a message can carry at most "
        f"{human_size(limits.MAX_ATTACHMENT_TOTAL_BYTES)} of files.",
        subject,
        "Too large",
    )


def _reliability_note(size: int, threshold: int = limits.RELIABLE_MMS_BYTES) -> str | None:
    if size <= threshold:
        return None
    return (
        f"At {human_size(size)} this may not reach every phone: carriers reliably "
        f"deliver up to {human_size(threshold)}."
    )


def _prepare_image(
    subject: str, name: str, data: bytes, max_bytes: int
) -> PreparedAttachment | Violation:
    try:
        output = optimise_image(data, name, max_bytes=max_bytes)
    except ImageProblem as problem:
        code = (
            ViolationCode.ATTACHMENTS_TOO_LARGE
            if problem.too_large
            else (ViolationCode.ATTACHMENT_TYPE)
        )
        short = "Too large" if problem.too_large else "Damaged picture"
        return Violation(code, problem.reason, subject, short)
    return image_attachment(subject, name, data, output)


def image_attachment(
    subject: str, name: str, original: bytes, output: ImageOutput
) -> PreparedAttachment:
    """A ``PreparedAttachment`` from an image's compression result."""
    stem, extension = split_extension(name)
    # Keep the user's spelling (".jpeg") unless the format changed.
    same_format = limits.ALLOWED_ATTACHMENT_TYPES.get(extension) == output.mime
    out_name = name if same_format else f"{stem}{output.extension}"
    return PreparedAttachment(
        key=subject,
        name=out_name,
        mime=output.mime,
        data=output.data,
        original_name=name,
        original_size=len(original),
        original=original,
        compressed=output.reencoded,
        width=output.width,
        height=output.height,
    )


def _prepared_as_is(
    subject: str, name: str, extension: str, data: bytes, image_max_bytes: int
) -> PreparedAttachment:
    # HEIC, video, audio and documents go as picked: Pillow can't decode HEIC
    # without a plugin, and nothing else here can shrink the others. Text goes
    # as UTF-8, the only encoding the backend (and most phones) read.
    sent = text_as_utf8(data) if extension in TEXT_EXTENSIONS else data
    return PreparedAttachment(
        key=subject,
        name=name,
        mime=limits.ALLOWED_ATTACHMENT_TYPES[extension],
        data=sent,
        original_name=name,
        original_size=len(data),
        original=data,
        note=_reliability_note(len(data), image_max_bytes),
    )
