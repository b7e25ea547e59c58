"""Soak: the app kept open while thousands of texts arrive, its memory sampled as they come.

    .venv/bin/python -m bench.bench_soak [--messages N] [--every N]

The whole app (``app.views.shell.Shell``, wide layout) runs in-process on Flet's
real diff engine in the fake session (tests/app/fake_session.py), against the
embedded sandbox seeded by bench/scale_seed.py (50,000 contacts, 10,000
conversations), as bench/bench_thread.py does, in a fresh process. Texts from a
group's participants go *through the server*: a second client on the same
embedded server posts each one to ``/sandbox/inbound``; the app hears of it the
way it always does (Sync, the device cache, the views). The server runs with
its rate limit off (as the load benchmarks do), so the app's own requests
(marking the open thread read, once a text) are never refused mid-soak.

Three phases of N texts each, in this order:

1. the conversation list open, no thread (the baseline);
2. the group's thread open;
3. the thread closed again (back to the list).

Memory is the process's resident set (VmRSS, after a garbage collection) every
``--every`` texts; each phase's growth is the least-squares slope over its
samples after the first ``WARMUP`` texts (the thread's window filling up to its
bound, caches warming), printed as MB per 1,000 messages; the whole phase's
first and last figures are printed beside it. The issue's baseline was measured in
the browser (the app's Python process serving Chromium at 5 texts a second);
this measures the app's process alone, as fast as it takes the texts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MB_PER_1000 = 5.0
WARMUP = 200  # texts of each phase left out of its slope
# Texts between two rounds of dismissing the in-app notices (a SnackBar lasts 5 s in the
# client; texts arrive here about 7 a second).
DISMISS_EVERY = 20
PHASES = ("list open (baseline)", "thread open", "thread closed")


def rss_mb() -> float:
    """The resident set now (not the peak): what a phone's system looks at."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status: Linux only")


def slope_per_1000(samples: list[tuple[int, float]]) -> float:
    """Least-squares MB per 1,000 messages over (messages so far, MB) samples."""
    xs = [float(x) for x, _ in samples]
    ys = [y for _, y in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 1000


def _fast_embedded(data: Path) -> Any:
    """The app's embedded server, rate limit and simulated latency off, made before the app
    starts so the app uses it (app/backend.py keeps one transport per database file)."""
    from app import backend
    from services import paths
    from services.server.embedded import embedded_transport

    db = str(paths.embedded_db_path(data))
    transport = embedded_transport(db, seed=None, rate_limit=0, latency_ms=0)
    backend._transports[db] = transport
    return transport


async def _texter(transport: Any) -> Any:
    """A second client on the same server: the participants' phones."""
    from services.api.client import ApiClient

    return ApiClient(
        "http://embedded.invalid", "demo-admin", transport=transport, location_id="loc_demo"
    )


async def _dismiss_notices(fake: Any) -> int:
    """Do what the client does when an in-app notice (a SnackBar) has been shown: report it
    dismissed, so the page forgets it. The fake session has no client to do so, and every
    notice it ever showed would stay in memory (an artefact, not the app's). Returns how
    many were showing."""
    import flet as ft

    page = fake.page
    shown = [d for d in page._dialogs.controls if isinstance(d, ft.SnackBar)]
    for notice in shown:
        await fake.event(notice, "dismiss")
    return len(shown)


async def _until(condition: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"waited {timeout_s:.0f} s for {what}")
        await asyncio.sleep(0.002)


async def soak(data: Path, count: int, every: int) -> dict[str, Any]:
    from bench import bench_thread
    from bench.scale_seed import SHORT_THREAD

    transport = _fast_embedded(data)
    fake, shell, timeline = await bench_thread.start_app(data)
    await bench_thread._quiet(shell)
    store = shell.backend.store
    texter = await _texter(transport)
    conv = store.conversation(SHORT_THREAD)
    if conv is None:
        raise RuntimeError("the device cache has no full record of the group")
    phones = [p.phone for p in conv.participants]
    sent = 0
    phases: dict[str, Any] = {}
    started = time.perf_counter()
    for phase in PHASES:
        if phase == "thread open":
            await shell.open_thread(SHORT_THREAD)
            await bench_thread._quiet(shell)
        elif phase == "thread closed":
            shell.go_list()
        samples: list[tuple[int, float]] = []
        notices = 0
        for n in range(count + 1):
            if n % DISMISS_EVERY == 0:
                notices += await _dismiss_notices(fake)
            if n % every == 0:
                # The fake socket keeps what it sent, and bench_thread's timeline when; a
                # real socket keeps neither.
                fake.conn.sent.clear()
                timeline.times.clear()
                gc.collect()
                samples.append((n, rss_mb()))
            if n == count:
                break
            sent += 1
            body = f"Soak {sent}: running ten minutes late, save me a spot"
            await texter.sandbox_inbound(
                phones[sent % len(phones)], [conv.from_number, *phones], body
            )
            await _until(
                lambda body=body: (store.summary(SHORT_THREAD).last_message_body or "") == body,
                "the text to reach the device cache",
            )
        rows = len(shell.thread_vm.rows) if shell.thread_vm is not None else 0
        bubbles = len(shell.thread_view.bubbles) if shell.thread_view is not None else 0
        phases[phase] = {
            "mb_per_1000": slope_per_1000([s for s in samples if s[0] >= min(WARMUP, count // 2)]),
            "first_mb": samples[0][1],
            "last_mb": samples[-1][1],
            "rows_in_window": rows,
            "bubbles_alive": bubbles,
            "notices": notices,
        }
    elapsed = time.perf_counter() - started
    await texter.aclose()
    await bench_thread._stop(shell)
    return {"phases": phases, "messages": sent, "seconds": elapsed}


def child(argv: list[str]) -> None:
    data, count, every = Path(argv[0]), int(argv[1]), int(argv[2])
    print("RESULT " + json.dumps(asyncio.run(soak(data, count, every))), flush=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="texts per phase")
    parser.add_argument("--every", type=int, default=100, help="texts between samples")
    args = parser.parse_args(argv)
    from bench import bench_thread

    with tempfile.TemporaryDirectory() as tmp:
        data = bench_thread.prepare(Path(tmp), returning=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        command = [sys.executable, "-m", "bench.bench_soak", "--child", str(data)]
        proc = subprocess.run(
            [*command, str(args.messages), str(args.every)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    result = next(
        (json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")),
        None,
    )
    if result is None:
        raise RuntimeError(f"soak child failed:\n{proc.stdout}\n{proc.stderr}")
    report(result, args.messages)


def report(r: dict[str, Any], count: int) -> None:
    print(
        f"soak: {r['messages']:,} texts through the embedded server ({count:,} a phase) in "
        f"{r['seconds']:.0f} s, the app's process (VmRSS after gc; slope after the first "
        f"{min(WARMUP, count // 2)} of each phase), budget "
        f"{BUDGET_MB_PER_1000:.0f} MB per 1,000 with the thread open and after closing it"
    )
    for phase, p in r["phases"].items():
        verdict = (
            ""
            if phase.startswith("list")
            else (" met" if p["mb_per_1000"] <= BUDGET_MB_PER_1000 else " MISSED")
        )
        print(
            f"  {phase}: {p['mb_per_1000']:+.1f} MB per 1,000 messages ({p['first_mb']:.0f} -> "
            f"{p['last_mb']:.0f} MB; {p['rows_in_window']} rows in the thread's window, "
            f"{p['bubbles_alive']} bubbles kept; {p['notices']} in-app notices shown and "
            f"dismissed){verdict}"
        )


if __name__ == "__main__":
    main()
