"""The app at scale through a Flet session in-process: start, long thread, new messages, memory.

    .venv/bin/python -m bench.bench_thread [--cold-runs N] [--messages N]

The whole app (``app.views.shell.Shell``, wide layout: list and thread side by
side) runs on Flet's real diff engine in the fake session of
tests/app/fake_session.py, against the embedded sandbox seeded by
bench/scale_seed.py and a device cache (``services.store.Store``) holding all
10,000 conversations and every message of the 10,000- and 100-message
threads. Bytes are the msgpack-encoded messages the session would send to the
browser. Figures:

1. cold start (a fresh process each run): process spawn to the conversation
   list painted from the cache, and the bytes of that paint; as a returning user
   (the sign-in remembered, as after the app's first start: the budgeted figure)
   and on a first start (the server must say who the token is first);
2. opening the 10,000-message thread: time to its first page shown and bytes
   sent, then until the network refresh of the newest page has settled;
   one page of older messages (scrolling up);
3. one new message arriving in the open thread (the server's MessageCreated
   event applied to the store, as Sync does): Python time and bytes sent,
   in the 10,000-message thread and in the 100-message one, and at the end in a
   phone's layout (390 x 844), where the thread has the screen to itself; a text
   that opens a day in the thread brings its "Today" divider too, and is shown apart
   from the budgeted maximum (for when only the text changed);
4. peak RSS of that process (VmHWM; see _rss_mb for why not getrusage), with all of the above
   loaded and a contact search in the New Group wizard done (which builds
   the embedded backend's index of 50,000 contacts).

Each measuring run is its own subprocess, so earlier benchmarks in the same
``python -m bench`` don't inflate the memory figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCROLLED_PAGES = 10  # older pages loaded before the last arrival test
INBOUND_QUIET_S = 0.4  # a server-sent text is done when the page has been quiet this long
WIZARD_ROUNDS = 5  # the wizard's keystrokes are typed this many times; medians reported
# Issue 19's budgets (the earlier ones, in RESULTS.md's history: 15 ms and 4 KB a message,
# 1.5 s cold start, 20 ms a keystroke, 300 MB).
BUDGETS = {
    "first_page_ms": 300.0,
    "message_ms": 3.0,  # a new message in the open thread, when only it changed
    "message_bytes": 1024,
    "long_vs_short": 1.5,
    "cold_start_s": 0.5,
    "keystroke_ms": 8.0,  # the worst keystroke's median: half a 60 Hz frame
    "keystroke_max_ms": 50.0,  # no single keystroke over this
    "rss_mb": 150.0,
}


def _seed() -> Any:
    """bench/scale_seed.py, imported when used: it imports the server (~0.15 s), which a
    cold-start child must not count as the app's start."""
    from bench import scale_seed

    return scale_seed


# --- the device cache: built once through the real client, then reused --------------------------


def _cache_key() -> str:
    # The store's schema may change while the app is developed: a new schema, a new cache.
    schema = (ROOT / "services" / "store_schema.py").read_bytes()
    return hashlib.sha256(schema + _seed().VERSION.encode()).hexdigest()[:12]


def cached_store() -> Path:
    path = _seed().CACHE_DIR / f"store-{_cache_key()}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            db = _seed().fresh_copy(Path(tmp))
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            asyncio.run(_fill_store(db.path, partial))
            partial.rename(path)
        print(f"built device cache {path.name} in {time.perf_counter() - started:.1f} s")
    return path


async def _fill_store(backend_db: Path, target: Path) -> None:
    from services.api.client import ApiClient
    from services.server.embedded import embedded_transport
    from services.store import Store

    transport = embedded_transport(backend_db, seed=None, rate_limit=0, latency_ms=0)
    store = Store(str(target))
    async with ApiClient(
        "http://embedded.invalid", "demo-admin", transport=transport, location_id="loc_demo"
    ) as client:
        summaries: list[Any] = []
        after: tuple[Any, Any] = (None, None)
        while True:
            page = await client.search_conversations(
                limit=100, start_after_date=after[0], start_after_id=after[1]
            )
            summaries += page.conversations
            if len(page.conversations) < 100:
                break
            after = (page.conversations[-1].last_message_date, page.conversations[-1].id)
        store.put_conversations(summaries, replace=True)
        for cid in (_seed().LONG_THREAD, _seed().SHORT_THREAD):
            store.put_conversation(await client.get_conversation(cid))
            messages: list[Any] = []
            last = None
            while True:
                batch = await client.get_messages(cid, limit=100, last_message_id=last)
                messages += batch.messages
                if not batch.next_page:
                    break
                last = batch.last_message_id
            store.put_messages(cid, messages)
    store.close()
    await transport.aclose()


def prepare(tmp: Path, *, returning: bool = False) -> Path:
    """A data folder as the app keeps it (services/paths.py): the demo backend's file and
    the admin's device cache; ``returning``: also the sign-in the app remembers after its
    first start (app/remembered.py), so it opens the cache before asking the server."""
    from services import paths

    store = cached_store()
    backend = _seed().cached_db(quiet=True)
    data = tmp / "data"
    data.mkdir()
    shutil.copyfile(backend.path, paths.embedded_db_path(data))
    account = paths.account_dir(data, "embedded", "loc_demo", "usr_demo_admin")
    shutil.copyfile(store, paths.cache_db_path(account))
    if returning:
        asyncio.run(_remember_sign_in(data, account))
    return data


async def _remember_sign_in(data: Path, account: Path) -> None:
    """What the app's first start writes: who the token is, for the next start."""
    from app import backend as app_backend
    from app.config import AppConfig
    from services.api.client import ApiClient
    from services.server.embedded import embedded_transport

    cfg = AppConfig(token="demo-admin", location_id="loc_demo", data_dir=data)
    transport = embedded_transport(
        app_backend.paths.embedded_db_path(data), seed=None, rate_limit=0, latency_ms=0
    )
    async with ApiClient(
        "http://embedded.invalid", "demo-admin", transport=transport, location_id="loc_demo"
    ) as client:
        who = await app_backend._ask_who(client, cfg)
    await transport.aclose()
    assert app_backend._account(cfg, who.me) == account, "the cache must be the app's own"
    app_backend._remember(account, cfg, who)


# --- in the measuring process ------------------------------------------------------------------


class Timeline:
    """When each message left the session (seconds, perf_counter) and its size."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.times: list[float] = []
        conn = fake.conn
        original = conn.send_message

        def send_message(message: Any) -> None:
            original(message)
            self.times.append(time.perf_counter())

        conn.send_message = send_message

    def since(self, mark: int) -> tuple[list[float], list[int]]:
        sizes = [size for _, size in self.fake.conn.sent[mark:]]
        return self.times[mark:], sizes


async def start_app(data: Path) -> tuple[Any, Any, Timeline]:
    from app.config import AppConfig
    from app.views.shell import Shell
    from tests.app.fake_session import FakeSession, RecordingConnection

    conn = RecordingConnection()
    conn.loop = asyncio.get_running_loop()
    from flet.controls.context import _context_page
    from flet.messaging.session import Session

    session = Session(conn)
    conn.session = session
    _context_page.set(session.page)
    fake = FakeSession(session=session, conn=conn)
    timeline = Timeline(fake)
    fake.register(1280, 800)
    cfg = AppConfig(token="demo-admin", location_id="loc_demo", data_dir=data)
    _without_people_refresh()
    shell = Shell(session.page, cfg)
    await shell.start()
    return fake, shell, timeline


def _without_people_refresh() -> None:
    """Leave out the background copy of every contact into the device cache.

    At 50,040 contacts it is ~1,000 requests, ten times the embedded server's rate limit
    (100 per 10 s): for ~100 s every request of the app and of this benchmark competes
    with it and gets 429s. Reported in RESULTS.md as a finding; measured without it."""
    from services.sync import Sync

    async def skipped(self: Any) -> None:
        return None

    Sync.refresh_people = skipped  # type: ignore[method-assign]


async def cold_start(data: Path, spawned: float) -> dict[str, Any]:
    entered = time.time()
    fake, shell, _ = await start_app(data)
    painted = time.time()
    tiles = len(shell.conv_view.tiles)
    result = {
        "spawn_to_painted_s": painted - spawned,
        "in_process_s": painted - entered,
        "bytes": fake.total_bytes(),
        "tiles": tiles,
        "cached_conversations": len(shell.backend.store.conversations()),
    }
    await _stop(shell)
    return result


async def _stop(shell: Any) -> None:
    from app import backend

    await backend.close_all()
    for transport in backend._transports.values():
        await transport.aclose()


async def _quiet(shell: Any) -> None:
    """Wait until the list's background reload (Sync paging the server) has finished."""
    for _ in range(400):
        await asyncio.sleep(0.05)
        if not shell.conv_vm.loading:
            break
    await asyncio.sleep(0.2)


async def open_thread(fake: Any, shell: Any, timeline: Timeline, cid: str) -> dict[str, Any]:
    """Open from the list; the first page is shown when the shell lays the thread out."""
    laid_out: list[tuple[float, int]] = []
    layout = shell.layout

    def timed_layout() -> None:
        layout()
        laid_out.append((time.perf_counter(), len(fake.conn.sent)))

    shell.layout = timed_layout
    mark = len(fake.conn.sent)
    started = time.perf_counter()
    try:
        await shell.open_thread(cid)
    finally:
        del shell.layout  # back to the class's method
    done = time.perf_counter()
    _, sizes = timeline.since(mark)
    shown_at, shown_count = laid_out[0]
    view = shell.thread_view
    result = {
        "first_page_ms": (shown_at - started) * 1000,
        "first_page_bytes": sum(sizes[: shown_count - mark]),
        "settled_ms": (done - started) * 1000,
        "bytes": sum(sizes),
        "messages_sent": len(sizes),
        "rows_shown": len(view.vm.rows),  # the list holds chunks of rows, not rows
    }
    mark = len(fake.conn.sent)
    started = time.perf_counter()
    await view.load_older()
    older_ms = (time.perf_counter() - started) * 1000
    _, sizes = timeline.since(mark)
    result |= {"older_page_ms": older_ms, "older_page_bytes": sum(sizes)}
    return result


_arrived = itertools.count(1)


def _arrival(store: Any, cid: str, n: int) -> Any:
    """The server's MessageCreated event for a new text from a participant."""
    from services.models import Event

    conv = store.conversation(cid)
    who = conv.participants[n % len(conv.participants)]
    n = next(_arrived)  # event and message ids are applied once each: never reuse them
    newest = store.messages(cid, limit=1)[-1].date_added
    message = {
        # As long as the server's own ids (clock.new_id: "msg_" and 20 hex digits): every
        # bubble sends its id twice (its handle and its spoken node), and the 33-character
        # ids this bench used to make added 18 bytes to each message measured.
        "id": f"msg_{n:020x}",
        "conversationId": cid,
        "direction": "inbound",
        "messageType": "TYPE_SMS",
        "body": f"New message {n}: running ten minutes late, save me a spot",
        "attachments": [],
        "dateAdded": (newest + timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
        "status": "delivered",
        "participantId": who.id,
        "from": who.phone,
        "recipients": [],
    }
    return Event.model_validate(
        {
            "id": f"evt_bench_{cid}_{n}",
            "type": "MessageCreated",
            "data": {"conversationId": cid, "messageId": message["id"], "message": message},
        }
    )


class Stopwatch:
    """Time spent in one method of one object (wrapped on the instance), summed."""

    def __init__(self, owner: Any, name: str) -> None:
        self.total = 0.0
        self.depth = 0
        self.calls = 0
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self.depth += 1
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:  # nested calls (apply_event -> apply_events) count once
                    self.total += time.perf_counter() - started

        setattr(owner, name, timed)


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise RuntimeError("the benchmark waited 10 s for a change that never came")


async def _inbound(shell: Any, fake: Any, cid: str, n: int) -> None:
    """A participant texts the group through the embedded server; Sync brings it in."""
    store = shell.backend.store
    conv = store.conversation(cid)
    phones = [p.phone for p in conv.participants]
    body = f"Inbound {n}: running ten minutes late, save me a spot"
    await shell.backend.client.sandbox_inbound(
        phones[n % len(phones)], [conv.from_number, *phones], body
    )
    await _until(lambda: store.messages(cid, limit=1)[-1].body == body)
    # Then the rest of the server's answer: ConversationUpdated, and Sync's mark-read.
    quiet_since, sent = time.perf_counter(), len(fake.conn.sent)
    while time.perf_counter() - quiet_since < INBOUND_QUIET_S:
        await asyncio.sleep(0.02)
        if len(fake.conn.sent) != sent:
            quiet_since, sent = time.perf_counter(), len(fake.conn.sent)


async def arrivals(
    fake: Any,
    shell: Any,
    cid: str,
    count: int,
    *,
    older_pages: int = 0,
    inbound: bool = False,
    idle_s: float = 0.0,
) -> dict[str, Any]:
    """New messages in the open thread; Python time is all the store's listeners ran for
    them (the shell, the list's and the thread's view-models and views: the UI's work),
    whichever write (the event, Sync's mark-read) set them off. ``idle_s``: the app waits
    that long before each (as it does after each server-sent one, ``_inbound``)."""
    from app.state.thread import DaySeparator
    from tests.app.fake_session import settle

    await shell.open_thread(cid)
    await _quiet(shell)
    for _ in range(older_pages):  # the user scrolled up: the window holds more rows
        await shell.thread_view.load_older()
    store = shell.backend.store
    applying = Stopwatch(store, "_flush")
    in_list = Stopwatch(shell.conv_vm, "on_store_change")
    in_thread = Stopwatch(shell.thread_vm, "on_store_change")
    layouts = Stopwatch(shell, "layout")  # the whole page rebuilt
    times, sizes, sends = [], [], []
    day_first: list[int] = []  # the bytes of texts that opened a day (its divider came too)
    try:
        for n in range(count):
            if idle_s:
                await asyncio.sleep(idle_s)
            mark, before = len(fake.conn.sent), applying.total
            if inbound:
                await _inbound(shell, fake, cid, next(_arrived))
            else:
                store.apply_event(_arrival(store, cid, n))
                await settle()
            times.append((applying.total - before) * 1000)
            sent = fake.conn.sent[mark:]
            size = sum(size for _, size in sent)
            rows = shell.thread_vm.rows
            if len(rows) > 1 and isinstance(rows[-2], DaySeparator):
                day_first.append(size)  # not only the text changed: "Today" came above it
            else:
                sizes.append(size)
            sends.append(len(sent))
    finally:
        del store._flush, shell.conv_vm.on_store_change, shell.layout
    return {
        "layouts_per_arrival": layouts.calls / count,
        "layout_ms": layouts.total * 1000 / count,
        "median_ms": statistics.median(times),
        "max_ms": max(times),
        "list_ms": in_list.total * 1000 / count,
        "thread_ms": in_thread.total * 1000 / count,
        "median_bytes": statistics.median(sizes),
        "max_bytes": max(sizes),
        "day_first_bytes": day_first,
        "messages_per_arrival": statistics.median(sends),
        "rows_shown": len(shell.thread_vm.rows),
    }


async def on_a_phone(fake: Any, shell: Any, count: int) -> dict[str, Any]:
    """The same arrivals in a phone's layout: the thread has the whole screen, so only it
    changes (the list, hidden, shows its changes when the user goes back to it)."""
    fake.register(390, 844)
    await fake.event(fake.session.page, "resize", {"width": 390, "height": 844})
    if shell.wide:
        raise RuntimeError("the app did not take the phone's layout")
    return await arrivals(fake, shell, _seed().LONG_THREAD, count)


async def wizard_search(fake: Any, shell: Any, timeline: Timeline) -> dict[str, Any]:
    """Open New Group and type a name: the keystroke's time and bytes through the view,
    each keystroke's median of WIZARD_ROUNDS (the field cleared between rounds), because
    one try on this shared machine moved by 2-3x."""
    # The phases before this one posted each simulated inbound text with the user's own
    # token and, in-process, followed each event with a long-poll request: ~100 requests
    # in the last 10 s, the embedded server's whole rate limit, so one keystroke of each
    # run waited out a 429 (~1 s). Texts come from the carrier, not the user's budget:
    # type once the bench's own burst has left the window.
    from services import limits

    await asyncio.sleep(limits.RATE_LIMIT_WINDOW_MS / 1000)
    await shell.open_new()
    view = shell.new_view
    texts = ("m", "ma", "mar", "mari", "maria")
    times: list[list[float]] = [[] for _ in texts]
    sizes_by_key: list[list[int]] = [[] for _ in texts]
    for _ in range(WIZARD_ROUNDS):
        await fake.type_into(view.search, "")
        for i, text in enumerate(texts):
            mark = len(fake.conn.sent)
            started = time.perf_counter()
            await fake.type_into(view.search, text)
            times[i].append((time.perf_counter() - started) * 1000)
            _, sizes = timeline.since(mark)
            sizes_by_key[i].append(sum(sizes))
    return {
        "keystroke_ms": [round(statistics.median(t), 2) for t in times],
        "keystroke_max_ms": [round(max(t), 2) for t in times],
        "bytes": [max(b) for b in sizes_by_key],
    }


def _rss_mb() -> float:
    """This process's peak RSS in MB.

    Linux's ``getrusage().ru_maxrss`` survives ``execve`` and, with vfork (which
    subprocess uses), starts from the *parent's* peak: under ``python -m bench`` it
    reported the 400 MB of the photo benchmark that ran before. ``VmHWM`` in
    /proc/self/status is the peak of this program's own memory, so it comes first.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(data: Path, count: int) -> dict[str, Any]:
    rss: dict[str, float] = {"imported": 0.0}
    fake, shell, timeline = await start_app(data)
    await _quiet(shell)
    rss["list painted"] = _rss_mb()
    result: dict[str, Any] = {}
    result["open_long"] = await open_thread(fake, shell, timeline, _seed().LONG_THREAD)
    result["open_short"] = await open_thread(fake, shell, timeline, _seed().SHORT_THREAD)
    rss["threads opened"] = _rss_mb()
    result["arrive_long"] = await arrivals(fake, shell, _seed().LONG_THREAD, count)
    result["arrive_short"] = await arrivals(fake, shell, _seed().SHORT_THREAD, count)
    result["arrive_long_scrolled"] = await arrivals(
        fake, shell, _seed().LONG_THREAD, count, older_pages=SCROLLED_PAGES
    )
    result["inbound_long"] = await arrivals(
        fake, shell, _seed().LONG_THREAD, count // 2, inbound=True
    )
    result["inbound_short"] = await arrivals(
        fake, shell, _seed().SHORT_THREAD, count // 2, inbound=True
    )
    # The bench's own texts again, each after the pause a server-sent one follows: how
    # much of the server-sent figure is the app's data gone cold while it waited. Last, so
    # the server's run in the window they always did: put before them, the window was
    # fuller, and one server-sent text released its 35 oldest rows and sent a day divider
    # above the rest (1,449 bytes).
    result["arrive_long_idle"] = await arrivals(
        fake, shell, _seed().LONG_THREAD, count // 2, idle_s=INBOUND_QUIET_S
    )
    rss["messages arrived"] = _rss_mb()
    result["wizard"] = await wizard_search(fake, shell, timeline)
    rss["wizard searched"] = _rss_mb()
    result["arrive_phone"] = await on_a_phone(fake, shell, count)
    del rss["imported"]
    result["rss_by_stage"] = rss
    result["peak_rss_mb"] = _rss_mb()
    import resource

    result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await _stop(shell)
    return result


def child(argv: list[str]) -> None:
    what, data = argv[0], Path(argv[1])
    if what == "cold":
        spawned = float(os.environ["BENCH_SPAWNED"])
        result = asyncio.run(cold_start(data, spawned))
    else:
        result = asyncio.run(measure(data, int(argv[2])))
    print("RESULT " + json.dumps(result), flush=True)


def _compile_sources() -> None:
    """Bytecode for the app's sources, as the packaged app ships it ([tool.flet.compile]
    in pyproject.toml): with PYTHONDONTWRITEBYTECODE set, as on this machine, every cold
    start would otherwise compile them again (~60 ms), which no installed app does."""
    import compileall

    for folder in ("app", "services", "bench", "tests/app"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def _run_child(*args: str) -> dict[str, Any]:
    env = dict(os.environ, BENCH_SPAWNED=repr(time.time()))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_thread", "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(f"benchmark child failed:\n{proc.stdout}\n{proc.stderr}")


# --- the report --------------------------------------------------------------------------------


def verdict(value: float, budget: float) -> str:
    # Two decimals: a cold start of 0.51 s against 0.5 read "MISSED by 1.0x" with one.
    return "met" if value <= budget else f"MISSED by {value / budget:.2f}x"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Five: the median of three moved across the 0.5 s budget between runs (0.49-0.56).
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args(argv)
    _compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        runs: dict[str, list[dict[str, Any]]] = {"returning": [], "first": []}
        for i in range(args.cold_runs):
            for mode, runs_of in runs.items():
                folder = Path(tmp) / f"cold-{mode}-{i}"
                folder.mkdir()
                data = prepare(folder, returning=mode == "returning")
                runs_of.append(_run_child("cold", str(data)))
        folder = Path(tmp) / "main"
        folder.mkdir()
        result = _run_child("thread", str(prepare(folder, returning=True)), str(args.messages))
    report(runs, result)


def _day_first(arrival: dict[str, Any]) -> str:
    """The texts that opened a day in the thread, apart: a "Today" divider came with each,
    so more than the text changed (the budget is for when only it did)."""
    sizes = arrival["day_first_bytes"]
    if not sizes:
        return ""
    shown = ", ".join(f"{size:,}" for size in sizes)
    return f"; the day's first text, with its divider: {shown} bytes"


def report(cold_runs: dict[str, list[dict[str, Any]]], r: dict[str, Any]) -> None:
    b = BUDGETS
    for mode, runs in cold_runs.items():
        cold = statistics.median(x["spawn_to_painted_s"] for x in runs)
        inproc = statistics.median(x["in_process_s"] for x in runs)
        label = (
            "returning user (sign-in remembered, as on every start after the first)"
            if mode == "returning"
            else "first start on this device (the server asked who the token is)"
        )
        print(
            f"cold start, {label}, spawn -> list painted from cache "
            f"({runs[0]['cached_conversations']:,} conversations, {runs[0]['tiles']} rows "
            f"shown): median {cold:.2f} s of {len(runs)} "
            f"{[round(x['spawn_to_painted_s'], 2) for x in runs]} (inside the process "
            f"{inproc:.2f} s), {runs[0]['bytes']:,} bytes"
            + (
                f"; budget {b['cold_start_s']} s: {verdict(cold, b['cold_start_s'])}"
                if mode == "returning"
                else ""
            )
        )
    for key, label in (("open_long", "10,000"), ("open_short", "100")):
        o = r[key]
        print(
            f"open the {label}-message thread: first page shown {o['first_page_ms']:.0f} ms, "
            f"{o['first_page_bytes']:,} bytes ({o['rows_shown']} rows); settled after the "
            f"network refresh {o['settled_ms']:.0f} ms, {o['bytes']:,} bytes in "
            f"{o['messages_sent']} messages; one older page {o['older_page_ms']:.0f} ms, "
            f"{o['older_page_bytes']:,} bytes"
        )
    first = r["open_long"]["first_page_ms"]
    print(f"  first page budget {b['first_page_ms']:.0f} ms: {verdict(first, b['first_page_ms'])}")
    long_, short = r["arrive_long"], r["arrive_short"]
    scrolled = r["arrive_long_scrolled"]
    for label, a in (
        ("10,000-message", long_),
        ("100-message", short),
        (f"10,000-message thread scrolled up {SCROLLED_PAGES} pages, the", scrolled),
        (
            f"10,000-message thread, each after {INBOUND_QUIET_S} s idle as a server-sent "
            "one is, the",
            r["arrive_long_idle"],
        ),
        ("10,000-message (as the server sends it)", r["inbound_long"]),
        ("100-message (as the server sends it)", r["inbound_short"]),
        ("10,000-message thread on a phone (only it on screen), the", r["arrive_phone"]),
    ):
        print(
            f"new message in the open {label} thread ({a['rows_shown']} rows in the window): "
            f"median {a['median_ms']:.2f} ms (max {a['max_ms']:.2f}; list {a['list_ms']:.2f}, "
            f"thread {a['thread_ms']:.2f}, whole-page layouts {a['layouts_per_arrival']:.1f} "
            f"= {a['layout_ms']:.2f}), median {a['median_bytes']:,.0f} bytes "
            f"(max {a['max_bytes']:,}) in {a['messages_per_arrival']:.0f} message(s)"
            + _day_first(a)
        )
    for label, (lng, sht) in (
        ("append only", (long_, short)),
        ("as the server sends it", (r["inbound_long"], r["inbound_short"])),
    ):
        ratio_ms = lng["median_ms"] / sht["median_ms"]
        ratio_bytes = lng["median_bytes"] / max(sht["median_bytes"], 1)
        worst = max(ratio_ms, ratio_bytes)
        print(
            f"  {label}: long/short time {ratio_ms:.2f}x, bytes {ratio_bytes:.2f}x "
            f"(budget {b['long_vs_short']}x): {verdict(worst, b['long_vs_short'])}; "
            f"time {lng['median_ms']:.1f} ms (budget {b['message_ms']:.0f}): "
            f"{verdict(lng['median_ms'], b['message_ms'])}; max bytes when only the text changed "
            f"{lng['max_bytes']:,} "
            f"(budget {b['message_bytes']:,}): {verdict(lng['max_bytes'], b['message_bytes'])}"
        )
    phone = r["arrive_phone"]
    typical, most = phone["median_bytes"], phone["max_bytes"]
    print(
        f"  on a phone, where only the thread changes: time {phone['median_ms']:.1f} ms; bytes "
        f"median {typical:,.0f}: {verdict(typical, b['message_bytes'])}, max {most:,}: "
        f"{verdict(most, b['message_bytes'])}"
    )
    w = r["wizard"]
    worst = max(w["keystroke_ms"])
    print(
        f"New Group wizard, typing 'maria' through the view, median of {WIZARD_ROUNDS} rounds: "
        f"ms {w['keystroke_ms']} (max {w['keystroke_max_ms']})"
    )
    print(f"  bytes sent per keystroke (max) {w['bytes']}")
    slowest = max(w["keystroke_max_ms"])
    print(
        f"  keystroke budget {b['keystroke_ms']:.0f} ms: worst median {worst:.1f} ms: "
        f"{verdict(worst, b['keystroke_ms'])}; slowest single keystroke {slowest:.1f} ms "
        f"(budget {b['keystroke_max_ms']:.0f}): {verdict(slowest, b['keystroke_max_ms'])}"
    )
    rss = r["peak_rss_mb"]
    stages = ", ".join(f"{k} {v:.0f}" for k, v in r["rss_by_stage"].items())
    print(
        f"peak RSS of the app process (embedded backend included): {rss:.0f} MB "
        f"(VmHWM; peak so far, MB: {stages}; getrusage ru_maxrss says "
        f"{r['ru_maxrss_mb']:.0f}, inherited across vfork+exec); "
        f"budget {b['rss_mb']:.0f} MB: {verdict(rss, b['rss_mb'])}"
    )


if __name__ == "__main__":
    main()
