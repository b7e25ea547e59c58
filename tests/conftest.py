"""Shared pytest configuration."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    # The app runs on asyncio (Flet's loop); test on the same.
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser journeys last.

    Playwright's sync API keeps its own event loop running in the main thread
    for as long as the browser is open (a session fixture), so any asyncio test
    collected after it would fail with "another loop is running".
    """
    items.sort(key=lambda item: "tests/e2e/" in item.nodeid.replace("\\", "/"))
    # A safety net only: a journey that passes on a second try hides a defect in the app
    # or a race in the test, so every rerun is counted in the summary (below) and must
    # stay at zero; one that fails three times fails.
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests needed a rerun, always (CI's output shows "reruns: 0")."""
    reruns = terminalreporter.stats.get("rerun", [])
    terminalreporter.write_line(f"reruns: {len(reruns)}")
    for report in reruns:
        terminalreporter.write_line(f"  rerun: {report.nodeid}")
        # Why it failed the first time: the test's own frames and the error, not the
        # library's, since the cause of a flake is in the step the test was waiting on.
        lines = report.longreprtext.splitlines()
        ours = [n for n, line in enumerate(lines) if line.startswith("tests/")]
        start = max(0, ours[-1] - 30) if ours else len(lines) - 25
        for line in lines[start : (ours[-1] + 1) if ours else None]:
            terminalreporter.write_line(f"    {line}")
        for line in [line for line in lines if line.startswith("E ")][-8:]:
            terminalreporter.write_line(f"    {line}")
        # And what the page itself said last (tests/e2e/conftest.py prints its console).
        for title, text in report.sections:
            if title.startswith("browser console"):
                terminalreporter.write_line(f"    {title}:")
                for line in text.splitlines()[-15:]:
                    terminalreporter.write_line(f"    | {line}")
