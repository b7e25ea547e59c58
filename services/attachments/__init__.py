"""Attachments: checks before upload, image compression, safe names, chip display.

The public surface, for the composer and the thread:

* ``check_attachments(sources)`` / ``prepare_attachment(source)`` → an
  ``AttachmentCheck`` / a ``PreparedAttachment`` or a ``rules.Violation``
  with the reason in words (count, total size, type, content sniffing,
  damaged pictures, decompression bombs, oversized animations).
* ``compress_for_resend(sources)`` for "Compress and resend" after the
  carrier refused a message's media as too large.
* ``safe_filename``, ``human_size``, ``icon_category`` for names and chips.
* ``*_async`` versions run the blocking Pillow and disk work in a worker
  thread, so the UI's event loop never stalls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services import limits
from services.attachments.checks import (
    AttachmentCheck,
    AttachmentSource,
    PreparedAttachment,
    batch_violations,
    check_attachments,
    prepare_attachment,
)
from services.attachments.display import IconCategory, human_size, icon_category
from services.attachments.names import safe_filename, split_extension
from services.attachments.resend import compress_for_resend
from services.attachments.sniff import content_matches
from services.rules import Violation

__all__ = [
    "AttachmentCheck",
    "AttachmentSource",
    "IconCategory",
    "PreparedAttachment",
    "batch_violations",
    "check_attachments",
    "check_attachments_async",
    "compress_for_resend",
    "compress_for_resend_async",
    "content_matches",
    "human_size",
    "icon_category",
    "prepare_attachment",
    "prepare_attachment_async",
    "safe_filename",
    "split_extension",
]


async def prepare_attachment_async(
    source: AttachmentSource, *, image_max_bytes: int = limits.RELIABLE_MMS_BYTES
) -> PreparedAttachment | Violation:
    """``prepare_attachment`` in a worker thread."""
    return await asyncio.to_thread(prepare_attachment, source, image_max_bytes=image_max_bytes)


async def check_attachments_async(
    sources: Sequence[AttachmentSource], *, image_max_bytes: int = limits.RELIABLE_MMS_BYTES
) -> AttachmentCheck:
    """``check_attachments`` in a worker thread."""
    return await asyncio.to_thread(check_attachments, sources, image_max_bytes=image_max_bytes)


async def compress_for_resend_async(
    sources: Sequence[AttachmentSource], *, max_total_bytes: int = limits.RELIABLE_MMS_BYTES
) -> AttachmentCheck:
    """``compress_for_resend`` in a worker thread."""
    return await asyncio.to_thread(compress_for_resend, sources, max_total_bytes=max_total_bytes)
