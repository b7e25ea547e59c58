"""Fault tests against the standalone server process: 500 messages through
connection drops, SIGKILLed server restarts, 5xx answers and lost answers
(timeouts) — each lands exactly once, in order per thread, and shows as
delivered; and messages queued while the backend is down go out after an app
restart with no user action."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from services.api import ApiClient, RetryPolicy
from services.backoff import Backoff
from services.models import Message, MessageStatus
from services.store import Store
from services.store_types import Change, MessageAdded
from services.sync import LiveMode, Sync
from tests.services.server_process import ServerProcess
from tests.services.sync_support import FlakyTransport, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

MESSAGES = 500
SEED = 2026
QUICK = Backoff(base=0.05, cap=1.0)


def brisk_client(url: str, transport: httpx.AsyncBaseTransport | None = None) -> ApiClient:
    # Few in-client retries: the faults must reach Sync and the outbox, which own recovery.
    return ApiClient(
        url,
        "demo-admin",
        transport=transport,
        timeout=5.0,
        retry=RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.2),
    )


async def sendable_threads(url: str, count: int) -> list[str]:
    async with brisk_client(url) as client:
        found = (await client.search_conversations(limit=50)).conversations
        return [c.id for c in found if c.is_group and not c.blocked][:count]


async def server_messages(url: str, cid: str) -> list[Message]:
    async with brisk_client(url) as client:
        return list(reversed([m async for m in client.iter_messages(cid, page_size=100)]))


async def chaos(server: ServerProcess, rng: random.Random, done: asyncio.Event) -> None:
    """Kill the server now and then, and bring it back after a moment."""
    while not done.is_set():
        await asyncio.sleep(rng.uniform(1.0, 2.5))
        if done.is_set():
            return
        server.kill()
        await asyncio.sleep(rng.uniform(0.2, 1.2))
        await server.start()


async def test_500_messages_survive_drops_kills_5xx_and_timeouts(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    server = ServerProcess(tmp_path / "sandbox.db")
    await server.start()
    threads = await sendable_threads(server.url, 3)
    assert len(threads) == 3

    flaky = FlakyTransport(
        httpx.AsyncHTTPTransport(),
        seed=SEED,
        refuse=0.03,
        server_error=0.05,
        lose_answer=0.05,
        drop_stream=0.3,
    )
    sender_store = Store(str(tmp_path / "sender.db"))
    sender = Sync(
        brisk_client(server.url, flaky),
        sender_store,
        files_dir=tmp_path / "files",
        backoff=QUICK,
        outbox_backoff=QUICK,
    )
    # A second device follows the same threads over a clean network (SSE), through the kills.
    observer_store = Store(str(tmp_path / "observer.db"))
    added: Counter[str] = Counter()

    def count(change: Change) -> None:
        if isinstance(change, MessageAdded) and change.message.body.startswith("fault "):
            added[change.message.body] += 1

    observer_store.subscribe(count)
    observer = Sync(brisk_client(server.url), observer_store, backoff=QUICK)
    await sender.start()
    await observer.start()
    done = asyncio.Event()
    chaos_task = asyncio.create_task(chaos(server, rng, done))
    expected: dict[str, list[str]] = {cid: [] for cid in threads}
    try:
        for i in range(MESSAGES):
            cid = threads[rng.randrange(len(threads))]
            body = f"fault {i:03d}"
            expected[cid].append(body)
            await sender.send(cid, body)
            if i % 10 == 9:
                await asyncio.sleep(0.25)  # typed over a while, so faults land mid-stream

        def all_sent() -> bool:
            return not sender_store.outbox()

        await eventually(all_sent, within=60)
        done.set()
        await chaos_task
        if server.kills == 0 or not server_is_up(server):
            await server.start()

        def all_delivered(store: Store) -> bool:
            for cid, bodies in expected.items():
                mine = [m for m in store.messages(cid, limit=1000) if m.body.startswith("fault ")]
                if len(mine) != len(bodies):
                    return False
                if any(m.status is not MessageStatus.DELIVERED for m in mine):
                    return False
            return True

        try:
            await eventually(lambda: all_delivered(sender_store), within=30)
            await eventually(lambda: all_delivered(observer_store), within=30)
        except AssertionError:
            raise AssertionError(
                f"sender {summary(sender_store, expected)} observer"
                f" {summary(observer_store, expected)} sender mode {sender.mode}"
                f" {sender.connection_state} observer {observer.mode} {observer.connection_state}"
                f" cursors {sender_store.cursor()} {observer_store.cursor()}"
            ) from None
    finally:
        done.set()
        chaos_task.cancel()
        await asyncio.gather(chaos_task, return_exceptions=True)
        await sender.stop()
        await observer.stop()
        await sender.client.aclose()
        await observer.client.aclose()

    try:
        for cid, bodies in expected.items():
            on_server = [m.body for m in await server_messages(server.url, cid)]
            assert [b for b in on_server if b.startswith("fault ")] == bodies
            shown = [m for m in sender_store.messages(cid, limit=1000) if m.body in set(bodies)]
            assert [m.body for m in shown] == bodies
            assert {m.local_state for m in shown} == {"sent"}
            seen = [m.body for m in observer_store.messages(cid, limit=1000)]
            assert [b for b in seen if b.startswith("fault ")] == bodies
        assert set(added.values()) == {1} and len(added) == MESSAGES
    finally:
        server.stop()
    assert server.kills >= 3
    assert flaky.counts["5xx"] > 0 and flaky.counts["lost"] > 0 and flaky.counts["refused"] > 0
    print(
        f"\nfault test: {MESSAGES} messages, {server.kills} server kills, faults {flaky.counts},"
        f" {time.monotonic() - started:.1f}s"
    )


def summary(store: Store, expected: dict[str, list[str]]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for cid in expected:
        for m in store.messages(cid, limit=1000):
            if m.body.startswith("fault "):
                found[f"{m.local_state}/{m.status}"] += 1
                if m.status is not MessageStatus.DELIVERED:
                    found[f"{m.key}|{m.id}|{m.body}|{m.date_added}"] += 1
    return dict(found)


def server_is_up(server: ServerProcess) -> bool:
    proc = server._proc
    return proc is not None and proc.poll() is None


async def test_queued_while_backend_is_down_delivered_after_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "sandbox.db")
    await server.start()
    threads = await sendable_threads(server.url, 1)
    server.kill()  # the backend goes down before the user writes anything

    db = str(tmp_path / "app.db")
    store = Store(db)
    sync = Sync(
        brisk_client(server.url),
        store,
        files_dir=tmp_path / "files",
        backoff=QUICK,
        outbox_backoff=QUICK,
        live=LiveMode.SSE,
    )
    await sync.start()
    for i in range(5):
        await sync.send(threads[0], f"offline {i}")
    await eventually(lambda: sync.connection_state.value == "offline")
    await sync.stop()  # the user quits the app
    await sync.client.aclose()
    store.close()

    await server.start()
    store = Store(db)  # the app starts again; nobody touches anything
    assert [m.local_state for m in store.messages(threads[0])[-5:]] == ["sending"] * 5
    sync = Sync(brisk_client(server.url), store, files_dir=tmp_path / "files", backoff=QUICK)
    await sync.start()
    try:
        await eventually(lambda: not store.outbox(), within=30)
        bodies = [m.body for m in await server_messages(server.url, threads[0])]
        assert [b for b in bodies if b.startswith("offline ")] == [f"offline {i}" for i in range(5)]
        assert [m.local_state for m in store.messages(threads[0])[-5:]] == ["sent"] * 5
    finally:
        await sync.stop()
        await sync.client.aclose()
        server.stop()
