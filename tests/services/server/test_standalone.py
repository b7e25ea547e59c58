"""The standalone server (``python -m services.server``): SSE, restarts, and nothing lost.

These start real uvicorn processes on free 127.0.0.1 ports and stop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.models import Event, EventType
from services.server import seed

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]
AUTH = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: Path, port: int, log: Path | None = None) -> None:
        self.db, self.port, self.log = db, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        args = [sys.executable, "-m", "services.server", "--port", str(self.port)]
        args += ["--db", str(self.db), "--seed", "demo", "--rate-limit", "0", "--latency-ms", "20"]
        with contextlib.ExitStack() as files:
            stderr = files.enter_context(self.log.open("wb")) if self.log else None
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the messaging server exited at start-up"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/users/me", headers=AUTH, timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError("the messaging server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "standalone.db", free_port()).start()
    yield running
    running.stop()


@pytest.fixture
async def api(server: Server) -> AsyncIterator[ApiClient]:
    async with ApiClient(server.url, seed.ADMIN_TOKEN, retry=RetryPolicy.never()) as client:
        yield client


async def crew_id(api: ApiClient) -> str:
    page = await api.search_conversations(limit=100)
    return next(c.id for c in page.conversations if c.name == "Weekend crew")


async def test_binds_loopback_and_serves_the_demo(server: Server, api: ApiClient) -> None:
    assert (await api.me()).id == seed.ADMIN_ID
    assert len(await api.phone_numbers()) == 3


async def test_server_sent_events_follow_a_send(api: ApiClient) -> None:
    conversation = await crew_id(api)
    start = (await api.events(wait=0)).cursor
    received: list[Event] = []

    async def follow() -> None:
        async for event in api.stream_events(after=start):
            received.append(event)
            if (
                event.type is EventType.MESSAGE_STATUS_UPDATED
                and event.data["status"] == "delivered"
            ):
                return

    follower = asyncio.create_task(follow())
    sent = await api.send_message(conversation, "over SSE")
    await asyncio.wait_for(follower, 20)
    assert received[0].type is EventType.MESSAGE_CREATED
    assert received[0].data["messageId"] == sent.message_id
    ids = [int(e.id) for e in received]
    assert ids == sorted(set(ids))

    # Reconnecting from a cursor in the middle replays exactly what came after it.
    middle = received[1].id
    again: list[Event] = []
    async for event in api.stream_events(after=middle):
        again.append(event)
        if event.id == received[-1].id:
            break
    assert [e.id for e in again] == [e.id for e in received[2:]]


async def test_a_stop_ends_every_open_stream_as_an_answer_after_all_it_logged(
    tmp_path: Path,
) -> None:
    """SIGTERM with devices following: each stream ends as an answer does (the chunked
    body closed), after every event logged, so a device reconnects at once to the next
    server; none is cut when the graceful stop's time is up, with a traceback in the log."""
    log = tmp_path / "server.log"
    running = Server(tmp_path / "stop.db", free_port(), log=log).start()
    try:
        async with ApiClient(running.url, seed.ADMIN_TOKEN, retry=RetryPolicy.never()) as api:
            conversation = await crew_id(api)
            start = (await api.events(wait=0)).cursor
        headers = {**AUTH, "Accept": "text/event-stream"}
        seen: list[list[str]] = [[] for _ in range(3)]

        async def follow(client: httpx.AsyncClient, mine: list[str]) -> None:
            params = {"after": start}
            async with client.stream("GET", "/events", params=params, headers=headers) as r:
                async for line in r.aiter_lines():  # raises if the body is cut short
                    if line.startswith("event:"):
                        mine.append(line.removeprefix("event:").strip())

        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            followers = [asyncio.create_task(follow(client, mine)) for mine in seen]
            await client.post(
                "/conversations/messages",
                headers=AUTH,
                json={"type": "SMS", "conversationId": conversation, "message": "before the stop"},
            )
            for _ in range(200):
                if all("MessageCreated" in mine for mine in seen):
                    break
                await asyncio.sleep(0.05)
            assert running.proc is not None
            running.proc.terminate()
            # A guard against hanging, not a measure of time: each must end on its own.
            done, _ = await asyncio.wait(followers, timeout=20)
            assert len(done) == 3
            for follower in done:
                assert follower.exception() is None
        # uvicorn raises the signal it stopped on again once stopped: the usual exit.
        assert running.proc.wait(20) == -signal.SIGTERM
        assert all("MessageCreated" in mine for mine in seen)
        text = log.read_text(encoding="utf-8")
        assert "Traceback" not in text and "graceful shutdown exceeded" not in text
    finally:
        running.stop()


