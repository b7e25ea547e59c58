"""End-to-end harness: the app in web mode on 127.0.0.1, driven in Debian's Chromium.

Every request that is not to 127.0.0.1 is aborted, to prove the app needs no
internet. Flutter draws on a canvas: its accessibility tree is switched on by
clicking the hidden ``flt-semantics-placeholder``, after which roles, names and
``flt-semantics-identifier`` attributes can be used.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"BROWSER": "true", "FLET_FORCE_WEB_SERVER": "1", "PYTHONUNBUFFERED": "1"})
    return env


_TEXT_BOX_FOCUSED = "() => ['INPUT', 'TEXTAREA'].includes(document.activeElement?.tagName)"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    server_url: str | None = None


def _start(args: list[str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--web", "--port", str(port), *args],
        cwd=ROOT,
        env=_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, proc)
    return proc, port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m app --web --port FREE --demo-reset`` (embedded demo backend)."""
    log = tmp_path_factory.mktemp("app") / "app.log"
    proc, port = _start(["--demo-reset"], log)
    try:
        yield Server(f"http://127.0.0.1:{port}", proc, log)
    finally:
        _stop(proc)


def start_server(port: int, db: Path, log: Path) -> subprocess.Popen[bytes]:
    """``python -m services.server`` on 127.0.0.1:port over db, demo-seeded, no rate limit;
    its output appended to log. The caller waits for the port and stops it."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "services.server", "--host", "127.0.0.1"),
                *("--port", str(port), "--db", str(db), "--seed", "demo", "--rate-limit", "0"),
            ],
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def server_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app pointed at a standalone server, so the test can play a participant's phone."""
    tmp = tmp_path_factory.mktemp("sandbox")
    sport = free_port()
    sandbox = start_server(sport, tmp / "sandbox.sqlite3", tmp / "sandbox.log")
    try:
        wait_for_port(sport, sandbox)
        surl = f"http://127.0.0.1:{sport}"
        proc, port = _start(
            ["--backend", surl, "--token", "demo-admin", "--location", "loc_demo", "--demo-reset"],
            tmp / "app.log",
        )
        try:
            yield Server(f"http://127.0.0.1:{port}", proc, tmp / "app.log", surl)
        finally:
            _stop(proc)
    finally:
        _stop(sandbox)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (python3 dev.py test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _only_loopback(route: object) -> None:
    host = urlsplit(route.request.url).hostname or ""  # type: ignore[attr-defined]
    if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):  # type: ignore[attr-defined]
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


class App:
    """A browser page on the app, with helpers that speak the app's labels."""

    def __init__(self, page: object, url: str) -> None:
        self.page = page
        self.url = url
        self.requested: list[str] = []  # every URL the page asked for

    def open(self) -> App:
        p = self.page
        p.on("request", lambda request: self.requested.append(request.url))  # type: ignore[attr-defined]
        p.route("**/*", _only_loopback)  # type: ignore[attr-defined]
        p.goto(self.url)  # type: ignore[attr-defined]
        p.wait_for_selector("#loading", state="detached", timeout=60_000)  # type: ignore[attr-defined]
        p.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)  # type: ignore[attr-defined]
        p.locator("flt-semantics-placeholder").dispatch_event("click")  # type: ignore[attr-defined]
        self.by_id("create-new-message").wait_for(timeout=60_000)
        return self

    def by_id(self, ident: str) -> object:
        return self.page.locator(f'[flt-semantics-identifier="{ident}"]').first  # type: ignore[attr-defined]

    def ids_starting(self, prefix: str) -> object:
        return self.page.locator(f'[flt-semantics-identifier^="{prefix}"]')  # type: ignore[attr-defined]

    def button(self, name: str) -> object:
        return self.page.get_by_role("button", name=name).first  # type: ignore[attr-defined]

    def text(self, text: str, exact: bool = False) -> object:
        """Words on screen, as a reader finds them: shown text, or a control's name (a
        conversation row is one button named "Group Weekend crew, 1 unread, …")."""
        p = self.page
        return p.get_by_text(text, exact=exact).or_(p.get_by_label(text, exact=exact)).first  # type: ignore[attr-defined]

    def type_in(self, ident: str, text: str) -> None:
        """Focus the field behind a handle and replace its text by typing, as a person would.

        Through the semantics layer, the first tap on a field just after its row was
        redrawn (a picked file finished checking) can leave no text box focused, and the
        keys would go nowhere; a second tap focuses it, so tap until one is.
        """
        for _ in range(4):
            self.by_id(ident).click()
            self.page.wait_for_timeout(250)  # type: ignore[attr-defined]
            if self.page.evaluate(_TEXT_BOX_FOCUSED):  # type: ignore[attr-defined]
                break
        self.page.keyboard.press("Control+A")  # type: ignore[attr-defined]
        self.page.keyboard.type(text)  # type: ignore[attr-defined]

    def settle(self, seconds: float = 1.0) -> None:
        self.page.mouse.move(5, 5)  # type: ignore[attr-defined]
        self.page.wait_for_timeout(int(seconds * 1000))  # type: ignore[attr-defined]

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.settle(1.0)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path


