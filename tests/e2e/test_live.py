"""Issue 6 in the browser: two clients live on one sandbox, and a cold start offline.

Each app is its own process (``python -m app --web --backend URL --token T``)
against ONE standalone server process started here, exactly as two staff
members' devices would share a server. The latency of a message from one
browser to the other is printed for the notes; the assertions only ask that it
arrives within a generous wait (never assert on wall-clock time).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.api.client import ApiClient
from tests.e2e.a11y import SPOKEN_JS, assert_all_named, spoken
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    ROOT,
    SHOTS,
    App,
    _env,
    _stop,
    free_port,
    keep_console,
    record_console,
    start_server,
    wait_for_port,
)

pytestmark = pytest.mark.e2e
WAIT = 60_000
GROUP = "Weekend crew"
# Every bubble has a handle "message-<key>" and, inside, a label naming its body and state.
_BUBBLE_WITH = f"""([text, state]) => [...document.querySelectorAll(
    '[flt-semantics-identifier^="message-"]')].some(e => {{
        const t = {SPOKEN_JS}(e);
        return t.includes(text) && (!state || t.includes(state));
    }})"""


@dataclass
class StandaloneServer:
    url: str
    port: int
    db: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_server(self.port, self.db, self.log)
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


def _server(tmp: Path) -> StandaloneServer:
    port = free_port()
    return StandaloneServer(
        f"http://127.0.0.1:{port}", port, tmp / "sandbox.sqlite3", tmp / "sandbox.log"
    )


@contextmanager
def app_process(server_url: str, token: str, data_home: Path, log: Path) -> Iterator[str]:
    """The app in web mode for one user; its data folder under data_home (kept across runs)."""
    port = free_port()
    env = _env()
    env["XDG_DATA_HOME"] = str(data_home)  # platformdirs: the app's data folder
    # Sessions created and reconnected, and Sync's reconnects, in the log: a journey that
    # failed once in ten runs showed a thread closed under it, cause not yet known.
    env.setdefault("GCS_APP_LOG", "INFO")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "app", "--web", "--port", str(port)),
                *("--backend", server_url, "--token", token, "--location", "loc_demo"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture
def browser_ctx(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Opens apps in fresh browser contexts; a last screenshot of each when done."""
    contexts: list[Any] = []
    consoles: list[list[str]] = []

    def _open(url: str, viewport: dict[str, int] = DESKTOP) -> App:
        ctx = browser.new_context(viewport=viewport)
        contexts.append(ctx)
        page = ctx.new_page()
        consoles.append(record_console(page))
        return App(page, url).open()

    yield _open
    SHOTS.mkdir(parents=True, exist_ok=True)
    for i, ctx in enumerate(contexts):
        for page in ctx.pages:
            # A page of an app process already stopped may refuse.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(SHOTS / f"last-{request.node.name}-{i}.png"))
        keep_console(request.node.name, i, consoles[i])
        ctx.close()


def run(coro: Any) -> Any:
    """Run an API client on its own loop (Playwright's sync API owns this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def api(url: str) -> Any:
    return ApiClient(url, "demo-admin", location_id="loc_demo")


async def _conversation(url: str, name: str) -> Any:
    async with api(url) as client:
        page = await client.search_conversations(query=name, limit=5)
        summary = next(s for s in page.conversations if s.name == name)
        return await client.get_conversation(summary.id)


def label_of_loc(loc: Any) -> str:
    return spoken(loc)


def label_of(app: App, ident: str) -> str:
    return label_of_loc(app.by_id(ident))


def wait_until(check: Any, app: App, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the screen never showed what was expected")
        app.page.wait_for_timeout(200)


def connection_says(app: App, word: str) -> bool:
    loc = app.by_id("connection")
    return word in spoken(loc)


def wait_connection(app: App, word: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not connection_says(app, word):
        if time.monotonic() > deadline:
            raise AssertionError(f"the connection indicator never said {word!r}")
        app.page.wait_for_timeout(200)


def open_thread(app: App, name: str, tries: int = 3) -> None:
    """Tap the conversation's row. On a loaded machine the row can be redrawn under
    the pointer (the list refreshes as the app connects), so a missed tap is retried."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        try:
            app.text(name).click(timeout=15_000)
            app.by_id("composer").wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def send(app: App, text: str) -> None:
    app.type_in("composer", text)
    app.page.keyboard.press("Enter")


def wait_bubble(app: App, text: str, state: str = "", timeout: int = WAIT) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        app.page.wait_for_function(_BUBBLE_WITH, arg=[text, state], polling=25, timeout=timeout)
    except PlaywrightTimeout:
        # Say what the screen showed instead: CI keeps only the failure's text. The
        # picture is taken now: at teardown the app process is already gone.
        with contextlib.suppress(Exception):
            SHOTS.mkdir(parents=True, exist_ok=True)
            app.page.screenshot(path=str(SHOTS / f"failed-wait-{time.strftime('%H%M%S')}.png"))
        raise AssertionError(f"no bubble {text!r} {state!r}; {screen_summary(app)}") from None


