"""Attachment uploads, streamed to disk with the limits enforced on the way in.

The multipart body is parsed as it arrives: a file whose name has a type the
carrier refuses is rejected at its headers (415), its content is sniffed as
soon as the first bytes are in (415 when it is not what its name says), and
the upload stops the moment it passes 5 MB (413) — nothing is read to the end
first. Files live under the database's folder as ``<id>.bin``: the stored
path never contains the client's name, so no name can escape the folder; the
sanitised name only appears in the URL and in ``Content-Disposition``.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any
from urllib.parse import unquote

import filetype
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from services import limits
from services.server.problems import ApiProblem, bad_request, invalid, too_large, unsupported

SNIFF_BYTES = 4096
MAX_FORM_FIELD_BYTES = 1024
# Multipart framing around a 5 MB file is a few hundred bytes; refuse far bigger bodies early.
MAX_BODY_BYTES = limits.MAX_ATTACHMENT_TOTAL_BYTES + 64 * 1024

# What filetype reports for types whose usual name differs from our list.
_SNIFF_ALIASES = {
    "audio/x-wav": "audio/wav",
}
_TEXT_TYPES = {".txt", ".csv", ".vcf", ".ics"}
# A text file that is really a web page or script must not be served as text.
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|body|!doctype)", re.IGNORECASE)


def safe_name(name: str) -> str:
    """Only the last path component, visible characters, no leading dots; keeps the extension."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r'[<>:"|?*]', "_", text)
    text = " ".join(text.split()).strip(" .")
    stem, suffix = os.path.splitext(text)
    stem = stem.strip(" .")[:120] or "attachment"
    return f"{stem}{suffix.lower()[:10]}"


MAX_NAME_BYTES = 255


def checked_name(raw: str) -> str:
    """A client's file name, kept exactly as sent, or refused in a sentence (422).

    The name is never a path on our disk (files are stored as ``<id>.bin``) and goes
    out percent-encoded (RFC 6266 ``filename*``), so any UTF-8 name is harmless except
    one that is a path or holds control characters: those are refused, not rewritten.
    """
    shown = raw.encode("unicode_escape").decode("ascii")[:80]
    if not raw.strip() or raw.strip() in (".", ".."):
        raise invalid(["Give the file a name."])
    if "/" in raw or "\\" in raw:
        raise invalid([f"The file name '{shown}' is a path; send the file under its own name."])
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise invalid(
            [f"The file name '{shown}' holds control characters; rename the file and send it."]
        )
    if len(raw.encode("utf-8")) > MAX_NAME_BYTES:
        raise invalid(["The file name is longer than 255 bytes; rename the file and send it."])
    return raw


def allowed_mime(filename: str) -> str | None:
    return limits.ALLOWED_ATTACHMENT_TYPES.get(PurePath(filename).suffix.lower())


def sniffed_mime(filename: str, head: bytes) -> str:
    """The served type, after checking the content is what the name claims (415 if not)."""
    declared = allowed_mime(filename)
    if declared is None:
        raise unsupported(
            f"{filename} can't be sent: text messages don't accept this kind of file."
        )
    kind = filetype.guess(head)
    suffix = PurePath(filename).suffix.lower()
    if kind is None:
        if suffix in _TEXT_TYPES and _is_text(head):
            return declared
        if suffix in _TEXT_TYPES or not head:
            raise unsupported(f"{filename} is not a plain text file.")
        raise unsupported(f"{filename} does not contain what its name says.")
    found = str(_SNIFF_ALIASES.get(kind.mime, kind.mime))
    family = _family(found)
    if family != _family(declared) or (found not in _ALLOWED and family not in _FAMILIES):
        raise unsupported(f"{filename} does not contain what its name says ({found}).")
    return found if found in _ALLOWED else declared


