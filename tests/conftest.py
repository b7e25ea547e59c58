"""Shared pytest configuration."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    # The app runs on asyncio (Flet's loop); test on the same.
    return "asyncio"
