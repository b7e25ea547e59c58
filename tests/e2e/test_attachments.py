"""Attachments in Chromium against the app in web mode (offline): pick, send, see, download;
and a carrier that refuses a picture as too large, then Compress and resend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e import a11y
from tests.e2e.conftest import DESKTOP, App
from tests.e2e.test_journeys import WAIT, api, label_of, run, wait_until
from tests.services import attachment_files as files

pytestmark = pytest.mark.e2e
PDF = files.pdf(48_000)


# The centre of a picture inside the thread's visible area (below the header, above
# the composer), or null. Found by its spoken label: Flutter puts the handle on the
# picture's own node or on a wrapper around it, depending on how the tree was merged.
_PICTURE_ON_SCREEN = r"""() => {
    for (const e of document.querySelectorAll('flt-semantics')) {
        const own = [...e.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent);
        const spoken = (e.getAttribute('aria-label') || '') + own.join(' ');
        if (!/^Picture \S/.test(spoken)) continue;
        const r = e.getBoundingClientRect();
        if (r.height > 0 && r.top >= 60 && r.bottom <= window.innerHeight - 60)
            return [r.left + r.width / 2, r.top + r.height / 2];
    }
    return null;
}"""


def attach(app: App, picks: list[tuple[str, str, bytes]]) -> None:
    with app.page.expect_file_chooser(timeout=WAIT) as chooser:
        app.by_id("attach").click()
    chooser.value.set_files(
        files=[{"name": n, "mimeType": m, "buffer": data} for n, m, data in picks]
    )


def spoken(loc: Any) -> str:
    """A node's label and text, or "" when it went away meanwhile (the list redraws)."""
    try:
        return a11y.spoken(loc, timeout=1000)
    except PlaywrightError:
        return ""


def bubble_with(app: App, text: str) -> Any:
    """The newest message whose spoken label contains ``text`` (waits for it)."""
    bubbles = app.ids_starting("message-")
    found: list[Any] = []

    def check() -> bool:
        # Every bubble's id and words read at once: read one by one, a bubble the list
        # redrew in between was waited for until the locator's timeout.
        pairs = bubbles.evaluate_all(
            "els => els.map(e => [e.getAttribute('flt-semantics-identifier'),"
            f" ({a11y.SPOKEN_JS})(e)])"
        )
        for ident, words in reversed(pairs):
            if text in words:
                # By its own id from now on: positions shift as the list redraws.
                found.append(app.by_id(ident))
                return True
        return False

    wait_until(check, app)
    return found[0]


def test_two_pictures_and_a_pdf_are_sent_shown_and_the_pdf_downloads_intact(
    make_app, app_server, tmp_path: Path
):
    app = make_app(app_server, DESKTOP)
    app.text("Weekend crew").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    attach(
        app,
        [
            ("beach.jpg", "image/jpeg", files.photo(1600, 1200)),
            ("logo.png", "image/png", files.transparent_png(300, 200)),
            ("Trip plan.pdf", "application/pdf", PDF),
        ],
    )
    # The preview row: every file with its size, the big photo compressed, before Send.
    wait_until(lambda: "Checking" not in label_of(app, "picked-files"), app)
    picked = label_of(app, "picked-files")
    assert "Trip plan.pdf, 47 KB" in picked
    assert "beach.jpg" in picked and "Compressed from" in picked and "logo.png" in picked
    app.shot("attachments-composer")
    app.type_in("composer", "Plan and photos")
    app.page.keyboard.press("Enter")
    sent = bubble_with(app, "2 pictures and 1 file")
    assert "Plan and photos" in spoken(sent)
    # Pictures inline (two thumbnails), the PDF as a chip with its name and size.
    app.ids_starting("file-chip").first.wait_for(timeout=WAIT)
    wait_until(lambda: "Picture beach.jpg" in (t := spoken(sent)) and "Picture logo.png" in t, app)
    wait_until(lambda: "47 KB" in spoken(app.ids_starting("file-chip").last), app)
    assert "Trip plan.pdf" in spoken(app.ids_starting("file-chip").last)
    app.shot("attachments-sent")
    # The chip's Download button (the semantics layer's click is a screen reader's tap).
    with app.page.expect_download(timeout=WAIT) as download:
        app.ids_starting("download-file").last.click()
    assert download.value.suggested_filename == "Trip plan.pdf"
    saved = tmp_path / "saved.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == PDF
    # A thumbnail opens the picture full size.
    # One on screen: the semantics tree also keeps older pictures scrolled out of view,
    # in no fixed order, and a tap on one of those lands on the canvas above it.
    point = app.page.wait_for_function(_PICTURE_ON_SCREEN, polling=100, timeout=WAIT)
    app.page.mouse.click(*point.json_value())
    app.by_id("full-picture").wait_for(timeout=WAIT)
    app.shot("attachments-full-picture")
    app.button("Close").click()


def test_a_picture_too_large_for_the_carrier_is_compressed_and_resent(make_app, server_app):
    async def carrier(max_mms_bytes: int) -> None:
        async with api(server_app) as client:
            await client.sandbox_carrier(max_mms_bytes=max_mms_bytes)

    photo = files.photo(1000, 800)  # under the composer's 500 KB: sent as picked
    assert 300_000 < len(photo) < 500 * 1024
    app = make_app(server_app, DESKTOP)
    app.text("Chloe Martin").click()
    app.by_id("composer").wait_for(timeout=WAIT)
    run(carrier(300_000))
    try:
        attach(app, [("garden.jpg", "image/jpeg", photo)])
        wait_until(lambda: "garden.jpg" in label_of(app, "picked-files"), app)
        # Send waits while a pick is being checked; on a loaded machine that takes a while.
        wait_until(lambda: "Checking" not in label_of(app, "picked-files"), app)
        app.type_in("composer", "The garden")
        app.page.keyboard.press("Enter")
        refused = bubble_with(app, "too large for their carrier")
        assert "Not delivered to Chloe Martin: the picture is too large" in spoken(refused)
        app.by_id("compress-resend").wait_for(timeout=WAIT)
        app.shot("attachments-too-large")
        a11y.assert_all_named(app.page, "a refused picture")
        app.by_id("compress-resend").click()
        bubbles = app.ids_starting("message-")
        wait_until(
            lambda: (
                sum(
                    "The garden" in (t := spoken(bubbles.nth(i))) and "Delivered" in t
                    for i in range(bubbles.count())
                )
                == 1
            ),
            app,
        )
        app.shot("attachments-resent")
        a11y.assert_all_named(app.page, "resent, with its snack bar")
    finally:
        run(carrier(1024 * 1024))
