"""Push notifications in the app, on the fake Flet session against the real server.

The phone's push SDK is ``FakeDoor`` (this machine has no phone): it answers the
permission prompt as told, gives a push id, and can deliver a tap. The server is the
real one in-process (its devices and mutes are read back from it); the sync loop is
the tests' fake, as in the other shell tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from app import backend as backend_mod
from app import push as push_mod
from app.backend import Backend, Quiet, gated_notifier
from app.config import AppConfig
from app.state.push import PushVM, conversation_of
from app.views.shell import Shell
from services.api import ApiClient, RetryPolicy
from services.models import Conversation
from services.server import seed
from services.server.embedded import EmbeddedTransport, embedded_transport
from services.store import Store
from tests.app.conftest import FakeSession, find, settle
from tests.app.fakes import FakeSync

pytestmark = pytest.mark.anyio


class FakeDoor:
    """The phone's push SDK: a permission prompt, a push id, taps."""

    platform = "ios"

    def __init__(self, *, allow: bool = True, allowed_before: bool = False) -> None:
        self.allow = allow
        self.allowed = allowed_before
        self.prompts = 0
        self.id = "sub-fake-phone"
        self.cleared: list[str] = []

    async def permitted(self) -> bool:
        return self.allowed

    async def request_permission(self) -> bool:
        self.prompts += 1
        self.allowed = self.allow
        return self.allowed

    async def push_id(self) -> str | None:
        return self.id if self.allowed else None

    async def clear(self, conversation_id: str) -> None:
        self.cleared.append(conversation_id)


@dataclasses.dataclass
class Demo:
    cfg: AppConfig
    backend: Backend
    transport: EmbeddedTransport
    groups: list[Conversation]

    def devices(self) -> list[str]:
        rows = self.transport.server.db.all("SELECT push_id FROM devices ORDER BY push_id")
        return [row[0] for row in rows]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    transport = embedded_transport(tmp_path / "server.db", seed="demo", rate_limit=0, latency_ms=0)
    client = ApiClient(
        "http://embedded.invalid", seed.STAFF_TOKEN, transport=transport, retry=RetryPolicy.never()
    )
    me = await client.me()
    store = Store(":memory:")
    page = await client.search_conversations(limit=5)
    groups = [await client.get_conversation(c.id) for c in page.conversations[:2]]
    for group in groups:
        store.put_conversation(group)
    cfg = AppConfig(data_dir=tmp_path, token=seed.STAFF_TOKEN)
    b = Backend(cfg, client, store, FakeSync(store, me), me, [], [me])
    backend_mod._backends[(None, seed.STAFF_TOKEN)] = b
    yield Demo(cfg, b, transport, groups)
    backend_mod._backends.clear()
    await client.aclose()


async def start(
    fake: FakeSession, demo: Demo, door: FakeDoor, before: Callable[[Any], None] | None = None
) -> Shell:
    """The window as on a phone: its push door goes in at start, before sign-in;
    ``before`` is what the door hears then (the tap that launched the app)."""
    fake.register(width=390, height=800)
    shell = Shell(fake.page, demo.cfg)

    def phone_door(page: Any, app_id: str | None, *, on_tap: Any, on_id: Any) -> FakeDoor:
        if before is not None:
            before(on_tap)
        return door

    original = push_mod.door_for
    push_mod.door_for = phone_door  # type: ignore[assignment]
    try:
        await shell.start()
    finally:
        push_mod.door_for = original  # type: ignore[assignment]
    await until(lambda: shell.push.client is not None)
    return shell


async def until(condition: Callable[[], bool], rounds: int = 200) -> None:
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def tap_payload(conversation_id: str) -> dict[str, Any]:
    """What OneSignal's SDK hands over for a tap: the data we sent under additionalData."""
    return {
        "notificationId": "n-1",
        "title": "Weekend crew",
        "additionalData": {"conversationId": conversation_id},
    }


# --- permission at first need ---------------------------------------------------------------


async def test_permission_is_asked_when_a_thread_first_opens_not_at_launch(
    fake_session: FakeSession, demo: Demo
) -> None:
    door = FakeDoor()
    shell = await start(fake_session, demo, door)
    await settle()
    assert door.prompts == 0 and demo.devices() == []  # nothing at launch
    await shell.open_thread(demo.groups[0].id)
    await until(lambda: demo.devices() == ["sub-fake-phone"])
    assert door.prompts == 1
    await shell.open_thread(demo.groups[1].id)
    await settle()
    assert door.prompts == 1  # asked once
    assert demo.backend.quiet.pushing  # the push rings now, not the app's own notice


