"""Every control on every screen has a name a screen reader says, in both layouts.

The check reads Chromium's accessibility tree (tests/e2e/a11y.py), the tree a screen
reader reads, and fails on any button, text field, radio, checkbox, switch, tab (or any
other interactive role) without a name. It knows no control by name: whatever a later
change adds to a screen is checked as soon as this walk shows that screen. Each screen's
tree is kept beside the screenshots (``a11y-<screen>.txt``) for reading.
"""

from __future__ import annotations

import httpx
import pytest

from services.server import seed
from tests.e2e.a11y import outline, unnamed_controls
from tests.e2e.conftest import DESKTOP, PHONE, SHOTS, App
from tests.e2e.test_attachments import _PICTURE_ON_SCREEN
from tests.e2e.test_journeys import WAIT, label_of, nav, wait_until
from tests.services import attachment_files as files

pytestmark = pytest.mark.e2e


class Walk:
    """Checks each screen as it is shown; the test fails at the end, naming every miss."""

    def __init__(self, app: App, size: str) -> None:
        self.app, self.size = app, size
        self.missing: list[str] = []

    def check(self, screen: str) -> None:
        name = f"{self.size}-{screen}"
        self.app.settle(0.5)
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"a11y-{name}.txt").write_text(outline(self.app.page) + "\n", encoding="utf-8")
        self.missing += [f"{name}: {where}" for where in unnamed_controls(self.app.page)]

    def done(self) -> None:
        assert not self.missing, "controls without a name:\n  " + "\n  ".join(self.missing)


def attach(app: App, picks: list[tuple[str, str, bytes]]) -> None:
    with app.page.expect_file_chooser(timeout=WAIT) as chooser:
        app.by_id("attach").click()
    chooser.value.set_files(
        files=[{"name": n, "mimeType": m, "buffer": data} for n, m, data in picks]
    )


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_control_on_every_screen_has_a_name(make_app, app_server, size):
    phone = size == "phone"
    app = make_app(app_server, PHONE if phone else DESKTOP)
    walk = Walk(app, size)
    walk.check("conversations")

    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    walk.check("thread")
    app.ids_starting("message-").last.click()
    app.by_id("delivery-detail").wait_for(timeout=WAIT)
    walk.check("delivery-detail")
    app.page.keyboard.press("Escape")
    app.by_id("delivery-detail").wait_for(state="detached", timeout=WAIT)

    # A picture on screen (the tree also keeps some scrolled out of view): on a phone the
    # thread opens below it, so scroll up to it.
    for _ in range(20):
        point = app.page.evaluate(_PICTURE_ON_SCREEN)
        if point:
            break
        app.page.mouse.move(PHONE["width"] / 2, 300)
        app.page.mouse.wheel(0, -150)
        app.page.wait_for_timeout(200)
    assert point, "no picture came on screen"
    app.page.mouse.click(*point)
    app.by_id("full-picture").wait_for(timeout=WAIT)
    walk.check("picture-viewer")
    app.page.keyboard.press("Escape")
    app.by_id("full-picture").wait_for(state="detached", timeout=WAIT)

    attach(
        app,
        [
            ("beach.jpg", "image/jpeg", files.photo(1600, 1200)),
            ("Trip plan.pdf", "application/pdf", files.pdf(20_000)),
        ],
    )
    wait_until(lambda: "Checking" not in label_of(app, "picked-files"), app)
    walk.check("attachment-tray")

    app.by_id("chat-participants").click()
    app.by_id("participants-panel").wait_for(timeout=WAIT)
    walk.check("participants")
    app.page.keyboard.press("Escape")
    app.by_id("participants-panel").wait_for(state="detached", timeout=WAIT)
    if phone:
        app.by_id("back").click()
        app.by_id("nav").wait_for(timeout=WAIT)

    app.text("Sunday league").click()
    app.by_id("blocked-banner").wait_for(timeout=WAIT)
    walk.check("blocked")
    if phone:
        app.by_id("back").click()
        app.by_id("nav").wait_for(timeout=WAIT)

    nav(app, "New")
    app.by_id("new-group").wait_for(timeout=WAIT)
    app.type_in("search-contacts", "Noah")
    app.by_id("pick-ct_demo_noah_williams").click()
    wait_until(lambda: "1 of 2–9" in label_of(app, "counter"), app)
    walk.check("new-group")  # a field holding text, a chip, a counter

    nav(app, "Settings")
    app.by_id("settings").wait_for(timeout=WAIT)
    walk.check("settings")
    walk.done()


def test_a_phone_thread_scrolled_anywhere_has_no_nameless_message(make_app, server_app):
    """A message whose bubble has left the list's rendered band while its time line has
    not was once a nameless button (its handle took the bubble's tap): make the thread
    long, scroll it in steps that are not a message's height and read the tree at each."""
    auth = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
    with httpx.Client(base_url=server_app.server_url, headers=auth, timeout=30) as server:
        page = server.get("/conversations/search", params={"limit": 100}).json()
        crew = next(c["id"] for c in page["conversations"] if c["name"] == "Weekend crew")
        for n in range(30):
            words = f"Plan {n}: " + "bring snacks " * (1 + n % 4)
            body = {"type": "SMS", "conversationId": crew, "message": words}
            server.post("/conversations/messages", json=body).raise_for_status()
    app = make_app(server_app, PHONE)
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.text("Plan 29", exact=False).wait_for(timeout=WAIT)
    app.settle(0.5)
    missing: list[str] = []
    for step in range(16):
        app.page.mouse.move(PHONE["width"] / 2, 300)
        app.page.mouse.wheel(0, -67)
        app.page.wait_for_timeout(250)
        missing += [f"after {step + 1} scrolls: {where}" for where in unnamed_controls(app.page)]
    assert not missing, "controls without a name:\n  " + "\n  ".join(missing)
