"""Start-up: the command line, settings, and the desktop fallback sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import build_config, parse_args

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_open_the_embedded_demo_as_the_admin(tmp_path, monkeypatch):
    monkeypatch.setenv("GCS_CONFIG", str(tmp_path / "flet.toml"))
    (tmp_path / "flet.toml").write_text("")
    cfg = build_config(parse_args(["--demo-reset"]))
    assert cfg.embedded and cfg.token == "demo-admin" and cfg.demo_token
    assert cfg.backend_label() == "Embedded demo backend"
    assert cfg.data_dir.exists()


def test_backend_and_token_from_the_command_line():
    cfg = build_config(
        parse_args(["--web", "--port", "8123", "--backend", "http://127.0.0.1:9/", "--token", "T"])
    )
    assert (cfg.web, cfg.port, cfg.backend_url, cfg.token) == (
        True,
        8123,
        "http://127.0.0.1:9",
        "T",
    )
    assert not cfg.embedded


def test_demo_reset_gives_a_fresh_folder_each_time():
    a = build_config(parse_args(["--demo-reset"])).data_dir
    b = build_config(parse_args(["--demo-reset"])).data_dir
    assert a != b


def test_without_a_desktop_the_app_suggests_web_instead_of_a_traceback():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if sys.platform != "linux":
        pytest.skip("only Linux has a 'no display' case; elsewhere a window can open")
    done = subprocess.run(
        [sys.executable, "-m", "app", "--demo-reset"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "--web" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