async def test_a_refusal_registers_nothing_and_is_not_asked_again(
    fake_session: FakeSession, demo: Demo
) -> None:
    door = FakeDoor(allow=False)
    shell = await start(fake_session, demo, door)
    await shell.open_thread(demo.groups[0].id)
    await shell.open_thread(demo.groups[1].id)
    await settle()
    assert door.prompts == 1 and demo.devices() == []
    assert not demo.backend.quiet.pushing  # the app keeps notifying itself


async def test_a_phone_that_allowed_it_before_registers_at_sign_in_without_a_prompt(
    fake_session: FakeSession, demo: Demo
) -> None:
    door = FakeDoor(allowed_before=True)
    await start(fake_session, demo, door)
    await until(lambda: demo.devices() == ["sub-fake-phone"])
    assert door.prompts == 0


# --- a tap opens the thread -------------------------------------------------------------------


async def test_a_tap_that_launched_the_app_opens_its_thread_once_signed_in(
    fake_session: FakeSession, demo: Demo
) -> None:
    target = demo.groups[1].id
    shell = await start(
        fake_session, demo, FakeDoor(), before=lambda on_tap: on_tap(tap_payload(target))
    )
    await until(lambda: shell.thread_vm is not None)
    assert shell.thread_vm is not None and shell.thread_vm.conversation_id == target
    assert shell.route == "thread"


async def test_a_tap_while_running_opens_its_thread(fake_session: FakeSession, demo: Demo) -> None:
    taps: list[Any] = []
    shell = await start(fake_session, demo, FakeDoor(), before=taps.append)
    assert shell.thread_vm is None
    [on_tap] = taps
    on_tap(tap_payload(demo.groups[0].id))
    await until(lambda: shell.thread_vm is not None)
    assert shell.thread_vm is not None and shell.thread_vm.conversation_id == demo.groups[0].id


async def test_a_server_without_push_never_prompts() -> None:
    class LeadConnectorLike:
        supports_groups = False

    door = FakeDoor()
    vm = PushVM(door)
    await vm.signed_in(LeadConnectorLike(), opener=lambda _: None)
    await vm.first_need()
    assert door.prompts == 0 and vm.device_id is None


def test_the_thread_id_is_found_however_the_sdk_hands_the_notification_over() -> None:
    assert conversation_of(tap_payload("conv_1")) == "conv_1"
    assert conversation_of('{"additionalData": {"conversationId": "conv_2"}}') == "conv_2"
    assert conversation_of({"custom": {"a": {"conversationId": "conv_3"}}}) == "conv_3"
    assert conversation_of({"title": "no data"}) is None
    assert conversation_of("not json") is None


# --- sign-out, mute, no double notice ------------------------------------------------------------


async def test_signing_out_removes_the_device_at_the_server(
    fake_session: FakeSession, demo: Demo
) -> None:
    shell = await start(fake_session, demo, FakeDoor(allowed_before=True))
    await until(lambda: demo.devices() == ["sub-fake-phone"])
    server = demo.transport.server
    await shell.account.sign_out()
    assert shell.backend is None
    assert server.db.scalar("SELECT COUNT(*) FROM devices") == 0


async def test_the_participants_panel_mutes_the_thread_at_the_server(
    fake_session: FakeSession, demo: Demo
) -> None:
    shell = await start(fake_session, demo, FakeDoor())
    group = demo.groups[0]
    await shell.open_thread(group.id)
    shell.open_participants()
    assert shell.participants_view is not None
    switch = find(shell.participants_view.root, "mute-thread").content
    assert isinstance(switch, ft.Switch) and switch.label == "Mute notifications"
    assert switch.value is False
    switch.value = True
    await fake_session.event(switch, "change", "true")
    await until(lambda: shell.push.is_muted(group.id))
    db = demo.transport.server.db
    assert db.scalar("SELECT conversation_id FROM muted_conversations") == group.id
    assert group.id in demo.backend.quiet.muted  # the app's own notices are quiet too


