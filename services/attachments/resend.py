""" "Compress and resend": shrink a message's media after the carrier refused it.

The carrier judges a message by the total size of its media, so the budget
is for the whole message: files that can't shrink (video, PDF, HEIC,
animations) keep their size and the pictures share what is left. Each picture
also ends at most ``RESEND_SHRINK`` of its current size, so a retry is always
smaller than the send that failed, even when that one was already "under"
the reliable size (the carrier may be stricter than the usual figure).
"""

from __future__ import annotations

from collections.abc import Sequence

from services import limits
from services.attachments.checks import (
    IMAGE_EXTENSIONS,
    AttachmentCheck,
    AttachmentSource,
    PreparedAttachment,
    image_attachment,
    prepare_attachment,
)
from services.attachments.display import human_size
from services.attachments.images import ImageProblem, open_image, optimise_image
from services.attachments.names import safe_filename, split_extension
from services.attachments.sniff import content_matches
from services.rules import Violation, ViolationCode

RESEND_SHRINK = 0.6


def compress_for_resend(
    files: Sequence[AttachmentSource], *, max_total_bytes: int = limits.RELIABLE_MMS_BYTES
) -> AttachmentCheck:
    """Smaller versions of a refused message's files, or why that can't be done.

    ``files`` are the message's attachments as downloaded again (name and
    bytes). Blocking: run it through ``compress_for_resend_async``.
    """
    can_shrink = [_can_shrink(source) for source in files]
    shrinkable = [source for source, ok in zip(files, can_shrink, strict=True) if ok]
    fixed = [source for source, ok in zip(files, can_shrink, strict=True) if not ok]
    fixed_bytes = sum(source.size() for source in fixed)
    if not shrinkable:
        return AttachmentCheck((), tuple(_cannot_shrink(source) for source in fixed))
    share = (max_total_bytes - fixed_bytes) // len(shrinkable)
    if share <= 0:
        return AttachmentCheck((), tuple(_cannot_shrink(source) for source in fixed))
    outcomes: list[PreparedAttachment | Violation] = []
    for source, ok in zip(files, can_shrink, strict=True):
        if not ok:
            outcomes.append(prepare_attachment(source, image_max_bytes=max_total_bytes))
        else:
            outcomes.append(_shrink(source, min(share, int(source.size() * RESEND_SHRINK))))
    return AttachmentCheck(
        tuple(item for item in outcomes if isinstance(item, PreparedAttachment)),
        tuple(item for item in outcomes if isinstance(item, Violation)),
    )


def _can_shrink(source: AttachmentSource) -> bool:
    """A still picture Pillow can decode (not HEIC, not an animation)."""
    name = safe_filename(source.name)
    extension = split_extension(name)[1]
    if extension not in IMAGE_EXTENSIONS:
        return False
    data = source.read()
    if not content_matches(extension, data):
        return False
    try:
        image = open_image(data, name)
    except ImageProblem:
        return False
    return getattr(image, "n_frames", 1) <= 1


def _shrink(source: AttachmentSource, target: int) -> PreparedAttachment | Violation:
    name = safe_filename(source.name)
    data = source.read()
    try:
        output = optimise_image(data, name, max_bytes=target, force_reencode=True)
    except ImageProblem as problem:
        return Violation(ViolationCode.ATTACHMENTS_TOO_LARGE, problem.reason, source.subject, "")
    return image_attachment(source.subject, name, data, output)


def _cannot_shrink(source: AttachmentSource) -> Violation:
    name = safe_filename(source.name)
    return Violation(
        ViolationCode.ATTACHMENTS_TOO_LARGE,
        f"“{name}” ({human_size(source.size())}) can't be made smaller: only still "
        "pictures can be compressed. Send a smaller file, or share a link to it instead.",
        source.subject,
        "Can't compress",
    )
