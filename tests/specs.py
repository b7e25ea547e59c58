"""Where the official OpenAPI documents of the systems we talk to are kept.

``$GCS_SHARED_DIR/specs`` when that variable is set, else ``../shared/specs``
beside the repository root (the project's shared folder; CI lays a copy there).
A test that needs a document and cannot find it fails, saying where it looked:
a silently skipped contract test would hide exactly the drift it exists to catch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def specs_dir() -> Path:
    """The folder of official specs; fails the test when it is missing."""
    shared = os.environ.get("GCS_SHARED_DIR")
    folder = Path(shared) / "specs" if shared else REPO_ROOT.parent / "shared" / "specs"
    if not folder.is_dir():
        where = f"$GCS_SHARED_DIR/specs ({folder})" if shared else str(folder.resolve())
        pytest.fail(
            f"The official OpenAPI documents were not found: looked in {where}. "
            "Set GCS_SHARED_DIR to the shared folder that holds specs/.",
            pytrace=False,
        )
    return folder


def spec_path(*parts: str) -> Path:
    """One document under the specs folder, e.g. ``spec_path("leadconnector", "apps", ...)``."""
    path = specs_dir().joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"The OpenAPI document {path} is missing from {specs_dir()}.", pytrace=False)
    return path