async def test_a_muted_thread_and_a_ringing_push_silence_the_apps_own_notices() -> None:
    heard: dict[str, list[str]] = {"in_app": [], "system": []}

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        async def notify(self, title: str, body: str, conversation_id: str) -> None:
            heard[self.name].append(conversation_id)

    quiet = Quiet()
    notifier = gated_notifier(Recorder("in_app"), Recorder("system"), quiet)
    await notifier.notify("Crew", "hi", "conv_a")
    quiet.muted.add("conv_a")
    await notifier.notify("Crew", "hi", "conv_a")  # muted: nothing at all
    quiet.pushing = True
    await notifier.notify("Other", "hi", "conv_b")  # push rings: only the in-app notice
    assert heard == {"in_app": ["conv_a", "conv_b"], "system": ["conv_a"]}


async def test_a_push_in_the_foreground_is_not_shown_twice() -> None:
    shown: list[str] = []

    class Notifications:
        async def prevent_default(self, notification_id: str) -> None:
            shown.append(f"prevented {notification_id}")

        async def get_permission(self) -> bool:
            return True

        async def request_permission(self) -> bool:
            return True

    class User:
        async def get_push_subscription_id(self) -> str:
            return "sub-1"

    class Service:
        def __init__(self, **handlers: Any) -> None:
            self.handlers = handlers
            self.notifications = Notifications()
            self.user = User()

    class Module:
        OneSignal = Service

    class Page:
        def __init__(self) -> None:
            self.services: list[Any] = []

    taps: list[Any] = []
    page = Page()
    door = push_mod.OneSignalDoor(
        page, "app-id", "android", on_tap=taps.append, on_id=lambda: None, module=Module
    )
    [service] = page.services
    assert service.handlers["app_id"] == "app-id"
    event = type("E", (), {"notification_id": "n-7", "notification": tap_payload("conv_9")})()
    await service.handlers["on_notification_foreground"](event)
    assert shown == ["prevented n-7"]  # the app's own notice tells of it instead
    service.handlers["on_notification_click"](event)
    assert conversation_of(taps[0]) == "conv_9"
    assert await door.push_id() == "sub-1" and await door.permitted()
    assert PushVM.foreground() is False


def test_no_door_on_desktop_web_or_without_an_app_id() -> None:
    class Desktop:
        web = False
        platform = "macos"

    class PhoneBrowser:
        web = True
        platform = "ios"

    nothing = {"on_tap": lambda _: None, "on_id": lambda: None}
    assert push_mod.door_for(Desktop(), "5eb5a37e-b458-11e3-ac11-000c2940e62c", **nothing) is None
    assert (
        push_mod.door_for(PhoneBrowser(), "5eb5a37e-b458-11e3-ac11-000c2940e62c", **nothing) is None
    )
    assert push_mod.door_for(Desktop(), None, **nothing) is None


async def test_settings_turn_on_pushes_for_what_other_staff_send(
    fake_session: FakeSession, demo: Demo
) -> None:
    shell = await start(fake_session, demo, FakeDoor(allowed_before=True))
    await until(lambda: shell.push.device_id is not None)
    await settle()
    shell.route = "settings"  # the Settings tab
    shell.layout()
    assert shell.settings_view is not None
    switch = find(shell.settings_view.root, "push-staff-messages").content
    assert isinstance(switch, ft.Switch) and switch.value is False
    switch.value = True
    await fake_session.event(switch, "change", "true")
    await until(lambda: shell.push.push_staff)
    db = demo.transport.server.db
    assert db.scalar("SELECT push_staff_messages FROM notification_prefs") == 1


async def test_no_push_setting_where_the_window_has_no_push(
    fake_session: FakeSession, demo: Demo
) -> None:
    fake_session.register(width=390, height=800)
    shell = Shell(fake_session.page, demo.cfg)
    await shell.start()  # a desktop or browser window: door_for gives None here
    await until(lambda: shell.push.client is not None)
    await settle()
    shell.route = "settings"  # the Settings tab
    shell.layout()
    assert shell.push.door is None and shell.settings_view is not None
    with pytest.raises(LookupError):
        find(shell.settings_view.root, "push-staff-messages")


async def test_opening_a_thread_takes_its_notifications_out_of_the_tray(
    fake_session: FakeSession, demo: Demo
) -> None:
    door = FakeDoor(allowed_before=True)
    shell = await start(fake_session, demo, door)
    await shell.open_thread(demo.groups[0].id)
    await until(lambda: door.cleared == [demo.groups[0].id])
