"""The user journeys of issue 4, in Chromium against the app in web mode (offline)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.a11y import assert_all_named, spoken
from tests.e2e.conftest import DESKTOP, PHONE, App, Server

pytestmark = pytest.mark.e2e
WAIT = 30_000


def nav(app: App, name: str) -> None:
    """The rail (desktop) and the bottom bar (phone) both say Conversations, New, Settings."""
    app.page.locator(
        f'[role="tab"][aria-label="{name}"], [role="button"][aria-label="{name}"]'
    ).or_(app.page.get_by_role("button", name=re.compile(f"^{name}"))).first.click()


def new_group(app: App) -> None:
    app.by_id("create-new-message").click()
    app.by_id("new-group").wait_for(timeout=WAIT)
    app.by_id("search-contacts").wait_for(timeout=WAIT)


def search_contacts(app: App, text: str) -> None:
    app.type_in("search-contacts", text)
    app.page.wait_for_timeout(600)


def pick(app: App, contact: str, query: str) -> None:
    search_contacts(app, query)
    app.by_id(f"pick-{contact}").click()
    app.page.wait_for_timeout(300)


def label_of(app: App, ident: str) -> str:
    return label_of_loc(app.by_id(ident))


def label_of_loc(loc: Any) -> str:
    """What a screen reader hears for a handle: its label and the words inside."""
    return spoken(loc)


def wait_until(check: Any, app: App, seconds: float = 60) -> None:
    for _ in range(int(seconds * 4)):
        if check():
            return
        app.page.wait_for_timeout(250)
    raise AssertionError("the screen never showed what was expected")


def test_create_a_group_of_three_and_send_a_message_that_is_delivered(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    new_group(app)
    app.by_id("from-+14155550100").click()
    pick(app, "ct_demo_noah_williams", "Noah")
    pick(app, "ct_demo_olivia_brown", "Olivia Brown")
    assert "2 of 2–9 selected" in label_of(app, "counter")
    pick(app, "ct_demo_liam_davis", "Liam")
    assert "3 of 2–9 selected" in label_of(app, "counter")
    app.type_in("group-name", "Garden club")
    app.shot("journey-create-ready")
    app.by_id("create-conversation").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.type_in("composer", "Welcome to the garden club!")
    app.page.keyboard.press("Enter")
    bubble = app.ids_starting("message-").first
    bubble.wait_for(timeout=WAIT)
    wait_until(lambda: "Delivered" in label_of_loc(bubble), app)
    assert "Welcome to the garden club!" in label_of_loc(bubble)
    # Tap the message: per-participant delivery.
    bubble.click()
    app.by_id("delivery-detail").wait_for(timeout=WAIT)
    detail = label_of(app, "delivery-detail")
    for name in ("Noah Williams", "Olivia Brown", "Liam Davis"):
        assert name in detail
    app.shot("journey-delivery-detail")
    app.page.keyboard.press("Escape")
    assert "Garden club" in app.page.content() or app.text("Garden club").count()
    app.shot("journey-sent-delivered")


def test_the_wizard_says_why_for_a_tenth_person_dnd_and_the_uk_contact(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    new_group(app)
    search_contacts(app, "Oliver")
    assert "outside" in label_of(app, "pick-ct_demo_oliver_bennett").lower()
    search_contacts(app, "Megan")
    assert "Do Not Disturb" in label_of(app, "pick-ct_demo_megan_foster")
    app.by_id("pick-ct_demo_megan_foster").click()
    app.by_id("pick-notice").wait_for(timeout=WAIT)
    assert "Do Not Disturb" in label_of(app, "pick-notice")
    nine = [
        ("ct_demo_noah_williams", "Noah"),
        ("ct_demo_olivia_brown", "Olivia Brown"),
        ("ct_demo_liam_davis", "Liam"),
        ("ct_demo_sophia_garcia", "Sophia"),
        ("ct_demo_mason_miller", "Mason"),
        ("ct_demo_daniel_scott", "Daniel"),
        ("ct_demo_madison_young", "Madison"),
        ("ct_demo_caleb_hall", "Caleb"),
        ("ct_demo_chloe_martin", "Chloe"),
    ]
    for cid, query in nine:
        pick(app, cid, query)
    assert "9 of 2–9 selected" in label_of(app, "counter")
    pick(app, "ct_demo_marcus_johnson", "Marcus")
    assert "at most 9" in label_of(app, "pick-notice")
    assert "9 of 2–9 selected" in label_of(app, "counter")
    app.shot("journey-wizard-reasons")


def test_staff_see_only_assigned_contacts_and_allowed_numbers(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    nav(app, "Settings")
    app.by_id("switch-user").click()
    app.page.wait_for_timeout(1500)
    app.by_id("create-new-message").wait_for(timeout=WAIT)
    nav(app, "Settings")
    assert "staff" in label_of(app, "signed-in-as").lower()
    new_group(app)
    radios = app.ids_starting("from-")
    assert radios.count() == 1
    search_contacts(app, "Noah")  # assigned to the admin: absent, not disabled
    assert app.ids_starting("pick-").count() == 0
    search_contacts(app, "Chloe")
    assert app.by_id("pick-ct_demo_chloe_martin").count() == 1
    app.shot("journey-staff-wizard")


def test_chat_participants_finds_a_participant_by_a_number_fragment(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    app.text("Weekend crew").click()
    app.by_id("chat-participants").click()
    app.by_id("participants-panel").wait_for(timeout=WAIT)
    app.type_in("search-participants", "0113")
    app.page.wait_for_timeout(600)
    rows = app.ids_starting("participant-")
    assert rows.count() == 1
    assert "Hannah" in label_of(app, rows.first.get_attribute("flt-semantics-identifier"))
    app.shot("journey-participants-search")


# --- against a standalone server: the test plays the participants' phones ----------------


def api(server: Server) -> Any:
    from services.api.client import ApiClient

    return ApiClient(server.server_url, "demo-admin", location_id="loc_demo")


def run(coro: Any) -> Any:
    """Run the client on its own loop in a thread (Playwright's sync API owns this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


async def _conversation(server: Server, name: str) -> Any:
    async with api(server) as client:
        page = await client.search_conversations(query=name, limit=5)
        summary = next(s for s in page.conversations if s.name == name)
        return await client.get_conversation(summary.id)


def test_stop_blocks_the_group_and_it_is_recreated_without_them(make_app, server_app):
    conv = run(_conversation(server_app, "Weekend crew"))
    marcus = next(p for p in conv.participants if p.name.startswith("Marcus"))
    others = [p.phone for p in conv.participants if p is not marcus]

    async def stop() -> None:
        async with api(server_app) as client:
            await client.sandbox_inbound(marcus.phone, [conv.from_number, *others], "STOP")

    app = make_app(server_app, DESKTOP)
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    # Events that happen before the app's first live connection are not replayed on a
    # fresh device (it starts "from now"): play the phone only once the app is live.
    wait_until(lambda: "Live" in label_of(app, "connection"), app)
    run(stop())
    app.by_id("blocked-banner").wait_for(timeout=WAIT)  # live: no reload, no click
    wait_until(
        lambda: "Marcus Johnson turned on Do Not Disturb" in label_of(app, "blocked-banner"),
        app,
        seconds=30,
    )
    app.shot("journey-blocked-banner")
    app.button("Create new group without Marcus Johnson").click()
    app.by_id("new-group").wait_for(timeout=WAIT)
    app.page.wait_for_timeout(1500)
    assert f"{len(others)} of 2–9 selected" in label_of(app, "counter")
    app.by_id("create-conversation").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.shot("journey-recreated")


def test_edited_and_deleted_contacts_show_updated_and_deleted_tags(make_app, server_app):
    conv = run(_conversation(server_app, "Open house – 12 Bay St"))
    contacts = [p for p in conv.participants if p.contact_id]
    edited, deleted = contacts[0], contacts[1]

    async def change() -> None:
        async with api(server_app) as client:
            await client.update_contact(edited.contact_id, phone="+14155550199")
            await client.delete_contact(deleted.contact_id)

    run(change())
    app = make_app(server_app, DESKTOP)
    app.text("Open house – 12 Bay St").click()
    app.by_id("chat-participants").click()
    app.by_id("participants-panel").wait_for(timeout=WAIT)
    app.page.wait_for_timeout(1500)
    assert "Updated" in label_of(app, f"participant-{edited.id}")
    assert "Deleted" in label_of(app, f"participant-{deleted.id}")
    app.shot("journey-updated-deleted")


# --- every screen, phone and desktop, light and dark -----------------------------------------


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_screen_at_both_sizes_and_themes(make_app, app_server, size, theme):
    viewport = PHONE if size == "phone" else DESKTOP
    app = make_app(app_server, viewport, dark=theme == "dark")
    tag = f"{size}-{theme}"

    def shot(name: str) -> None:  # and every control on it has a name, in this theme too
        app.shot(name)
        assert_all_named(app.page, name)

    shot(f"conversations-{tag}")
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    shot(f"thread-{tag}")
    app.by_id("chat-participants").click()
    app.by_id("participants-panel").wait_for(timeout=WAIT)
    shot(f"participants-{tag}")
    if size == "phone":
        app.by_id("back").click()  # back to the thread
        app.by_id("composer").wait_for(timeout=WAIT)
        app.by_id("back").click()  # back to the list
        app.by_id("nav").wait_for(timeout=WAIT)
    app.text("Sunday league").click()
    app.by_id("blocked-banner").wait_for(timeout=WAIT)
    shot(f"blocked-{tag}")
    if size == "phone":
        app.by_id("back").click()
    nav(app, "New")
    app.by_id("new-group").wait_for(timeout=WAIT)
    search_contacts(app, "Re")
    shot(f"new-group-{tag}")
    nav(app, "Settings")
    app.by_id("settings").wait_for(timeout=WAIT)
    shot(f"settings-{tag}")


def test_keyboard_shortcuts_and_a_one_to_one_thread(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    app.text("Chloe Martin").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.type_in("composer", "Draft for Chloe")
    app.page.keyboard.press("Control+n")
    app.by_id("new-group").wait_for(timeout=WAIT)
    app.page.keyboard.press("Escape")
    app.by_id("empty-detail").wait_for(timeout=WAIT)
    app.text("Chloe Martin").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    app.page.wait_for_timeout(500)
    values = app.page.locator("textarea, input").evaluate_all("els => els.map(e => e.value)")
    assert "Draft for Chloe" in values  # the draft survived leaving the thread
    app.shot("journey-one-to-one-draft")


def test_a_reply_in_another_thread_shows_a_notice_and_a_badge(make_app, server_app):
    conv = run(_conversation(server_app, "Front desk team"))
    sender = conv.participants[0]
    others = [p.phone for p in conv.participants[1:]]

    async def reply() -> None:
        async with api(server_app) as client:
            await client.sandbox_inbound(sender.phone, [conv.from_number, *others], "Running late!")

    app = make_app(server_app, DESKTOP)
    app.text("Sunday league").click()
    app.by_id("blocked-banner").wait_for(timeout=WAIT)
    wait_until(lambda: "Live" in label_of(app, "connection"), app)
    run(reply())
    app.by_id("notice").wait_for(timeout=WAIT)
    assert "Running late!" in label_of(app, "notice")
    app.shot("journey-notice")
    assert_all_named(app.page, "a notice")
    row = app.by_id(f"conversation-{conv.id}")
    wait_until(lambda: "unread" in label_of_loc(row), app)


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 220)).save(buf, format="PNG")
    return buf.getvalue()