def record_console(page: object) -> list[str]:
    """The page's console, as it comes: a Flutter layout error shows only there."""
    lines: list[str] = []
    started = time.monotonic()

    def add(text: str) -> None:
        lines.append(f"{time.monotonic() - started:6.1f}s {text}")

    page.on("console", lambda msg: add(f"{msg.type}: {msg.text}"))  # type: ignore[attr-defined]
    page.on("pageerror", lambda err: add(f"pageerror: {err}"))  # type: ignore[attr-defined]
    # A renderer that dies leaves every locator waiting out its timeout: say so.
    page.on("crash", lambda _: add("crash: the page's renderer process died"))  # type: ignore[attr-defined]
    return lines


def keep_console(test: str, index: int, lines: list[str]) -> None:
    """Beside the screenshots, and printed: pytest shows it when the test failed."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SHOTS / f"last-{test}-{index}.console.txt"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"browser console of page {index}:", *lines[-40:], sep="\n  ")


@pytest.fixture
def make_app(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    contexts: list[object] = []

    def _make(server: Server, viewport: dict[str, int] = DESKTOP, dark: bool = False) -> App:
        ctx = browser.new_context(  # type: ignore[attr-defined]
            viewport=viewport, color_scheme="dark" if dark else "light"
        )
        contexts.append(ctx)
        page = ctx.new_page()
        consoles.append(record_console(page))
        return App(page, server.url).open()

    consoles: list[list[str]] = []
    _make.consoles = consoles  # type: ignore[attr-defined]  # read by pytest_runtest_makereport
    yield _make
    for i, ctx in enumerate(contexts):
        SHOTS.mkdir(parents=True, exist_ok=True)
        for j, page in enumerate(ctx.pages):  # type: ignore[attr-defined]
            shot = SHOTS / f"last-{request.node.name}-{i}{j}.png"
            try:
                page.screenshot(path=str(shot), timeout=10_000)
            except Exception as error:  # a page that stopped answering: its console says why
                consoles[i].append(f"no screenshot: {str(error).splitlines()[0]}")
        keep_console(request.node.name, i, consoles[i])
        ctx.close()  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed journey's report carries what its pages' consoles said up to the failure,
    so a first try that a rerun hides still shows it (tests/conftest.py prints it)."""
    report = yield
    make = getattr(item, "funcargs", {}).get("make_app")
    if call.when == "call" and report.failed and make is not None:
        for i, lines in enumerate(getattr(make, "consoles", [])):
            report.sections.append((f"browser console of page {i}", "\n".join(lines[-30:])))
    return report


__all__ = ["DESKTOP", "PHONE", "App", "Server", "tempfile"]
