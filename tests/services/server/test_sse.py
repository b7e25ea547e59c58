"""Compressed event streams: each event deflated once, shared by every stream (sse.py)."""

from __future__ import annotations

import zlib

import pytest

from services.server.events import StoredEvent
from services.server.sse import DEFLATE_END, GZIP_HEADER, accepts_gzip, deflated

BASE = "http://127.0.0.1:8000/"


def event(seq: int, body: str) -> StoredEvent:
    return StoredEvent(
        seq=seq,
        type="MessageCreated",
        date_added="2026-12-06T20:00:00.000Z",
        conversation_id="conv_1",
        contact_id=None,
        data={"messageId": f"msg_{seq}", "message": {"body": body, "attachments": []}},
    )


def gunzip(data: bytes) -> bytes:
    """As a client reads a stream: whatever has come, inflated, without waiting for an end."""
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def test_any_run_of_deflated_events_reads_back_as_their_plain_frames() -> None:
    events = [event(n, f"message {n} " + "words " * n) for n in range(1, 6)]
    # A user's filter may leave any of them, in the log's order: the pieces still join.
    for kept in (events, events[::2], events[3:], events[:1]):
        stream = GZIP_HEADER + b"".join(e.frame(BASE, gzip=True) for e in kept)
        assert gunzip(stream) == b"".join(e.frame(BASE) for e in kept)


def test_a_stream_s_end_closes_the_deflate_data() -> None:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    plain = inflate.decompress(GZIP_HEADER + event(1, "bye").frame(BASE, gzip=True) + DEFLATE_END)
    assert plain == event(1, "bye").frame(BASE)
    assert inflate.eof is False  # gzip's checksum is not sent: the data ended, nothing after


def test_each_event_is_deflated_once_and_smaller() -> None:
    one = event(7, "See you all at 9, coffee is on me")
    first = one.frame(BASE, gzip=True)
    assert one.frame(BASE, gzip=True) is first  # built once, shared by every stream
    assert len(first) < len(one.frame(BASE))
    assert one.frame("http://other/", gzip=True) is not first  # per base URL, as plain ones


def test_deflated_pieces_refer_to_nothing_before_them() -> None:
    # The same bytes, whatever was compressed before: a fresh compressor each time.
    assert deflated(b"id: 1\n\n") == deflated(b"id: 1\n\n")
    assert deflated(b"x")[-4:] == b"\x00\x00\xff\xff"  # ends on a byte boundary (sync flush)


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip, deflate", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("x-gzip", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("identity", False),
        ("deflate", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_gzip_is_used_only_when_the_client_accepts_it(header: str, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip
