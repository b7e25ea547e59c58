"""The sandbox server at scale: message ingest rate and event fan-out to 20 SSE clients.

    .venv/bin/python -m bench.bench_backend [--messages N] [--concurrency C] [--clients K]

Starts ``python -m services.server`` on a free 127.0.0.1 port over a copy of
the scale seed (``--rate-limit 0``, the carrier's default 300 ms latency, so
deliveries and their status events run as in the demo), and measures through
``services.api.ApiClient``:

1. ingest: N messages sent with ``POST /conversations/messages`` by C
   concurrent senders into the 100-message group (5 recipients each);
   messages per second from first send to last answer;
2. fan-out: K clients follow ``GET /events`` as server-sent events; one
   message at a time is sent and the time until all K received its
   MessageCreated is taken (median, p95, max), plus every event delivered to
   every client per second over the run.

Clients and server share this machine's cores, so client parsing is part of
the figures. The server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.scale_seed import SHORT_THREAD, fresh_copy
from services.api import ApiClient, RetryPolicy
from services.models import EventType

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(db: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "services.server", "--host", "127.0.0.1", "--port", str(port)]
    # Warnings only: a line per request on this terminal buried the figures it prints.
    args += ["--db", str(db), "--rate-limit", "0", "--log-level", "warning"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the messaging server exited at start-up")
            with contextlib.suppress(httpx.HTTPError):
                auth = {"Authorization": f"Bearer {TOKEN}"}
                if httpx.get(f"{url}/users/me", headers=auth, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the messaging server did not start in 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(url: str) -> ApiClient:
    return ApiClient(url, TOKEN, location_id="loc_demo", retry=RetryPolicy.never())


async def ingest(url: str, count: int, concurrency: int) -> dict[str, float]:
    async with client(url) as api:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(count):
            queue.put_nowait(n)
        latencies: list[float] = []

        async def sender() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                started = time.perf_counter()
                await api.send_message(SHORT_THREAD, f"ingest {n}", client_message_id=f"ing-{n}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "count": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
    }


async def settle(url: str) -> None:
    """Wait until the carrier has delivered the ingest burst (no event for a second)."""
    async with client(url) as api:
        cursor = (await api.events(wait=0)).cursor
        for _ in range(120):
            batch = await api.events(after=cursor, wait=1)
            if not batch.events:
                return
            cursor = batch.cursor or cursor


async def fan_out(url: str, clients: int, messages: int) -> dict[str, float]:
    followers = [client(url) for _ in range(clients)]
    sender = client(url)
    cursor = (await sender.events(wait=0)).cursor
    seen: list[dict[str, float]] = [{} for _ in range(clients)]
    delivered = [0] * clients
    connected = [asyncio.Event() for _ in range(clients)]

    async def follow(i: int) -> None:
        stream = followers[i].stream_events(after=cursor)
        connected[i].set()  # the GET is issued when the stream is first awaited below
        async for event in stream:
            delivered[i] += 1
            if event.type is EventType.MESSAGE_CREATED:
                seen[i][str(event.data.get("messageId"))] = time.perf_counter()

    tasks = [asyncio.create_task(follow(i)) for i in range(clients)]
    try:
        for flag in connected:
            await flag.wait()
        await asyncio.sleep(1.0)  # let every stream's request reach the server
        spreads: list[float] = []
        started_all = time.perf_counter()
        for n in range(messages):
            started = time.perf_counter()
            result = await sender.send_message(SHORT_THREAD, f"fan-out {n}")
            message_id = str(result.message_id)
            for _ in range(2000):
                if all(message_id in s for s in seen):
                    break
                await asyncio.sleep(0.001)
            else:
                raise RuntimeError(f"not every client got {message_id} in 2 s")
            spreads.append(max(s[message_id] for s in seen) - started)
        await asyncio.sleep(1.0)  # status events of the last deliveries
        elapsed = time.perf_counter() - started_all
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for f in followers:
            await f.aclose()
        await sender.aclose()
    ordered = sorted(spreads)
    return {
        "clients": clients,
        "messages": messages,
        "median_ms": statistics.median(spreads) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "max_ms": ordered[-1] * 1000,
        "events_delivered": sum(delivered),
        "events_per_second": sum(delivered) / elapsed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--fan-out-messages", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_copy(Path(tmp))
        with server(db.path) as url:
            got = asyncio.run(ingest(url, args.messages, args.concurrency))
            print(
                f"ingest: {got['count']} messages to a 5-member group in {got['seconds']:.1f} s "
                f"= {got['per_second']:.0f} messages/s with {args.concurrency} senders "
                f"(answer median {got['median_ms']:.0f} ms, p95 {got['p95_ms']:.0f} ms)"
            )
            asyncio.run(settle(url))
            fan = asyncio.run(fan_out(url, args.clients, args.fan_out_messages))
            print(
                f"fan-out to {fan['clients']} SSE clients, {fan['messages']} messages one at a "
                f"time: send -> all received median {fan['median_ms']:.0f} ms, "
                f"p95 {fan['p95_ms']:.0f} ms, max {fan['max_ms']:.0f} ms; "
                f"{fan['events_delivered']:,} events delivered, "
                f"{fan['events_per_second']:.0f} events/s"
            )


if __name__ == "__main__":
    main()
