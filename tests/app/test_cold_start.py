"""Cold start imports only what the first screen shows (issue 19: 1.6 s to the painted list).

Checked by which modules a fresh interpreter has loaded, never by time."""

from __future__ import annotations

import subprocess
import sys

# Opened later (a thread, the wizard, the panel, files), or needed only by a server.
LATER = (
    "app.views.thread",
    "app.views.new_group",
    "app.views.participants",
    "app.components.attachments",
    "app.components.bubble",
    "app.views.signin",  # a returning user's start never shows it
    "app.state.signin",
    "services.server.app",
    "services.server.embedded",
    "keyring",
    "phonenumbers",  # until a number is parsed or shown (services/phones.py)
    # Loaded when pydantic first builds a validator: the client's answer shapes are made on
    # first use (services/api/responses.Shape), not at import (~20 ms of every start).
    "pydantic.plugin._loader",
)


def fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported before it)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout + out.stderr


def test_the_shell_imports_nothing_the_list_does_not_show():
    code = (
        "import sys, json, app.views.shell, app.backend; "
        f"print(json.dumps([m for m in {list(LATER)!r} if m in sys.modules]))"
    )
    printed = fresh(code)
    assert printed.strip() == "[]", printed


def test_the_demo_backend_is_not_started_before_its_first_request():
    code = (
        "import sys, asyncio\n"
        "from pathlib import Path\n"
        "from app import backend\n"
        "from app.config import AppConfig\n"
        "cfg = AppConfig(token='demo-admin', location_id='loc_demo', data_dir=Path('.'))\n"
        "client = backend._client(cfg)\n"
        "print('services.server.embedded' in sys.modules, client.in_process)\n"
    )
    printed = fresh(code)
    assert printed.split() == ["False", "True"], printed


def test_making_the_themes_does_not_import_flets_theme_module():
    # app/theme_values.py stands in for it: ~80 ms of every start (tests/app/test_theme_values.py).
    code = (
        "import sys\n"
        "from app import theme\n"
        "theme.themes(['Roboto'])\n"
        "print('flet.controls.theme' in sys.modules)\n"
    )
    printed = fresh(code)
    assert printed.strip() == "False", printed
