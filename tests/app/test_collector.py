"""The collector leaves the start's objects out of its later passes, once a process."""

from __future__ import annotations

import gc

import pytest

from app import collector


def tracked(thing: object) -> bool:
    """Whether the collector's passes still walk ``thing`` (frozen ones are not listed)."""
    return any(o is thing for o in gc.get_objects())


def test_what_the_start_made_is_left_out_of_later_passes_and_what_came_after_is_not(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(collector, "_done", False)
    started = [{"made": "at the start"}]
    assert tracked(started)
    try:
        collector.keep_what_started()
        assert not tracked(started)
        later = [{"made": "after"}]
        collector.keep_what_started()  # once a process: a second call freezes nothing
        assert tracked(later)
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
