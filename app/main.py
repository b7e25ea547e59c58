"""Entry point: ``python -m app [--web] [--port N] [--demo-reset] [--backend URL --token T]``.

Desktop window by default; ``--web`` serves the same app to a browser on
127.0.0.1 only, fully offline (``no_cdn``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import flet as ft

from app.config import AppConfig, build_config, parse_args

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# In the browser, CanvasKit rather than Flet's default for Chromium (skwasm): skwasm's
# render thread can die with "RuntimeError: memory access out of bounds" and leave the page
# frozen while the app runs on (flutter/flutter#182734, open). Our browser journeys met a
# page frozen so in 3 of 7 whole runs, on a different screen each time (the third one's
# console named the error); a user would meet a dead page. Flet also documents CanvasKit
# as faster at the byte buffers it exchanges on every update.
WEB_RENDERER = ft.WebRenderer.CANVAS_KIT
WEB_HINT = (
    "Run `python3 dev.py run --web` (or `python -m app --web` inside .venv)"
    " to use the app in your browser instead."
)


# At DEBUG these log every message between browser and app, and controls' reprs:
# whatever is typed (the sign-in token too) would land in the log.
CHATTY_LOGGERS = (
    "flet",
    "flet_transport",
    "flet_object_patch",
    "flet_controls",
    "flet_components",
    "flet_web",
    "httpcore",
)


def quiet_chatty_loggers() -> None:
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logging.getLogger().level))


def make_main(cfg: AppConfig):  # type: ignore[no-untyped-def]
    async def main(page: ft.Page) -> None:
        from app.views.shell import Shell

        shell = Shell(page, cfg)
        await shell.start()

    return main


def _packaged() -> bool:
    """True inside an app made by `flet build` (iOS, Android, desktop bundles)."""
    from flet.utils.platform_utils import is_embedded

    return bool(is_embedded() or os.environ.get("FLET_PLATFORM"))


def _desktop_client_problem() -> str | None:
    """Why the desktop window cannot open here, in a sentence; None when it can."""
    from flet.utils.platform_utils import is_linux_server

    if is_linux_server():
        return "There is no desktop display on this machine, so no window can open."
    if os.environ.get("FLET_VIEW_PATH"):
        return None
    try:
        import flet_desktop

        flet_desktop.ensure_client_cached()
    except Exception as exc:  # URLError offline, HTTPError, missing package...
        logging.getLogger(__name__).debug("desktop client unavailable", exc_info=exc)
        return (
            "The Flet desktop client could not be downloaded "
            "(it comes from GitHub on first run and needs the internet)."
        )
    return None


def run(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("GCS_APP_LOG", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_chatty_loggers()
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except ValueError as exc:  # services.settings.SettingsError names the bad key
        print(f"The app's settings are not valid:\n{exc}", file=sys.stderr)
        return 2
    main = make_main(cfg)
    if _packaged():
        # A `flet build` app: its own Flutter client hosts us; nothing to download or check.
        ft.run(main, assets_dir=str(ASSETS))
        return 0
    if cfg.web:
        print(f"Serving Group Chat for SMS on http://127.0.0.1:{cfg.port or '<free port>'}")
        ft.run(
            main,
            view=ft.AppView.WEB_BROWSER,
            host="127.0.0.1",
            port=cfg.port,
            assets_dir=str(ASSETS),
            no_cdn=True,
            web_renderer=WEB_RENDERER,
        )
        return 0
    problem = _desktop_client_problem()
    if problem:
        print(f"{problem} {WEB_HINT}", file=sys.stderr)
        return 1
    try:
        ft.run(main, host="127.0.0.1", assets_dir=str(ASSETS))
    except Exception as exc:
        print(f"The desktop window could not be opened ({exc}). {WEB_HINT}", file=sys.stderr)
        return 1
    return 0