_ALLOWED = frozenset(limits.ALLOWED_ATTACHMENT_TYPES.values())
# Containers that sniffing can't always tell apart: the name decides within one.
_FAMILIES = {
    "iso": {"video/mp4", "audio/mp4", "video/3gpp", "video/quicktime", "video/x-m4v"},
    "zip": {
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
    },
    "ole": {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"},
}


def _family(mime: str) -> str:
    for family, members in _FAMILIES.items():
        if mime in members:
            return family
    major = mime.split("/")[0]
    return major if major in ("image", "audio", "video") else mime


def _is_text(head: bytes) -> bool:
    if b"\x00" in head or _MARKUP.search(head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed prefix is still text.
        return exc.start >= len(head) - 3
    return True


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 as browsers send it, else Latin-1 as HTTP once said."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _filename(options: dict[bytes, bytes]) -> str | None:
    """The part's file name: RFC 5987 ``filename*=UTF-8''…`` when given, else ``filename``."""
    extended = options.get(b"filename*")
    if extended is not None:
        charset, _, rest = extended.partition(b"'")
        _, _, encoded = rest.partition(b"'")
        if charset.lower() in (b"utf-8", b"utf8"):
            return unquote(encoded.decode("ascii", "replace"), errors="strict")
    plain = options.get(b"filename")
    return None if plain is None else _text(plain)


@dataclass
class StoredFile:
    id: str
    name: str
    mime: str
    size: int
    path: Path


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class _Receiver:
    """Callbacks of the streaming multipart parser: fields kept, one file written to disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fields: dict[str, str] = {}
        self.file: StoredFile | None = None
        self.problem: ApiProblem | None = None
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._out: IO[bytes] | None = None
        self._head = bytearray()
        self._mime: str | None = None

    # parser callbacks -------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").lower()
        # Kept as bytes: a file name in UTF-8 must reach the parser as sent.
        self._part.headers[name] = bytes(self._header_value)
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition = self._part.headers.get("content-disposition", b"")
        _, options = parse_options_header(disposition)
        self._part.name = _text(options.get(b"name", b""))
        raw_filename = _filename(options)
        if raw_filename is not None:
            self._start_file(raw_filename)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part.filename is None:
            self._part.value += chunk
            if len(self._part.value) > MAX_FORM_FIELD_BYTES:
                raise too_large(f"Form field '{self._part.name}' is too long.")
            return
        self._write(chunk)

    def on_part_end(self) -> None:
        if self._part.filename is None:
            self.fields[self._part.name] = self._part.value.decode("utf-8", "replace")
            return
        if self._mime is None:
            self._mime = sniffed_mime(self._part.filename, bytes(self._head))
        if self._out is not None:
            self._out.close()
            self._out = None
        assert self.file is not None
        self.file.mime = self._mime

    def on_end(self) -> None:
        pass

    # the file -----------------------------------------------------------------------------
    def _start_file(self, raw: str) -> None:
        if self._part.name != "fileAttachment":
            raise invalid([f"Unexpected file field '{self._part.name}'; use 'fileAttachment'."])
        if self.file is not None:
            raise invalid(["Upload one file per request for group SMS."])
        name = checked_name(raw)
        if allowed_mime(name) is None:
            raise unsupported(
                f"{name} can't be sent: text messages don't accept this kind of file."
            )
        self._part.filename = name
        file_id = secrets.token_urlsafe(18)
        path = self.folder / f"{file_id}.bin"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._out = path.open("wb")
        self.file = StoredFile(id=file_id, name=name, mime="", size=0, path=path)

    def _write(self, chunk: bytes) -> None:
        assert self.file is not None and self._out is not None and self._part.filename
        self.file.size += len(chunk)
        if self.file.size > limits.MAX_ATTACHMENT_TOTAL_BYTES:
            raise too_large(
                f"{self._part.filename} is larger than 5 MB; send a smaller or compressed file."
            )
        if self._mime is None:
            self._head += chunk
            if len(self._head) >= SNIFF_BYTES:
                self._mime = sniffed_mime(self._part.filename, bytes(self._head))
        self._out.write(chunk)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.file is not None:
            self.file.path.unlink(missing_ok=True)


async def receive(request: Request, folder: Path) -> tuple[StoredFile, dict[str, str]]:
    """Stream one multipart upload to ``folder``; refuse it as soon as a limit is passed."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise ApiProblem(415, "Send the file as multipart/form-data in the field 'fileAttachment'.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large("The file is larger than 5 MB; send a smaller or compressed file.")
    receiver = _Receiver(folder)
    callbacks: Any = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_end",
        )
    }
    parser = MultipartParser(params[b"boundary"], callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (ApiProblem, HTTPException, ClientDisconnect):
        receiver.discard()
        raise
    except Exception:
        receiver.discard()
        raise bad_request("The multipart body is malformed.") from None
    if receiver.file is None:
        raise invalid(["Attach a file in the field 'fileAttachment'."])
    if not receiver.file.mime:
        receiver.discard()
        raise bad_request("The multipart body ended in the middle of the file.")
    return receiver.file, receiver.fields