async def test_a_stream_is_gzipped_for_a_client_that_accepts_it(
    server: Server, api: ApiClient
) -> None:
    conversation = await crew_id(api)
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=20) as http:
        for accepted, encoding in (("gzip, deflate", "gzip"), ("identity", None)):
            headers = {"Accept": "text/event-stream", "Accept-Encoding": accepted}
            async with http.stream("GET", "/events", headers=headers) as stream:
                assert stream.headers.get("content-encoding") == encoding
                assert stream.headers["vary"] == "Accept-Encoding"
                sent = await api.send_message(conversation, f"read as {accepted}")
                wire = b""
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                read = b""
                async for chunk in stream.aiter_raw():  # the bytes as they came
                    wire += chunk
                    read += inflate.decompress(chunk) if encoding else chunk
                    if sent.message_id.encode() in read:
                        break
            assert wire.startswith(b"\x1f\x8b") == (encoding == "gzip")
            assert b"event: MessageCreated" in read
            assert f"read as {accepted}".encode() in read


@pytest.mark.slow
async def test_nothing_acknowledged_is_lost_when_the_server_is_killed(tmp_path: Path) -> None:
    server = Server(tmp_path / "killed.db", free_port()).start()
    try:
        await _burst_kill_and_check(server)
    finally:
        server.stop()


async def _burst_kill_and_check(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=5) as http:
        found = await http.get("/conversations/search", params={"limit": 100})
        conversation = next(
            c["id"] for c in found.json()["conversations"] if c["name"] == "Weekend crew"
        )
        acked: dict[str, str] = {}
        tried: list[str] = []
        killed = asyncio.Event()
        enough = asyncio.Event()

        async def worker(n: int) -> None:
            for i in range(10_000):
                if killed.is_set():
                    return
                cmid = f"w{n}-{i}"
                tried.append(cmid)
                body = {"type": "SMS", "conversationId": conversation, "message": cmid}
                body["clientMessageId"] = cmid
                try:
                    answer = await http.post("/conversations/messages", json=body)
                except httpx.HTTPError:
                    return
                if answer.status_code == 201:
                    acked[cmid] = answer.json()["messageId"]
                    if len(acked) >= 80:
                        enough.set()

        async def killer() -> None:
            await enough.wait()
            server.kill()  # SIGKILL mid-burst: no shutdown, no flush
            killed.set()

        await asyncio.gather(killer(), *(worker(n) for n in range(8)))

    assert server.proc is not None and server.proc.returncode == -signal.SIGKILL
    server.start()  # same database; --seed demo must not seed it again
    async with ApiClient(server.url, seed.ADMIN_TOKEN, retry=RetryPolicy.never()) as api:
        stored = [m async for m in api.iter_messages(conversation, page_size=100)]
        by_cmid: dict[str, list[str]] = {}
        for message in stored:
            if message.client_message_id:
                by_cmid.setdefault(message.client_message_id, []).append(message.id)
        for cmid, message_id in acked.items():
            assert by_cmid.get(cmid) == [message_id], cmid
        # The client's outbox then retries what was never acknowledged: still once each.
        for cmid in tried:
            if cmid not in acked:
                await api.send_message(conversation, cmid, client_message_id=cmid)
        stored = [m async for m in api.iter_messages(conversation, page_size=100)]
        cmids = [m.client_message_id for m in stored if m.client_message_id]
        assert sorted(cmids) == sorted(set(tried))
        users = await api.teammates()
        assert len(users) == len(seed.USERS)  # not seeded twice
