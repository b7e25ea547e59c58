"""The messaging server under load: sends, fan-out by stream count, the queue, search, lists.

    .venv/bin/python -m bench.bench_server [--quick]

Every figure is printed beside its baseline measured in the same run:

1. sends: ``POST /conversations/messages`` over HTTP to a standalone server by 1, 8
   and 32 concurrent senders (8 is the goal's figure; each a keep-alive connection
   written and read as raw HTTP/1.1, so the load is never the bottleneck), against the
   same write transaction done in-process without HTTP (message, recipients, events,
   carrier job, push), the two taking turns five times (medians): the ratio, then
   where a send's time goes, layer by layer;
2. fan-out: K clients follow ``GET /events`` as server-sent events (in a process of
   their own), for K = 0, 10 and 500; M messages are sent one after the other; the
   server's own CPU time (``/proc/<pid>/stat``) per message, its growth per extra
   stream, the time until the last stream has each message, and the send rate
   with 500 streams open against none;
3. the carrier queue's next-step lookup with 3 jobs queued and with 30,000;
4. conversation search with a word at 100,000 and at 1,000,000 messages;
5. the first page of the conversation list for a staff user limited to assigned data
   against an admin's, at 10,000 conversations.

The server runs on a core of its own and its load (the senders, the 500 readers) on
the others, as phones and desktops read their streams on processors of their own; the
in-process baselines and sections 3-5 run on the server's core. With one core, all
share it: read the figures as orders of magnitude then. The server is stopped at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.scale_seed import CACHE_DIR, SHORT_THREAD, fresh_copy
from services.server import carrier_queue, changes, clock, push_queue, search, seed
from services.server.app import create_app
from services.server.core import MessagingServer
from services.server.db import Database
from services.server.embedded import EmbeddedTransport
from services.server.writes import NewMessage, insert_message

ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"Authorization": "Bearer demo-admin"}
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _split_cores() -> tuple[set[int], set[int]]:
    """The server's core and the load's: the first core, and the rest (all, with one)."""
    cores = sorted(os.sched_getaffinity(0))
    return {cores[0]}, set(cores[1:]) or {cores[0]}


SERVER_CORES, LOAD_CORES = _split_cores()


@contextlib.contextmanager
def on_cores(cores: set[int]) -> Iterator[None]:
    """This process on ``cores`` for the block (processes it starts inherit them)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def standalone(db: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    args = [sys.executable, "-m", "services.server", "--port", str(port), "--db", str(db)]
    args += ["--rate-limit", "0", "--latency-ms", "60000", "--log-level", "warning"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Set before the interpreter has started any thread: every thread it starts inherits it.
    os.sched_setaffinity(proc.pid, SERVER_CORES)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the messaging server did not start")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def carrier_jobs_done(db: Path) -> int:
    """Carrier jobs the server at ``db`` has finished (read beside it, never written)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM carrier_jobs WHERE state = 'done'").fetchone()[0]
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def table(title: str, rows: list[tuple[str, ...]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


# --- 1. sends -----------------------------------------------------------------------------------


# Transactions before the timed ones: the sends over HTTP are timed on a server that has
# taken 1,500 before (the one sender's round), and a cold start timed alone ran ~4 %
# slower than a warm one (3,332 against 3,484/s, medians of six; issue 19).
WARM_TRANSACTIONS = 300


def write_transaction_rate(folder: Path, count: int) -> float:
    """The send's own write (what routes_messages._store does: the message, its event, its
    carrier job, its push), in-process, no HTTP."""
    db_path = fresh_copy(folder).path
    server = MessagingServer(db_path, latency_ms=60_000)
    participants = server.db.all(
        "SELECT id, phone FROM participants WHERE conversation_id = ?", (SHORT_THREAD,)
    )
    recipients = [(p["id"], p["phone"]) for p in participants]
    started = 0.0
    for n in range(-WARM_TRANSACTIONS, count):
        if n == 0:
            started = time.perf_counter()
        with server.write() as conn:
            message_id = insert_message(
                conn,
                NewMessage(
                    conversation_id=SHORT_THREAD,
                    direction="outbound",
                    body=f"write {n}",
                    when=clock.now(),
                    status="queued",
                    user_id=seed.ADMIN_ID,
                    client_message_id=f"w-{n}",
                ),
                recipients=recipients,
            )
            changes.message_created(conn, server.db, message_id)
            carrier_queue.enqueue(conn, "send", SHORT_THREAD, message_id, now_ms=0)
            push_queue.enqueue_message(conn, server, message_id)
    rate = count / (time.perf_counter() - started)
    server.db.close()
    return rate


_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


async def http_send_rate(url: str, count: int, concurrency: int = 8, tag: str = "") -> float:
    """Sends per second over HTTP/1.1 keep-alive, ``concurrency`` connections each sending
    its next request when its answer is in. The requests are written and the answers read
    as bytes (status, headers, body): httpx spent 1.3 ms of the load's one core on each
    send and became the bottleneck before the server did (issue 19)."""
    host, port = url.removeprefix("http://").split(":")
    todo = list(range(count))

    async def sender() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while todo:
                n = todo.pop()
                body = json.dumps(
                    {
                        "type": "SMS",
                        "conversationId": SHORT_THREAD,
                        "message": f"send {tag}{n}",
                        "clientMessageId": f"s-{tag}{n}",
                    }
                ).encode()
                head = (
                    f"POST /conversations/messages HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: {ADMIN['Authorization']}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                writer.write(head.encode() + body)
                answer = await reader.readuntil(b"\r\n\r\n")
                status = int(answer.split(b" ", 2)[1])
                length = _CONTENT_LENGTH.search(answer)
                await reader.readexactly(int(length[1]) if length else 0)
                if status != 201:
                    raise RuntimeError(f"the send answered {status}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def send_layers_ms(folder: Path, count: int) -> dict[str, float]:
    """Where a send's server time goes, in-process on one core (ms per send): the route's
    own work called directly (its checks, the write transaction, no FastAPI), then the
    whole ASGI app (the send path, our middleware, FastAPI's outer layers) without HTTP,
    then the carrier queue's job for each of those sends, run after them (CPU per job: it
    runs beside the sends in a server). The rest of a send over HTTP is uvicorn's and the
    kernel's."""
    from services.server import routes_messages, web
    from services.server.schemas import SendMessage

    app = create_app(fresh_copy(folder).path, rate_limit=0, latency_ms=60_000)
    server = app.state.server

    def body(n: int) -> bytes:
        return json.dumps(
            {
                "type": "SMS",
                "conversationId": SHORT_THREAD,
                "message": f"layer {n}",
                "clientMessageId": f"l-{n}",
            }
        ).encode()

    async def through_app(n: int) -> None:
        payload = body(n)
        headers = [
            (b"host", b"bench"),
            (b"authorization", ADMIN["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/conversations/messages",
            "raw_path": b"/conversations/messages",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        parts = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict[str, object]:
            return parts.pop() if parts else {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start" and message["status"] != 201:
                raise RuntimeError(f"the send answered {message['status']}")

        await app(scope, receive, send)

    for n in range(100):  # warm: the carrier queue starts, caches fill
        await through_app(n)
    started = time.perf_counter()
    for n in range(1000, 1000 + count):
        await through_app(n)
    app_ms = (time.perf_counter() - started) / count * 1000
    # Nothing above waits, so the carrier's queue has not run yet: its job for each of
    # those sends (the carrier's answer recorded, the next message claimed), on its own.
    waiting = "SELECT COUNT(*) FROM carrier_jobs WHERE state IN ('queued', 'running')"
    jobs = int(server.db.scalar(waiting))
    started = time.process_time()
    while server.db.scalar(waiting):  # noqa: ASYNC110 (the queue's state is in the database)
        await asyncio.sleep(0.01)
    carrier_ms = (time.process_time() - started) / max(jobs, 1) * 1000
    user, signed = server.signed_in(seed.ADMIN_TOKEN)
    ctx = web.Ctx(server, user, "http://bench/", signed)
    started = time.perf_counter()
    for n in range(10 * count, 11 * count):
        await routes_messages.send_message(ctx, SendMessage.model_validate_json(body(n)), None)
    route_ms = (time.perf_counter() - started) / count * 1000
    await server.aclose()
    server.db.close()
    return {"route": route_ms, "app": app_ms, "carrier": carrier_ms}


# --- 2. fan-out --------------------------------------------------------------------------------


# A MessageCreated event's body (only it carries "body" with this prefix; later status
# events come after the carrier's 60 s latency). The last _TAIL bytes of a chunk after its
# last match are kept, for a match cut in two by the chunk's end (none is counted twice).
_BODY = re.compile(rb'"body":\s*"(fanout-[^"]+)"')
_TAIL = 64


class _Follower(asyncio.Protocol):
    """One stream's reader: the bytes as they come, searched for the messages' bodies.

    A protocol, not an HTTP client's stream: each phone or desktop reads its stream on a
    processor of its own, and 500 of httpx's streams took most of one of the two cores
    the server has too, which delayed the arrivals measured and the sends beside them.
    It asks for gzip, as httpx does: with ``decode`` it takes the chunked encoding apart
    and inflates the stream to find the bodies; without, it only drains the socket (500
    phones' inflating would not fit on the one core the load has here).
    """

    def __init__(
        self, arrivals: dict[str, list[float]], opened: object, heard: object, decode: bool
    ) -> None:
        self.arrivals, self.opened, self.heard, self.decode = arrivals, opened, heard, decode
        self.head: bytes | None = b""  # the answer's headers until they are complete
        self.framed = b""  # chunked bytes not taken apart yet
        self.tail = b""
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.head is not None:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            self.opened()  # type: ignore[operator]
            data = self.head.split(b"\r\n\r\n", 1)[1]
            self.head = None
        if not self.decode:
            return
        text, end = self.tail + self.inflate.decompress(self._unchunked(data)), 0
        for found in _BODY.finditer(text):
            self.arrivals.setdefault(found[1].decode(), []).append(now)
            end = found.end()
        self.tail = text[max(end, len(text) - _TAIL) :]
        self.heard()  # type: ignore[operator]

    def _unchunked(self, data: bytes) -> bytes:
        """The body bytes in ``data``, the chunked encoding's size lines taken out."""
        self.framed += data
        body = []
        while True:
            line_end = self.framed.find(b"\r\n")
            if line_end < 0:
                break
            size = int(self.framed[:line_end].split(b";")[0], 16)
            start = line_end + 2
            if len(self.framed) < start + size + 2:
                break
            body.append(self.framed[start : start + size])
            self.framed = self.framed[start + size + 2 :]
        return b"".join(body)


def _readers(url: str, streams: int, expect: int, ready: object, out: object) -> None:
    """In a process of its own: open the streams, record when each message arrives (or
    only drain them, when no end is expected)."""
    decode = expect < 10**9
    with contextlib.suppress(ImportError):
        import uvloop  # uvicorn's own loop, when installed: the cheapest reads

        uvloop.install()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        arrivals: dict[str, list[float]] = {}
        finished = loop.create_future()
        opened = 0

        def on_open() -> None:
            nonlocal opened
            opened += 1
            if opened == streams:
                ready.set()  # type: ignore[attr-defined]

        def on_heard() -> None:
            if finished.done() or len(arrivals) < expect:
                return
            if all(len(v) >= streams for v in arrivals.values()):
                finished.set_result(None)

        host, port = url.removeprefix("http://").split(":")
        request = (
            f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {ADMIN['Authorization']}\r\nAccept: text/event-stream\r\n"
            "Accept-Encoding: gzip\r\n\r\n"
        ).encode()
        for _ in range(streams):
            transport, _follower = await loop.create_connection(
                lambda: _Follower(arrivals, on_open, on_heard, decode), host, int(port)
            )
            transport.write(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished, timeout=600)
        out.put(arrivals)  # type: ignore[attr-defined]

    asyncio.run(main())


async def fanout(url: str, pid: int, streams: int, messages: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    proc = None
    if streams:
        proc = ctx.Process(target=_readers, args=(url, streams, messages, ready, out))
        proc.start()
        await asyncio.to_thread(ready.wait, 120)
        await asyncio.sleep(1.0)
    sent_at: dict[str, float] = {}
    cpu_before = cpu_seconds(pid)
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as http:
        for n in range(messages):
            body = f"fanout-{streams}-{n}"
            sent_at[body] = time.time()
            await http.post(
                "/conversations/messages",
                json={"type": "SMS", "conversationId": SHORT_THREAD, "message": body},
            )
            await asyncio.sleep(0.05 if streams < 100 else 0.25)  # let each fan out
    await asyncio.sleep(1.0)
    cpu = cpu_seconds(pid) - cpu_before
    last = []
    if proc is not None:
        arrivals = await asyncio.to_thread(out.get, True, 600)
        proc.join(30)
        last = [max(arrivals[b]) - t for b, t in sent_at.items() if b in arrivals]
    return {
        "cpu_ms_per_message": cpu / messages * 1000,
        "last_stream_ms": statistics.median(last) * 1000 if last else 0.0,
        "last_stream_p95_ms": sorted(last)[int(0.95 * (len(last) - 1))] * 1000 if last else 0.0,
    }


async def send_rate_with_streams(url: str, streams: int, count: int) -> float:
    if not streams:
        return await http_send_rate(url, count, tag="open0-")
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_readers, args=(url, streams, 10**9, ready, out))
    proc.start()
    try:
        await asyncio.to_thread(ready.wait, 120)
        await asyncio.sleep(1.0)
        return await http_send_rate(url, count, tag=f"open{streams}-")
    finally:
        proc.terminate()
        proc.join(10)


# --- 3. the carrier queue ----------------------------------------------------------------------


def queue_next_step(queued: int, rounds: int = 2000) -> float:
    """Microseconds for the next-step lookup with ``queued`` jobs waiting."""
    db = Database(":memory:")
    with db.tx() as conn:
        conn.executemany(
            "INSERT INTO carrier_jobs (kind, conversation_id, message_id, state, ready, next_at)"
            " VALUES ('send', ?, ?, 'queued', 1, ?)",
            [(f"conv_{n}", f"msg_{n}", 1_000 + n) for n in range(queued)],
        )
    started = time.perf_counter()
    for _ in range(rounds):
        db.one(carrier_queue.NEXT_DUE, (10**12,))
    return (time.perf_counter() - started) / rounds * 1e6


# --- 4. search ---------------------------------------------------------------------------------

# Message words as people write them: a few are everywhere, most are rare (Zipf's law,
# 4,000 words). "meeting" is about the 50th most common word and "porch" the 400th, so a
# search for both is a typical one; a vocabulary of twenty words in every message would
# make every word match half the history, which no real history does.
_NAMED = {50: "meeting", 400: "porch"}
_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "zu", "ba"]
WORDS = [
    _NAMED.get(rank) or "".join(_SYLLABLES[(rank // 12**k) % 12] for k in range(4)) + str(rank % 7)
    for rank in range(1, 4001)
]
WEIGHTS = [1 / rank for rank in range(1, 4001)]
RARE = "zephyrine"


def search_db(messages: int) -> Path:
    """A location with ``messages`` message bodies over 2,000 conversations (cached)."""
    path = CACHE_DIR / f"search-zipf-{messages}.sqlite3"
    if path.exists():
        return path
    CACHE_DIR.mkdir(exist_ok=True)
    server = MessagingServer(path, latency_ms=60_000)
    seed.apply_seed(server, "demo")
    rng = random.Random(messages)
    with server.db.tx() as conn:
        for c in range(2000):
            conn.execute(
                "INSERT INTO conversations (id, location_id, type, name, from_number,"
                " date_added, kind, last_message_date) VALUES (?, ?, 'TYPE_GROUP_SMS', ?,"
                " ?, '2026', 'contacts', ?)",
                (f"conv_s{c}", seed.LOCATION, f"Group {c}", seed.ADMIN_NUMBER, c),
            )
        batch = []
        for n in range(messages):
            words = rng.choices(WORDS, WEIGHTS, k=8)
            if n % 10_000 == 7:
                words.append(RARE)
            batch.append((f"m{n}", f"conv_s{n % 2000}", "inbound", " ".join(words), "2026", "d"))
            if len(batch) == 50_000:
                _insert(conn, batch)
                batch = []
        _insert(conn, batch)
        search.rebuild(conn, server.db)
    server.db.one("PRAGMA wal_checkpoint(TRUNCATE)")
    server.db.close()
    return path


def _insert(conn: object, rows: list[tuple[str, ...]]) -> None:
    conn.executemany(  # type: ignore[attr-defined]
        "INSERT INTO messages (id, conversation_id, direction, body, date_added, status)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


async def search_ms(path: Path, query: str, rounds: int = 20) -> float:
    app = create_app(path, rate_limit=0, latency_ms=60_000)
    transport = EmbeddedTransport(app.state.server, app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=ADMIN) as c:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            answer = await c.get("/conversations/search", params={"query": query, "limit": 20})
            times.append(time.perf_counter() - started)
            answer.raise_for_status()
    await app.state.server.aclose(final=True)
    app.state.server.db.close()  # before its folder goes (its log's copier stops)
    return statistics.median(times) * 1000


# --- 5. lists ----------------------------------------------------------------------------------


async def first_page_ms(path: Path, token: str, rounds: int = 20) -> float:
    app = create_app(path, rate_limit=0, latency_ms=60_000)
    transport = EmbeddedTransport(app.state.server, app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=headers) as c:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            (await c.get("/conversations/search", params={"limit": 20})).raise_for_status()
            times.append(time.perf_counter() - started)
    await app.state.server.aclose(final=True)
    app.state.server.db.close()
    return statistics.median(times) * 1000


# --- the run -----------------------------------------------------------------------------------


async def run(quick: bool) -> None:
    with on_cores(LOAD_CORES):
        await _server_sections(quick)
    with on_cores(SERVER_CORES):
        await _in_process_sections(quick)


SENDERS = (1, 8, 32)


async def _server_sections(quick: bool) -> None:
    sends = 300 if quick else 1500
    rounds = 1 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_rates: list[float] = []
        rates: dict[int, list[float]] = {concurrency: [] for concurrency in SENDERS}
        # With 8 senders: the server's CPU per send, and the carrier jobs it finished
        # meanwhile (the rest wait in its queue and go out after the sends).
        server_ms: list[float] = []
        jobs_during: list[int] = []
        # The transaction alone and over HTTP take turns, `rounds` times, each time on fresh
        # copies of the same data, and their medians are compared: this machine's speed
        # drifts (the transaction alone ran 3,080-4,245/s in three runs of the same code
        # within 20 minutes), and one measurement of each compared two speeds (issue 19).
        for n in range(rounds):
            (folder / f"w{n}").mkdir()
            with on_cores(SERVER_CORES):
                write_rates.append(write_transaction_rate(folder / f"w{n}", sends))
            served = fresh_copy(folder / f"h{n}").path
            with standalone(served) as (url, pid):
                # 8 senders is the goal's figure (as the issue measured it); 1 and 32 show
                # how the rate follows the concurrency (one sender waits out every round trip).
                for concurrency in SENDERS:
                    jobs_before, cpu_before = carrier_jobs_done(served), cpu_seconds(pid)
                    rates[concurrency].append(
                        await http_send_rate(
                            url, sends, concurrency=concurrency, tag=f"r{n}c{concurrency}-"
                        )
                    )
                    if concurrency == 8:
                        server_ms.append((cpu_seconds(pid) - cpu_before) / sends * 1000)
                        jobs_during.append(carrier_jobs_done(served) - jobs_before)
        write_rate = statistics.median(write_rates)

        def each(values: list[float]) -> str:
            return f"{statistics.median(values):,.0f} ({', '.join(f'{v:,.0f}' for v in values)})"

        rows = [
            ("what", "messages/s, median (each round)", "ratio"),
            ("write transaction, in-process", each(write_rates), "1.00"),
        ]
        for concurrency, measured in rates.items():
            senders = f"{concurrency} sender{'s' if concurrency > 1 else ''}"
            what = f"POST /conversations/messages, {senders}"
            rows.append((what, each(measured), f"{statistics.median(measured) / write_rate:.2f}"))
        table(
            "1. Sends by concurrency (goal: 8 senders at least 0.5 of the write transaction alone;"
            " medians of rounds taking turns)",
            rows,
        )
        by_round = [http / write for http, write in zip(rates[8], write_rates, strict=True)]
        shown = ", ".join(f"{r:.2f}" for r in by_round)
        print(f"  8 senders against the transaction of their own round: {shown}")
        (folder / "layers").mkdir()
        with on_cores(SERVER_CORES):
            layers = await send_layers_ms(folder / "layers", sends)
        http_ms = 1000 / statistics.median(rates[8])
        cpu_ms = statistics.median(server_ms)
        # The carrier's queue falls behind while the sends come in (its jobs take turns with
        # the requests on one loop) and finishes the rest after them: only the jobs done
        # during the sends count against their rate.
        done = statistics.median(jobs_during)
        carrier_ms = layers["carrier"] * done / sends
        table(
            "   where a send's time goes (ms per send, in-process on one core; HTTP: 8 senders)",
            [
                ("layer", "ms per send", "added"),
                ("the write transaction", f"{1000 / write_rate:.3f}", ""),
                (
                    "the route's own work (checks + transaction)",
                    f"{layers['route']:.3f}",
                    f"{layers['route'] - 1000 / write_rate:+.3f}",
                ),
                (
                    "the ASGI app in-process (send path, middleware)",
                    f"{layers['app']:.3f}",
                    f"{layers['app'] - layers['route']:+.3f}",
                ),
                (
                    f"the carrier's jobs done during the sends ({done:,.0f} of {sends:,};"
                    f" {layers['carrier']:.3f} ms CPU each)",
                    "",
                    f"+{carrier_ms:.3f}",
                ),
                (
                    "the server's CPU over HTTP (the rest: uvicorn, kernel, collector;"
                    " the same code run among other requests)",
                    f"{cpu_ms:.3f}",
                    f"{cpu_ms - layers['app'] - carrier_ms:+.3f}",
                ),
                (
                    "over HTTP (1 / rate; the rest: idle)",
                    f"{http_ms:.3f}",
                    f"{http_ms - cpu_ms:+.3f}",
                ),
            ],
        )
        # Each figure on a server of its own, so nothing left over from the one before
        # (delivery reports of earlier sends, streams still closing) is counted in it.
        messages = 30
        rows = [("streams", "server CPU ms/message", "last stream ms (median)", "p95 ms")]
        results = {}
        for streams in (0, 10, 500):
            with standalone(fresh_copy(folder / f"f{streams}").path) as (url, pid):
                results[streams] = await fanout(url, pid, streams, messages)
            r = results[streams]
            rows.append(
                (
                    str(streams),
                    f"{r['cpu_ms_per_message']:.2f}",
                    f"{r['last_stream_ms']:.1f}",
                    f"{r['last_stream_p95_ms']:.1f}",
                )
            )
        table(
            "2. Fan-out (goals: ≤ 0.05 ms CPU per extra stream per message;"
            " last of 500 within 50 ms)",
            rows,
        )
        extra = (results[500]["cpu_ms_per_message"] - results[10]["cpu_ms_per_message"]) / 490
        print(f"  server CPU per extra stream per message: {extra:.4f} ms")
        # Rounds of none then 500, each on a server of its own, their medians compared. A
        # burst of half a second held two or three of the streams' flushes (one every
        # ~0.2 s), so the ratio moved by ±0.07 between runs with where they fell; bursts of
        # `sends` hold more of them, and the rounds are as many as the sends' (issue 19).
        by_streams: dict[int, list[float]] = {0: [], 500: []}
        for n in range(rounds):
            for streams in by_streams:
                with standalone(fresh_copy(folder / f"s{streams}-{n}").path) as (url, _pid):
                    by_streams[streams].append(await send_rate_with_streams(url, streams, sends))
        idle, busy = (statistics.median(by_streams[k]) for k in (0, 500))
        table(
            "   sends with streams open (goal: 500 streams ≥ 0.8 of none; medians of rounds)",
            [
                ("streams open", "messages/s (each round)", "ratio"),
                ("0", f"{idle:,.0f} ({', '.join(f'{r:,.0f}' for r in by_streams[0])})", "1.00"),
                (
                    "500",
                    f"{busy:,.0f} ({', '.join(f'{r:,.0f}' for r in by_streams[500])})",
                    f"{busy / idle:.2f}",
                ),
            ],
        )


async def _in_process_sections(quick: bool) -> None:
    few, many = queue_next_step(3), queue_next_step(30_000)
    table(
        "3. Carrier queue, next step (goal: 30,000 within 2x of 3)",
        [
            ("queued", "µs per lookup", "ratio"),
            ("3", f"{few:.1f}", "1.00"),
            ("30,000", f"{many:.1f}", f"{many / few:.2f}"),
        ],
    )
    sizes = (100_000, 1_000_000) if not quick else (10_000, 100_000)
    queries = (RARE, "meeting porch", "meeting", "Group 17")
    rows = [("messages", *(f"'{q}' ms" for q in queries))]
    timings = {}
    for size in sizes:
        path = search_db(size)
        timings[size] = [await search_ms(path, q) for q in queries]
        rows.append((f"{size:,}", *(f"{t:.1f}" for t in timings[size])))
    table("4. Conversation search on FTS5 (goals: 100,000 within 10 ms; 1,000,000 within 2x)", rows)
    with tempfile.TemporaryDirectory() as tmp:
        scale = fresh_copy(Path(tmp)).path
        admin = await first_page_ms(scale, "demo-admin")
        staff = await first_page_ms(scale, "demo-staff")
    table(
        "5. First page of the list, 10,000 conversations (goal: staff within 2x of admin)",
        [
            ("user", "ms", "ratio"),
            ("admin", f"{admin:.1f}", "1.00"),
            ("staff, assigned data only", f"{staff:.1f}", f"{staff / admin:.2f}"),
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, smaller data")
    args = parser.parse_args(argv)
    asyncio.run(run(args.quick))


if __name__ == "__main__":
    main()
