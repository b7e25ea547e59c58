"""Picking and driving the flet-notifications notifier, over a stand-in for its service."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from app import mobile_notifier
from app.mobile_notifier import MobileNotifier, notification_id, system_notifier
from services.notify import NullNotifier


class FakeLocalNotifications:
    """Same constructor keyword and async methods as flet_notifications.LocalNotifications."""

    def __init__(self, on_tap: Any = None, *, grant: bool = True, fail_show: bool = False) -> None:
        self.on_tap = on_tap
        self.grant = grant
        self.fail_show = fail_show
        self.permission_requests = 0
        self.shown: list[dict[str, Any]] = []

    async def request_permissions(self) -> bool:
        self.permission_requests += 1
        await anyio.lowlevel.checkpoint()  # the dialog is open across a scheduling point
        return self.grant

    async def show(self, **kwargs: Any) -> None:
        if self.fail_show:
            raise RuntimeError("Unknown control: LocalNotifications")
        self.shown.append(kwargs)


@dataclass
class FakePage:
    platform: str
    web: bool = False


@dataclass
class TapEvent:
    payload: str


@pytest.fixture(autouse=True)
def _no_mobile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The choice must come from what each test sets, not from the machine running it.
    monkeypatch.delenv("FLET_PLATFORM", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def _pick(page: FakePage | None, on_open: Any = None) -> Any:
    return system_notifier("Group Chat", on_open, page=page, extension_class=FakeLocalNotifications)


@pytest.mark.parametrize("platform", ["ios", "android"])
def test_chosen_on_a_phone_platform(platform: str) -> None:
    assert isinstance(_pick(FakePage(platform)), MobileNotifier)


@pytest.mark.parametrize("platform", ["ios", "android"])
def test_chosen_in_a_packaged_build_by_flet_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    monkeypatch.setenv("FLET_PLATFORM", platform)
    assert isinstance(_pick(None), MobileNotifier)


@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
def test_not_chosen_on_desktop(platform: str) -> None:
    assert not isinstance(_pick(FakePage(platform)), MobileNotifier)


def test_not_chosen_in_a_phone_browser() -> None:
    # The web client has no notification extension, even on an iPhone.
    assert not isinstance(_pick(FakePage("ios", web=True)), MobileNotifier)


def test_not_chosen_without_a_page_or_build() -> None:
    assert isinstance(_pick(None), NullNotifier)


def test_missing_package_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLET_PLATFORM", "android")
    # None in sys.modules makes `import flet_notifications` raise ImportError.
    monkeypatch.setitem(sys.modules, "flet_notifications", None)
    assert mobile_notifier._extension_class() is None
    assert isinstance(system_notifier("Group Chat"), NullNotifier)


def test_real_extension_class_is_found() -> None:
    cls = mobile_notifier._extension_class()
    assert cls is not None and cls.__name__ == "LocalNotifications"


@pytest.mark.anyio
async def test_notify_forwards_title_body_and_thread() -> None:
    notifier = _pick(FakePage("android"))
    await notifier.notify("Ann Lee", "See you at 5", "conv_42")
    assert notifier._extension.shown == [
        {
            "id": notification_id("conv_42"),
            "title": "Ann Lee",
            "body": "See you at 5",
            "payload": "conv_42",
        }
    ]


def test_one_notification_id_per_thread() -> None:
    assert notification_id("conv_1") == notification_id("conv_1")
    assert notification_id("conv_1") != notification_id("conv_2")
    assert 0 <= notification_id("conv_1") < 2**31


@pytest.mark.anyio
async def test_permission_asked_once_even_for_concurrent_messages() -> None:
    notifier = _pick(FakePage("ios"))
    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(notifier.notify, "Ann", f"message {i}", "conv_1")
    await notifier.notify("Bob", "later", "conv_2")
    assert notifier._extension.permission_requests == 1
    assert len(notifier._extension.shown) == 4


@pytest.mark.anyio
async def test_denied_permission_shows_nothing_and_is_not_asked_again() -> None:
    notifier = MobileNotifier(lambda on_tap: FakeLocalNotifications(on_tap, grant=False))
    await notifier.notify("Ann", "hi", "conv_1")
    await notifier.notify("Ann", "hi again", "conv_1")
    assert notifier._extension.permission_requests == 1
    assert notifier._extension.shown == []


@pytest.mark.anyio
async def test_a_client_without_the_extension_is_not_retried() -> None:
    ext = FakeLocalNotifications(fail_show=True)
    notifier = MobileNotifier(lambda on_tap: ext)
    await notifier.notify("Ann", "hi", "conv_1")  # must not raise into the sync
    ext.fail_show = False
    await notifier.notify("Ann", "hi again", "conv_1")
    assert ext.shown == []


def test_tap_opens_the_thread() -> None:
    opened: list[str] = []
    notifier = _pick(FakePage("android"), opened.append)
    notifier._extension.on_tap(TapEvent(payload="conv_7"))
    assert opened == ["conv_7"]


def test_no_tap_handler_without_an_opener() -> None:
    assert _pick(FakePage("android"))._extension.on_tap is None