def test_attach_a_picture_and_send_it(make_app, app_server):
    app = make_app(app_server, DESKTOP)
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    with app.page.expect_file_chooser(timeout=WAIT) as chooser:
        app.by_id("attach").click()
    chooser.value.set_files(
        files=[{"name": "pitch.png", "mimeType": "image/png", "buffer": _png()}]
    )
    app.by_id("picked-files").wait_for(timeout=WAIT)  # the chip before sending
    assert "pitch.png" in label_of(app, "picked-files")
    app.type_in("composer", "Here's the pitch")
    app.page.keyboard.press("Enter")
    wait_until(
        lambda: any(
            "Here's the pitch" in label_of_loc(app.ids_starting("message-").nth(i))
            and "1 picture" in label_of_loc(app.ids_starting("message-").nth(i))
            for i in range(app.ids_starting("message-").count())
        ),
        app,
    )
    app.shot("journey-attachment-sent")


def test_a_message_the_carrier_fails_shows_red_with_retry(make_app, server_app):
    async def carrier(fail_rate: float) -> None:
        async with api(server_app) as client:
            await client.sandbox_carrier(fail_rate=fail_rate)

    app = make_app(server_app, DESKTOP)
    app.text("Chloe Martin").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    run(carrier(1.0))
    try:
        app.type_in("composer", "Is 3pm OK?")
        app.page.keyboard.press("Enter")
        bubbles = app.ids_starting("message-")
        wait_until(
            lambda: any(
                "Is 3pm OK?" in (t := label_of_loc(bubbles.nth(i))) and "Not delivered" in t
                for i in range(bubbles.count())
            ),
            app,
        )
        app.button("Retry").wait_for(timeout=WAIT)
        app.shot("journey-failed-retry")
    finally:
        run(carrier(0.0))


def test_the_browser_draws_with_canvaskit_not_skwasm(make_app, app_server):
    """app/main.py's WEB_RENDERER: skwasm's render thread could die and freeze the page."""
    app = make_app(app_server, DESKTOP)
    files = [url.rsplit("/", 1)[-1] for url in app.requested]
    assert "canvaskit.wasm" in files
    assert not [f for f in files if f.startswith("skwasm")], files
