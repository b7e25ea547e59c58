"""The project's two commands, runnable with nothing but Python and pip.

    python3 dev.py run [APP ARGS]   start the app (desktop window; --web for a browser)
    python3 dev.py test [PYTEST ARGS]   ruff, mypy (strict on services/), then pytest
    python3 dev.py bench             the performance benchmarks (bench/)

Each command first makes `.venv` beside this file and installs the project into
it (again only when pyproject.toml changed), so a fresh clone needs no other step.
The test command also installs Debian's Chromium for the browser tests when it is
missing and we are root; without it the browser tests are skipped with a reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-pyproject"


def _pyproject_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv(extras: str = "dev,server") -> None:
    """Create .venv and install the project into it when pyproject.toml changed."""
    if not PY.exists():
        print("== creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = f"{_pyproject_digest()}:{extras}"
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("== installing the project and its dependencies into .venv", flush=True)
    spec = f".[{extras}]" if extras else "."
    run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=False)
    run([str(PY), "-m", "pip", "install", "-q", "-e", spec])
    STAMP.write_text(wanted)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> None:
    """Install Debian's Chromium for the browser tests when missing and we can."""
    ensure_debian("chromium", chromium_path() is not None, "browser tests")


def ensure_redis() -> None:
    """Install Debian's Redis for the test of two server processes when missing."""
    ensure_debian("redis-server", shutil.which("redis-server") is not None, "broker tests")


def ensure_debian(package: str, present: bool, tests: str) -> None:
    if present:
        return
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not (is_root and shutil.which("apt-get")):
        print(f"== {package} is missing and cannot be installed here: {tests} will skip")
        return
    print(f"== installing Debian's {package} for the {tests}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if run(["apt-get", "install", "-y", "-qq", package], check=False, env=env) != 0:
        run(["apt-get", "update", "-qq"], check=False, env=env)
        run(["apt-get", "install", "-y", "-qq", package], check=False, env=env)


def run(cmd: list[str], check: bool = True, env: dict[str, str] | None = None) -> int:
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if check and code != 0:
        sys.exit(code)
    return code


def cmd_test(args: list[str]) -> int:
    ensure_venv()
    ensure_chromium()
    ensure_redis()
    steps = [
        [str(PY), "-m", "ruff", "check", "."],
        [str(PY), "-m", "ruff", "format", "--check", "."],
        [str(PY), "-m", "mypy", "services"],
    ]
    for step in steps:
        print("==", " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
        if run(step, check=False) != 0:
            return 1
    print("== pytest", flush=True)
    return run([str(PY), "-m", "pytest", *args], check=False)


def cmd_run(args: list[str]) -> int:
    ensure_venv()
    return run([str(PY), "-m", "app", *args], check=False)


def cmd_bench(args: list[str]) -> int:
    ensure_venv()
    return run([str(PY), "-m", "bench", *args], check=False)


def main() -> int:
    commands = {"test": cmd_test, "run": cmd_run, "bench": cmd_bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
