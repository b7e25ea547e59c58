"""docs/deploy and README's set-up steps, checked against the real command line.

Caddy and a container runtime aren't available to the tests; what they would run is
parsed by the server's own argument parsers, so a flag renamed in the code and not in
the docs fails here. ``systemd-analyze verify`` checks the unit where it exists.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.server import admin, cli
from services.server.carrier_queue import DRAIN_S

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
UNIT = DEPLOY / "group-chat-sms.service"
SERVER = ["-m", "services.server"]
GRACEFUL_S = 3  # cli.main: uvicorn's timeout_graceful_shutdown


def unit() -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read_string(UNIT.read_text(encoding="utf-8"))
    return parsed


def served_args(argv: list[str]) -> list[str]:
    """The server's own arguments of a command line that runs ``python -m services.server``."""
    assert argv[1:3] == SERVER, argv
    return argv[3:]


def test_the_units_command_line_is_the_servers() -> None:
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == f"{service['WorkingDirectory']}/.venv/bin/python"
    args = cli.serve_parser().parse_args(served_args(argv))
    assert args.host == "127.0.0.1" and args.trusted_proxy == ["127.0.0.1"]
    assert args.public_url.startswith("https://") and args.carrier == "twilio"
    assert Path(args.db).parent == Path("/var/lib") / service["StateDirectory"]
    assert "TWILIO" not in service["ExecStart"]  # secrets only from the EnvironmentFile
    assert service["EnvironmentFile"].startswith("/etc/")


def test_the_unit_lets_in_flight_carrier_sends_finish() -> None:
    service = unit()["Service"]
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) >= GRACEFUL_S + DRAIN_S + 5
    assert service["RestartPreventExitStatus"] == "2"  # cli: a refused start exits 2


def test_caddy_proxies_to_the_units_address_which_trusts_it() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    upstream = re.search(r"^\s*reverse_proxy\s+(\S+):(\d+)", caddy, re.MULTILINE)
    assert upstream is not None
    args = cli.serve_parser().parse_args(served_args(shlex.split(unit()["Service"]["ExecStart"])))
    assert (upstream[1], int(upstream[2])) == (args.host, args.port)
    # Caddy reaches a loopback address from loopback: that is the proxy to trust.
    assert args.trusted_proxy == [upstream[1]]
    assert re.search(r"flush_interval\s+-1", caddy)  # the event stream is not buffered


def test_the_container_runs_the_server() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.MULTILINE)[1])  # type: ignore[index]
    command = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE)[1])  # type: ignore[index]
    assert entry == ["python", *SERVER]
    args = cli.serve_parser().parse_args(command)
    assert args.db.startswith("/data/")
    run = re.search(r"docker run .*?group-chat-sms \\\n(.*?)\n#   docker exec", text, re.DOTALL)
    assert run is not None
    cli.serve_parser().parse_args(shlex.split(run[1].replace("#", "").replace("\\", "")))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    service = unit()["Service"]
    secrets = tmp_path / "carrier.env"
    secrets.write_text("TWILIO_AUTH_TOKEN=x\n", encoding="utf-8")
    # The unit as installed, with the paths of this checkout (verify wants them to exist).
    text = (
        UNIT.read_text(encoding="utf-8")
        .replace(f"{service['WorkingDirectory']}/.venv/bin/python", sys.executable)
        .replace(f"WorkingDirectory={service['WorkingDirectory']}", f"WorkingDirectory={ROOT}")
        .replace(f"EnvironmentFile={service['EnvironmentFile']}", f"EnvironmentFile={secrets}")
    )
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=120
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0
    assert UNIT.name not in done.stderr  # no warning about any line of the unit


def readme_commands() -> list[list[str]]:
    """The admin commands of README's "Set up a server for your business", as argv."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up a server for your business")[1].split("\n## ")[0]
    text = "\n".join(
        line for line in section.replace("\\\n", " ").splitlines() if "alias " not in line
    )
    commands = re.findall(r"gcs-admin [^`\n]+", text)
    commands += re.findall(r"-m services\.server admin [^`\n]+", text)
    found = []
    for line in commands:
        line = re.sub(r"\s+#.*$", "", line).replace("$(date +%F)", "2026-12-05")
        argv = shlex.split(line)
        if argv[0] == "gcs-admin":
            found.append(["--db", "/var/lib/group-chat-sms/server.db", *argv[1:]])
        elif argv[3:4] != ["--help"]:
            found.append(argv[3:])
    return found


def test_every_admin_command_in_the_readme_is_the_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 17
    areas = set()
    for argv in commands:
        args = admin.parser().parse_args(argv)  # a wrong flag exits, failing the test
        areas.add((args.area, getattr(args, "verb", None)))
    assert areas >= {
        ("location", "create"),
        ("user", "add"),
        ("user", "disable"),
        ("token", "issue"),
        ("token", "list"),
        ("token", "revoke"),
        ("contacts", "import"),
        ("contacts", "assign"),
        ("numbers", "sync"),
        ("numbers", "link"),
        ("backup", None),
        ("restore", None),
    }
