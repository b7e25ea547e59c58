"""Two server processes on one database, joined through Redis (services/server/broker.py).

A real ``redis-server`` (Debian's, installed by dev.py) on a free 127.0.0.1 port, and
real server processes: every stream on either process gets every event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.api import ApiClient
from services.models import EventType
from services.server import auth, seed
from services.server.app import create_app
from services.server.broker import BrokerError, RedisBroker
from services.server.embedded import EmbeddedTransport
from tests.services.server.test_standalone import ROOT, crew_id, free_port
from tests.services.server_process import ServerProcess

REDIS = shutil.which("redis-server")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (dev.py installs it)"),
]
SENDS = 12
STREAMS_EACH = 3


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    assert REDIS is not None
    port = free_port()
    args = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(tmp_path)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "Redis did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.asynccontextmanager
async def server_process(db: Path, redis_url: str) -> AsyncIterator[str]:
    server = ServerProcess(db, latency_ms=20, env={"GROUPCHAT_REDIS_URL": redis_url})
    await server.start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def client(url: str) -> AsyncIterator[ApiClient]:
    api = ApiClient(url, seed.ADMIN_TOKEN)
    try:
        yield api
    finally:
        await api.aclose()


async def test_two_processes_deliver_every_event_to_every_stream_exactly_once(
    tmp_path: Path, redis_url: str
) -> None:
    db = tmp_path / "shared.db"
    async with (
        server_process(db, redis_url) as first,
        server_process(db, redis_url) as second,
        client(first) as a,
        client(second) as b,
    ):
        crew = await crew_id(a)
        start = (await a.events(wait=0)).cursor
        sent: set[str] = set()
        received: list[list[str]] = []
        following = asyncio.Event()

        async def follow(api: ApiClient) -> None:
            seen: list[str] = []
            received.append(seen)
            if len(received) == 2 * STREAMS_EACH:
                following.set()
            created: set[str] = set()
            async for event in api.stream_events(after=start):
                seen.append(event.id)
                if event.type is EventType.MESSAGE_CREATED:
                    created.add(str(event.data["messageId"]))
                if len(created) == SENDS:
                    return

        followers = [
            asyncio.create_task(follow(api)) for api in (a, b) for _ in range(STREAMS_EACH)
        ]
        await asyncio.wait_for(following.wait(), 20)
        for n in range(SENDS):
            api = (a, b)[n % 2]  # each process writes half of them
            sent.add((await api.send_message(crew, f"both ways {n}")).message_id)
        await asyncio.wait_for(asyncio.gather(*followers), 60)

        log: list[str] = []
        cursor = start
        while True:
            batch = await a.events(after=cursor, wait=0)
            if not batch.events:
                break
            log += [e.id for e in batch.events]
            cursor = batch.cursor
    assert len(sent) == SENDS
    for seen in received:
        assert len(seen) == len(set(seen)), "an event came twice on one stream"
        assert seen == log[: len(seen)], "a stream missed an event or got one out of order"


async def test_a_commit_in_one_server_wakes_the_others_readers_through_redis(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the broker only the change watch would notice, twice a second: silence it,
    # so only Redis can wake the second server.
    monkeypatch.setattr(auth, "WATCH_EVERY_S", 3600)
    db = tmp_path / "shared.db"
    app = create_app(db, seed="demo", rate_limit=0)
    one = app.state.server
    other = create_app(db, rate_limit=0).state.server
    await one.join(RedisBroker(redis_url))
    await other.join(RedisBroker(redis_url))
    transport = EmbeddedTransport(one, app=app)
    other.resume()
    try:
        async with ApiClient("http://one", seed.ADMIN_TOKEN, transport=transport) as api:
            crew = await crew_id(api)
            cursor = other.hub.head()  # read now: only a wake-up makes it read again
            woken = asyncio.create_task(other.hub.wait(cursor, 3600))
            await asyncio.sleep(0)  # the reader is waiting before the message is sent
            assert not woken.done()
            await api.send_message(crew, "heard elsewhere")
            await asyncio.wait_for(woken, 20)
        assert other.hub.head() > cursor
        assert other.broker is not None and other.broker.heard >= 1
    finally:
        await one.aclose(final=True)
        await other.aclose(final=True)


async def test_an_unreachable_redis_is_refused_in_a_sentence() -> None:
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BrokerError, match="did not answer"):
        await broker.start(lambda: None)


def test_the_server_will_not_start_without_its_redis(tmp_path: Path) -> None:
    env = dict(os.environ, GROUPCHAT_REDIS_URL=f"redis://:secret@127.0.0.1:{free_port()}/0")
    done = subprocess.run(
        [sys.executable, "-m", "services.server", "--db", str(tmp_path / "x.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Redis at GROUPCHAT_REDIS_URL did not answer" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr
