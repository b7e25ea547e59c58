"""Confirm the in-process figures once in a real browser (on request; not in `python -m bench`).

    .venv/bin/python -m bench.browser_check

Starts the messaging server over a copy of the scale seed and the app in web mode
pointed at it (``--backend``, an empty device cache in a temporary
XDG_DATA_HOME), opens it in Debian's Chromium (Playwright, every non-loopback
request aborted, the arguments of notes/flet.md), then:

1. clicks the 10,000-message thread in the list and times until its newest
   message is in the page's semantics tree (so: network fetch, render, the
   websocket, Flutter's frame), counting the websocket bytes the browser got;
2. has a participant text the group (``POST /sandbox/inbound``) and times
   until that text is in the page, with the websocket bytes of that change;
   the same in the 100-message thread.

Figures are wall-clock on a shared 2-core machine: orders of magnitude only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.bench_backend import server
from bench.scale_seed import LONG_THREAD, SHORT_THREAD, fresh_copy
from services.server.seed import ADMIN_NUMBER

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AUTH = {"Authorization": "Bearer demo-admin"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def web_app(backend: str, home: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, XDG_DATA_HOME=str(home), BROWSER="true", FLET_FORCE_WEB_SERVER="1")
    args = [sys.executable, "-m", "app", "--web", "--port", str(port), "--backend", backend]
    args += ["--token", "demo-admin", "--location", "loc_demo"]
    log = (home / "app.log").open("wb")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited: {(home / 'app.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not listen in 60 s")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def only_loopback(route: Any) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
        route.continue_()
    else:
        route.abort()


class Wire:
    """Bytes the browser received over the app's websocket."""

    def __init__(self, page: Any) -> None:
        self.received = 0
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: Any) -> None:
        self.received += len(payload) if payload is not None else 0


def wait_text(page: Any, text: str, timeout_s: float = 30) -> float:
    """Seconds until ``text`` is in the page (polled every 10 ms)."""
    started = time.perf_counter()
    page.get_by_text(text).first.wait_for(state="attached", timeout=timeout_s * 1000)
    return time.perf_counter() - started


def newest_body(backend: str, cid: str) -> tuple[str, list[str]]:
    got = httpx.get(f"{backend}/conversations/{cid}/messages", params={"limit": 1}, headers=AUTH)
    body = got.json()["messages"]["messages"][0]["body"]
    conv = httpx.get(f"{backend}/conversations/{cid}", headers=AUTH).json()["conversation"]
    return body, [p["phone"] for p in conv["participants"]]


def check(backend: str, url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            wire = Wire(page)
            page.route("**/*", only_loopback)
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#loading", state="detached", timeout=60_000)
            page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
            page.locator("flt-semantics-placeholder").dispatch_event("click")
            tile = page.locator(f'[flt-semantics-identifier="conversation-{LONG_THREAD}"]')
            tile.first.wait_for(timeout=60_000)
            print(
                f"page load to the list shown: {time.perf_counter() - started:.1f} s, "
                f"{wire.received:,} websocket bytes"
            )
            page.wait_for_timeout(3000)  # Sync's first list refresh settles
            for cid in (LONG_THREAD, SHORT_THREAD):
                open_and_receive(page, wire, backend, cid)
        finally:
            browser.close()


def open_and_receive(page: Any, wire: Any, backend: str, cid: str) -> None:
    body, phones = newest_body(backend, cid)
    tile = page.locator(f'[flt-semantics-identifier="conversation-{cid}"]').first
    before = wire.received
    started = time.perf_counter()
    tile.click()
    page.get_by_text(body).first.wait_for(state="attached", timeout=30_000)
    opened = time.perf_counter() - started
    page.wait_for_timeout(1500)
    print(
        f"{cid}: click -> newest message in the page {opened * 1000:.0f} ms; "
        f"{wire.received - before:,} websocket bytes in all (incl. the network refresh)"
    )
    sender, others = phones[0], phones[1:]
    for n in range(3):
        text = f"Browser check {cid} {n}"
        before = wire.received
        started = time.perf_counter()
        httpx.post(
            f"{backend}/sandbox/inbound",
            json={"from": sender, "to": [ADMIN_NUMBER, *others], "body": text},
            headers=AUTH,
        ).raise_for_status()
        page.get_by_text(text).first.wait_for(state="attached", timeout=30_000)
        shown = time.perf_counter() - started
        page.wait_for_timeout(500)
        print(
            f"  inbound text -> in the page {shown * 1000:.0f} ms "
            f"(server, SSE, Sync, UI, websocket, Flutter), {wire.received - before:,} bytes"
        )


def main() -> None:
    if not Path(CHROMIUM).exists():
        print("Chromium is not installed: skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_copy(Path(tmp))
        home = Path(tmp) / "home"
        home.mkdir()
        with server(db.path) as backend, web_app(backend, home) as url:
            check(backend, url)


if __name__ == "__main__":
    main()