_SCREEN = f"""() => ({{
    bubbles: [...document.querySelectorAll('[flt-semantics-identifier^="message-"]')]
        .slice(-4).map({SPOKEN_JS}),
    connection: [...document.querySelectorAll('[flt-semantics-identifier="connection"]')]
        .map({SPOKEN_JS}),
    nodes: document.querySelectorAll('flt-semantics').length,
}})"""


def screen_summary(app: App) -> str:
    """The last bubbles, the connection indicator and how much is drawn, in one line."""
    try:
        return repr(app.page.evaluate(_SCREEN))
    except Exception as error:  # a page that is gone says so
        return f"the page could not be read: {error}"


def arrival_seconds(sender: App, receiver: App, text: str) -> float:
    """From pressing Enter in one browser to the bubble in the other's open thread."""
    sender.type_in("composer", text)
    started = time.monotonic()
    sender.page.keyboard.press("Enter")
    wait_bubble(sender, text)  # sent at all (else the typing went astray, not the update)
    wait_bubble(receiver, text)
    return time.monotonic() - started


def test_two_clients_see_each_others_messages_and_an_inbound_text_live(tmp_path, browser_ctx):
    sandbox = _server(tmp_path)
    sandbox.start()
    try:
        with (
            app_process(sandbox.url, "demo-admin", tmp_path / "a", tmp_path / "a.log") as a_url,
            app_process(sandbox.url, "demo-staff", tmp_path / "s", tmp_path / "s.log") as s_url,
        ):
            admin, staff = browser_ctx(a_url), browser_ctx(s_url)
            # "Live" is the signal: the app fixed its event cursor before saying it, and
            # its stream replays everything after that cursor, so nothing sent from now on
            # is missed (no pause for the streams to settle).
            for app in (admin, staff):
                open_thread(app, GROUP)
                wait_connection(app, "Live")

            stamp = time.strftime("%H%M%S")
            a_to_s = arrival_seconds(admin, staff, f"Admin says hi {stamp}")
            s_to_a = arrival_seconds(staff, admin, f"Staff answers {stamp}")
            print(f"\nlive latency admin->staff {a_to_s:.2f}s, staff->admin {s_to_a:.2f}s")

            conv = run(_conversation(sandbox.url, GROUP))
            sender = conv.participants[0]
            others = [p.phone for p in conv.participants[1:]]
            text = f"Inbound from the phone {stamp}"

            async def inbound() -> None:
                async with api(sandbox.url) as client:
                    await client.sandbox_inbound(sender.phone, [conv.from_number, *others], text)

            started = time.monotonic()
            run(inbound())
            wait_bubble(admin, text)
            wait_bubble(staff, text)
            print(f"inbound text in both browsers after {time.monotonic() - started:.2f}s")
            staff.shot("live-staff-thread")
            admin.shot("live-admin-thread")

            # A text in a thread that is not open: a notice; its Open shows the thread,
            # which is then read (no unread badge left on its row).
            desk = run(_conversation(sandbox.url, "Open house – 12 Bay St"))
            note = f"Can someone cover Friday? {stamp}"

            async def to_desk() -> None:
                async with api(sandbox.url) as client:
                    who = next(p for p in desk.participants if p.contact_id)
                    others = [p.phone for p in desk.participants if p is not who]
                    await client.sandbox_inbound(who.phone, [desk.from_number, *others], note)

            run(to_desk())
            admin.by_id("notice").wait_for(timeout=WAIT)
            assert note in label_of(admin, "notice")
            admin.shot("live-notice")
            admin.page.get_by_role("button", name="Open", exact=True).click()
            wait_bubble(admin, note)
            row = admin.by_id(f"conversation-{desk.id}")
            wait_until(lambda: "unread" not in label_of_loc(row), admin)
    finally:
        sandbox.stop()


