"""Keyboard only: create a group of three, send a message, open Chat Participants and
close it, with Tab / Shift+Tab, Enter, Space, typing and Escape, and no mouse event.

Every step waits for a signal the app gives (the focused node's name, a handle on
screen, a counter's words), never for a length of time.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e import a11y
from tests.e2e.conftest import DESKTOP, SHOTS, App, _only_loopback
from tests.e2e.test_journeys import WAIT, label_of, wait_until

pytestmark = pytest.mark.e2e

# Counts the pointer's events (a real one, or any a helper might synthesise).
_COUNT_MOUSE = """
window.__mouse = 0;
for (const kind of ['mousedown', 'mouseup', 'pointerdown', 'pointerup', 'mousemove', 'wheel'])
    window.addEventListener(kind, () => { window.__mouse += 1; }, true);
"""

_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

# What holds the keyboard focus, as a reader names it.
_FOCUSED = """() => {
    const a = document.activeElement;
    if (!a || a === document.body) return '';
    if (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA')
        return 'field: ' + (a.getAttribute('aria-label') || '');
    return (a.getAttribute('role') || a.tagName.toLowerCase()) + ': '
        + (a.getAttribute('aria-label') || a.innerText || '');
}"""


_VIEW_FOCUSED = "() => document.activeElement && document.activeElement.tagName === 'FLUTTER-VIEW'"


def focused(app: App) -> str:
    return str(app.page.evaluate(_FOCUSED))


def press_and_wait(app: App, key: str) -> str:
    """Press a key that moves the focus; wait until the focus has moved (the signal) and
    settled, and say where it is."""
    before = focused(app)
    app.page.keyboard.press(key)
    with contextlib.suppress(PlaywrightTimeout):  # the only stop there is: the focus stays
        app.page.wait_for_function(f"prev => ({_FOCUSED})() !== prev", arg=before, timeout=5_000)
    return settled(app)


def settled(app: App) -> str:
    """Where the focus is once Flutter agrees. The browser moves its focus at once; Flutter
    moves its own through a message to the framework and then puts the browser's where
    its own is, a frame or two later (a key pressed in between goes to Flutter's)."""
    now = focused(app)
    for _ in range(20):
        app.page.evaluate(_TWO_FRAMES)
        then, now = now, focused(app)
        if then == now:
            break
    return now


def tab_to(app: App, pattern: str, *, back: bool = False, limit: int = 80) -> None:
    """Tab (or Shift+Tab) until the focused control's name matches ``pattern``."""
    seen = []
    for _ in range(limit):
        now = press_and_wait(app, "Shift+Tab" if back else "Tab")
        seen.append(now)
        if re.search(pattern, now):
            return
    raise AssertionError(f"Tab never reached {pattern!r}; the stops were:\n  " + "\n  ".join(seen))


def open_by_keyboard(app: App) -> None:
    """Load the app and switch its accessibility tree on the way a keyboard does: Tab to
    Flutter's "Enable accessibility" button, Enter."""
    p: Any = app.page
    p.add_init_script(_COUNT_MOUSE)
    p.route("**/*", _only_loopback)
    p.goto(app.url)
    p.wait_for_selector("#loading", state="detached", timeout=60_000)
    p.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
    # Once started, Flutter takes the focus into its view (the signal waited for); from
    # there Tab walks Flutter's own widgets, which are many once the first screen is
    # drawn. A keyboard user comes into the page from the browser's own controls, at the
    # document's start, where Tab reaches "Enable accessibility" first: start there.
    with contextlib.suppress(PlaywrightTimeout):
        p.wait_for_function(_VIEW_FOCUSED, timeout=10_000)
    p.evaluate("() => document.activeElement && document.activeElement.blur()")
    tab_to(app, "Enable accessibility", limit=2)
    p.keyboard.press("Enter")
    app.by_id("create-new-message").wait_for(timeout=60_000)


def pick_by_keyboard(app: App, query: str, contact: str, name: str, *, back: bool) -> None:
    """Tab to the search (back up to it from a row picked before), type, then Tab to the
    person's row and press Enter; the focus stays on the row it chose."""
    tab_to(app, "^field: Search contacts", back=back)
    app.page.keyboard.press("Control+A")
    app.page.keyboard.type(query)
    app.by_id(f"pick-{contact}").wait_for(timeout=WAIT)  # the results are shown
    tab_to(app, f"^button: {re.escape(name)},")
    app.page.keyboard.press("Enter")
    app.page.wait_for_function(
        f"() => /^button: {re.escape(name)},.*selected/.test(({_FOCUSED})())", timeout=WAIT
    )


def test_create_a_group_send_and_open_participants_with_the_keyboard_only(browser, app_server):
    ctx: Any = browser.new_context(viewport=DESKTOP)
    try:
        app = App(ctx.new_page(), app_server.url)
        open_by_keyboard(app)

        tab_to(app, "^button: Create New Message")
        app.page.keyboard.press("Enter")
        app.by_id("new-group").wait_for(timeout=WAIT)
        tab_to(app, r"^radio: Front desk")
        app.page.keyboard.press("Space")
        wait_until(lambda: "number to send from" not in label_of(app, "create-reasons"), app)
        for i, (query, contact, name) in enumerate(
            (
                ("Noah", "ct_demo_noah_williams", "Noah Williams"),
                ("Olivia Brown", "ct_demo_olivia_brown", "Olivia Brown"),
                ("Liam", "ct_demo_liam_davis", "Liam Davis"),
            )
        ):
            pick_by_keyboard(app, query, contact, name, back=i > 0)
        wait_until(lambda: "3 of 2–9 selected" in label_of(app, "counter"), app)
        a11y.assert_all_named(app.page, "keyboard: the wizard")
        tab_to(app, "^button: Create Conversation")
        app.page.keyboard.press("Enter")

        # The new thread opens with the cursor in the composer.
        app.by_id("composer").wait_for(timeout=WAIT)
        app.page.wait_for_function(f"() => ({_FOCUSED})().startsWith('field: Message')")
        app.page.keyboard.type("Typed, never clicked")
        app.page.keyboard.press("Enter")
        bubble = app.ids_starting("message-").first
        wait_until(lambda: "Typed, never clicked" in a11y.spoken(bubble), app)
        wait_until(lambda: "Delivered" in a11y.spoken(bubble), app)

        # Chat Participants, and back where the keyboard was.
        tab_to(app, "^button: Chat Participants", back=True)
        app.page.keyboard.press("Enter")
        app.by_id("participants-panel").wait_for(timeout=WAIT)
        for name in ("Noah Williams", "Olivia Brown", "Liam Davis"):
            assert name in a11y.spoken(app.by_id("participants-panel"))
        SHOTS.mkdir(parents=True, exist_ok=True)
        app.page.screenshot(path=str(SHOTS / "keyboard-participants.png"))
        app.page.keyboard.press("Escape")
        app.by_id("participants-panel").wait_for(state="detached", timeout=WAIT)
        app.page.wait_for_function(
            f"() => ({_FOCUSED})().startsWith('button: Chat Participants')", timeout=WAIT
        )
        app.page.evaluate(_TWO_FRAMES)  # the ring is painted in the frame after the focus
        app.page.screenshot(path=str(SHOTS / "keyboard-after-escape.png"))
        assert app.page.evaluate("window.__mouse") == 0, "a mouse event happened"
    finally:
        ctx.close()
