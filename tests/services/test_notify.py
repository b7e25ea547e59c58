"""Notifiers: the desktop adapter, the fallback, and never raising."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.notify import (
    DesktopNotifier,
    FanOutNotifier,
    NullNotifier,
    has_notification_service,
    system_notifier,
)

pytestmark = pytest.mark.anyio


class FakeBackend:
    """Stands in for desktop_notifier.DesktopNotifier (needs a desktop session)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> str:
        if self.fail:
            raise RuntimeError("no notification server")
        self.sent.append(kwargs)
        return "id"


async def test_desktop_notifier_sends_and_a_click_opens_the_conversation() -> None:
    opened: list[str] = []
    backend = FakeBackend()
    notifier = DesktopNotifier(backend, on_open=opened.append)
    await notifier.notify("Weekend crew", "Ann: hi", "conv_1")
    assert backend.sent[0]["title"] == "Weekend crew"
    assert backend.sent[0]["message"] == "Ann: hi"
    click: Callable[[], None] = backend.sent[0]["on_clicked"]
    click()
    assert opened == ["conv_1"]


async def test_a_broken_service_is_quietly_given_up() -> None:
    backend = FakeBackend(fail=True)
    notifier = DesktopNotifier(backend)
    await notifier.notify("t", "b", "c")  # must not raise
    backend.fail = False
    await notifier.notify("t", "b", "c")
    assert backend.sent == []  # stopped trying after the first failure


async def test_fan_out_reaches_every_notifier_even_past_a_failing_one() -> None:
    class Boom:
        async def notify(self, title: str, body: str, conversation_id: str) -> None:
            raise RuntimeError("bug")

    good = FakeBackend()
    fan = FanOutNotifier(Boom(), DesktopNotifier(good), NullNotifier())
    await fan.notify("t", "b", "c")
    assert len(good.sent) == 1


def test_without_a_session_bus_linux_gets_the_do_nothing_notifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    assert not has_notification_service()
    assert isinstance(system_notifier("Group Chat"), NullNotifier)


def test_with_a_session_bus_linux_gets_desktop_notifications(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("desktop_notifier", reason="desktop-notifier is a desktop-only dependency")
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    assert isinstance(system_notifier("Group Chat"), DesktopNotifier)