def test_cold_start_offline_shows_the_cache_and_a_queued_message_goes_out_later(
    tmp_path, browser_ctx
):
    sandbox = _server(tmp_path)
    data, log = tmp_path / "data", tmp_path / "app.log"
    sandbox.start()
    try:
        # 1. Online once: the list and the thread's history land in the cache.
        with app_process(sandbox.url, "demo-admin", data, log) as url:
            app = browser_ctx(url)
            open_thread(app, GROUP)
            wait_connection(app, "Live")
            wait_bubble(app, "")  # the history is on screen, so in the cache
            app.page.wait_for_timeout(1000)
        # 2. The server goes away; the app starts again from the cache alone.
        sandbox.stop()
        with app_process(sandbox.url, "demo-admin", data, log) as url:
            app = browser_ctx(url)
            wait_connection(app, "Offline")
            app.text("Front desk team").wait_for(timeout=WAIT)  # the last conversations
            open_thread(app, GROUP)
            wait_bubble(app, "")  # and the history
            app.shot("live-cold-start-offline")
            phone = browser_ctx(url, PHONE)  # the phone layout says it too
            wait_connection(phone, "Offline")
            phone.shot("live-cold-start-offline-phone")
            open_thread(phone, GROUP)
            phone.by_id("connection-bar").wait_for(timeout=WAIT)  # the list is off screen
            phone.shot("live-cold-start-offline-phone-thread")
            assert_all_named(phone.page, "offline, on a phone")
            # 3. Typed offline: kept as "Sending" across a restart of the app.
            send(app, "Typed with no network")
            wait_bubble(app, "Typed with no network", "Sending")
        with app_process(sandbox.url, "demo-admin", data, log) as url:
            app = browser_ctx(url)
            wait_connection(app, "Offline")
            open_thread(app, GROUP)
            wait_bubble(app, "Typed with no network", "Sending")
            app.shot("live-queued-after-restart")
            # 4. The server comes back: delivered with no one touching anything.
            sandbox.start()
            wait_connection(app, "Live", seconds=90)
            wait_bubble(app, "Typed with no network", "Deliver", timeout=90_000)
            app.shot("live-queued-delivered")
        conv = run(_conversation(sandbox.url, GROUP))

        async def bodies() -> list[str]:
            async with api(sandbox.url) as client:
                page = await client.get_messages(conv.id, limit=50)
                return [m.body or "" for m in page.messages]

        assert run(bodies()).count("Typed with no network") == 1
    finally:
        sandbox.stop()


def wait_gone(app: App, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while app.page.evaluate(_BUBBLE_WITH, [text, ""]):
        if time.monotonic() > deadline:
            raise AssertionError(f"the bubble {text!r} never went away")
        app.page.wait_for_timeout(200)


def test_retry_and_delete_for_failed_messages_end_to_end(tmp_path, browser_ctx):
    sandbox = _server(tmp_path)
    sandbox.start()

    async def carrier(fail_rate: float) -> None:
        async with api(sandbox.url) as client:
            await client.sandbox_carrier(fail_rate=fail_rate)

    try:
        with app_process(sandbox.url, "demo-admin", tmp_path / "d", tmp_path / "app.log") as url:
            app = browser_ctx(url)
            # 1. The carrier fails a text: red, Retry; Retry sends it again and it arrives.
            open_thread(app, "Chloe Martin")
            wait_connection(app, "Live")
            run(carrier(1.0))
            send(app, "Is 3pm OK?")
            wait_bubble(app, "Is 3pm OK?", "Not delivered")
            run(carrier(0.0))
            app.button("Retry").click()
            wait_bubble(app, "Is 3pm OK?", "Delivered")
            app.shot("live-retried")
            # 2. Queued offline, then refused (the group got blocked meanwhile): Delete.
            open_thread(app, GROUP)
            wait_bubble(app, "Looks great. See you Saturday!")  # history is in the cache
            conv = run(_conversation(sandbox.url, GROUP))
            marcus = next(p for p in conv.participants if p.name.startswith("Marcus"))
            others = [p.phone for p in conv.participants if p is not marcus]
            sandbox.stop()
            wait_connection(app, "Offline")
            send(app, "Running 10 minutes late")
            wait_bubble(app, "Running 10 minutes late", "Sending")
            app.page.wait_for_timeout(3000)  # the app has tried and failed at least once

            async def stop() -> None:
                # Texted to the stopped server's database, in-process: when the server comes
                # back, the app's very first try meets a blocked group. (Texting after the
                # restart raced with the app's immediate resend on reconnecting.)
                from services.server.embedded import embedded_transport

                transport = embedded_transport(sandbox.db, seed=None)
                async with ApiClient(
                    sandbox.url, "demo-admin", transport=transport, location_id="loc_demo"
                ) as client:
                    await client.sandbox_inbound(marcus.phone, [conv.from_number, *others], "STOP")

            run(stop())
            sandbox.start()
            wait_bubble(app, "Running 10 minutes late", "Not delivered", timeout=90_000)
            app.button("Delete").wait_for(timeout=WAIT)
            wait_connection(app, "Live", seconds=90)
            app.by_id("blocked-banner").wait_for(timeout=WAIT)  # and why, above the thread
            app.shot("live-refused-retry-delete")
            assert_all_named(app.page, "a refused message with Retry and Delete")
            app.button("Delete").click()
            wait_gone(app, "Running 10 minutes late")

        async def bodies() -> list[str]:
            async with api(sandbox.url) as client:
                page = await client.get_messages(conv.id, limit=50)
                return [m.body or "" for m in page.messages]

        assert "Running 10 minutes late" not in run(bodies())
    finally:
        sandbox.stop()
