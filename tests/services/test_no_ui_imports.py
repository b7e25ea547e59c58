"""The service layer runs without the UI: importing all of it never loads flet."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"

_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import services
for mod in pkgutil.walk_packages(services.__path__, "services."):
    if mod.name.endswith("__main__"):
        continue
    importlib.import_module(mod.name)
loaded = sorted(m for m in sys.modules if m == "flet" or m.startswith("flet."))
print(len([m for m in sys.modules if m.startswith("services")]))
print(",".join(loaded))
"""


def test_importing_every_services_module_loads_no_flet() -> None:
    # A fresh interpreter: this test process may have flet loaded by other tests.
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        cwd=SERVICES.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    imported, flet_modules = int(out[0]), out[1]
    assert imported > 30, "the walk should have imported the whole service layer"
    assert flet_modules == "", f"services loaded flet modules: {flet_modules}"


def test_no_services_source_names_flet_in_an_import() -> None:
    offenders = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}:{node.lineno}" for n in names if n.split(".")[0] == "flet"]
    assert offenders == []
