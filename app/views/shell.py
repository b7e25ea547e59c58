"""The app's frame: sign-in, adaptive layout, navigation, keyboard, notices.

Side by side at 900 px and wider (rail, conversations, thread, participants
panel); one screen at a time below that, with a bottom NavigationBar
(Conversations, New, Settings) and back navigation.

Only what the first screen shows is imported with this module: the thread, the
wizard, the participants panel and attachments are imported when first opened
(cold start to the painted list is a budget: issue 19).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import flet as ft

from app import collector, theme
from app import push as push_door
from app.backend import Backend, connect
from app.components.connection import ConnectionBar, ConnectionIndicator
from app.config import AppConfig
from app.state.base import user_message
from app.state.conversations import ConversationsVM
from app.state.push import PushVM, conversation_of
from app.views.account import GROUPS_UNSUPPORTED, AccountFlow, UnsupportedView
from app.views.conversations import ConversationsView, rows_on_screen
from app.views.settings import SettingsView
from app.views.ui import handle, refresh, say
from services import phones
from services.api.errors import AuthError

if TYPE_CHECKING:  # imported on first use, not at start (see the module's docstring)
    from app.components.attachments import BytesCache
    from app.state.participants import ParticipantsVM
    from app.state.thread import ThreadVM
    from app.views.new_group import NewGroupView
    from app.views.participants import ParticipantsView
    from app.views.thread import ThreadView
    from services.models import GroupKind

log = logging.getLogger("app")
ROUTES = ("list", "new", "settings")
TITLE = "Group Chat for SMS"


class _Frame(ft.Container):
    """The page's content, isolated: ``page.update()`` (the window title, the theme) then
    diffs only the page's own fields, never the whole screen under it; the frame
    updates itself (``layout()``), and an event's auto-update stops here at the latest."""

    def is_isolated(self) -> bool:
        return True


class Shell:
    def __init__(self, page: ft.Page, cfg: AppConfig) -> None:
        self.page, self.cfg = page, cfg
        self.backend: Backend | None = None
        self.route = "list"  # list | thread | new | settings
        self.panel_open = False
        self.wide: bool | None = None
        self.theme_mode = ft.ThemeMode.SYSTEM
        self.root = _Frame(expand=True)
        # The Conversations destination's icons on the rail or bottom bar now shown: an
        # unread change sets their badge and updates them, not the page.
        self._badge_icons: list[ft.Icon] = []
        self._shown_unread: int | None = None
        self.indicator = ConnectionIndicator()
        self.connection_bar = ConnectionBar()
        self.thread_vm: ThreadVM | None = None
        self.thread_view: ThreadView | None = None
        self.new_view: NewGroupView | None = None
        self.participants_view: ParticipantsView | None = None
        self.settings_view: SettingsView | None = None
        self._unsubscribe: Any = None
        # This window's open thread and visibility, as Sync follows them (services.sync.Window):
        # each browser tab of the web app has its own.
        self.window: Any = None
        self.file_picker: ft.FilePicker | None = None
        self.cache: BytesCache | None = None
        self.account = AccountFlow(self)  # sign-in, 401s and sign-out (app/views/account.py)
        # Push on iOS/Android (app/state/push.py); no door elsewhere: push is off.
        self.push = PushVM(None)

    # --- start-up ---------------------------------------------------------------------------

    async def start(self) -> None:
        page = self.page
        page.title = TITLE
        page.padding = 0
        page.spacing = 0
        theme.apply(page, self.theme_mode)
        page.on_resize = self._on_resize
        page.on_keyboard_event = self._on_key
        page.on_disconnect = lambda _: self._detach()
        page.on_close = lambda _: self._detach()
        page.on_app_lifecycle_state_change = self._on_lifecycle
        page.add(ft.SafeArea(self.root, expand=True))
        self.start_push()
        await self.account.begin()
        collector.keep_what_started()  # the first screen is drawn

    def start_push(self, door: Any = None) -> None:
        """The push door goes in before sign-in, so the tap that launched the app (a cold
        start) is heard; the view-model keeps it until the user is signed in."""
        vm = self.push = PushVM(None, app_version=_app_version())
        vm.listen(self._on_push)
        # The SDK may report the launching tap while the door is made: vm is there for it.
        vm.door = door or push_door.door_for(
            self.page,
            self.cfg.onesignal_app_id,
            on_tap=lambda payload: vm.tapped(conversation_of(payload)),
            on_id=lambda: self.page.run_task(vm.push_id_changed),
        )

    def _on_push(self, what: str, payload: Any) -> None:
        if what == "error":
            say(self.page, payload)
        elif what == "ready" and self.backend is not None:
            # Settings now knows whether this phone pushes, and the user's preference:
            # made again when next shown.
            self.settings_view = None
            if self.route == "settings":
                self.layout()

    def _message_screen(self, text: str, *, busy: bool, retry: bool = False) -> None:
        parts: list[ft.Control] = []
        if busy:
            parts.append(ft.ProgressRing())
        parts.append(ft.Text(text, text_align=ft.TextAlign.CENTER, size=16))
        if retry:
            parts.append(ft.FilledButton("Try again", on_click=self._on_retry_connect))
        self.root.content = handle(
            ft.Container(
                ft.Column(
                    parts,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    alignment=ft.MainAxisAlignment.CENTER,
                    spacing=16,
                    tight=True,
                ),
                alignment=ft.Alignment.CENTER,
                padding=32,
                expand=True,
            ),
            "status-screen",
        )
        self.root.update()

    async def _on_retry_connect(self, _: ft.Event) -> None:
        await self._connect()

    async def _connect(self) -> None:
        self._message_screen("Signing in…", busy=True)
        try:
            self.backend = await connect(self.cfg)
        except Exception as exc:
            log.warning("sign-in failed", exc_info=exc)
            if isinstance(exc, AuthError) and not self.cfg.embedded:
                # A refused token: sign in again (the cache, and its drafts, stay).
                self.cfg = self.cfg.with_token("")
                self.account.show_signin(
                    f"Couldn't sign in to {self.cfg.backend_label()}. {user_message(exc)}"
                )
                return
            self._message_screen(
                f"Couldn't sign in to {self.cfg.backend_label()}. {user_message(exc)}",
                busy=False,
                retry=True,
            )
            return
        self._wire(self.backend)

    def _wire(self, b: Backend) -> None:
        self.cache = None  # made when a thread first needs it (_bytes_cache)
        self.file_picker = ft.FilePicker()
        self.conv_vm = ConversationsVM(b.store, b.sync, first=rows_on_screen(self.page.height))
        self.conv_view = ConversationsView(
            self.conv_vm, on_open=self.open_thread, on_new=self.open_new, indicator=self.indicator
        )
        self.conv_vm.listen(self._on_conv_vm)
        self._unsubscribe = b.store.subscribe(self._on_change)
        self.window = b.sync.window()
        b.notifier.listeners.append(self._on_notice)
        b.notifier.openers.append(self._open_from_notification)
        self.indicator.set_state(b.sync.connection_state)
        self.connection_bar.set_state(str(b.sync.connection_state))
        self.settings_view = None  # made when first opened (_detail)
        self.conv_vm.refresh()
        self.route, self.panel_open = "list", False
        self.wide = None
        self.layout()
        self.page.run_task(self._fill_list)
        self.page.run_task(self.conv_vm.reload)
        self.page.run_task(self.push.signed_in, b.client, self._open_from_notification, b.quiet)

    async def _fill_list(self) -> None:
        """The rest of the list's first page, after the screen's rows went out."""
        self.conv_vm.fill()

    def _detach(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self.backend and self._on_notice in self.backend.notifier.listeners:
            self.backend.notifier.listeners.remove(self._on_notice)
        if self.backend and self._open_from_notification in self.backend.notifier.openers:
            self.backend.notifier.openers.remove(self._open_from_notification)
        if self.backend and self.window is not None:
            self.backend.sync.close_window(self.window)
            self.window = None

    # --- layout -----------------------------------------------------------------------------

    def is_wide(self) -> bool:
        return (self.page.width or 1280) >= theme.WIDE

    def layout(self) -> None:
        if self.backend is None:
            return
        self.wide = self.is_wide()
        self._badge_icons = []
        self.root.content = self._wide() if self.wide else self._narrow()
        if self.thread_view is not None:
            self.thread_view.set_narrow(not self.wide)
        self.root.update()
        self._show_unread()

    def _nav_index(self) -> int:
        return {"new": 1, "settings": 2}.get(self.route, 0)

    def _unread_badge(self) -> str | None:
        n = self.conv_vm.unread_total()
        return str(n) if n else None

    def _conversations_icons(self) -> tuple[ft.Icon, ft.Icon]:
        """The Conversations destination's icons, remembered so the badge updates alone."""
        badge = self._unread_badge()
        icons = (
            ft.Icon(ft.Icons.CHAT_BUBBLE_OUTLINE, badge=badge),
            ft.Icon(ft.Icons.CHAT_BUBBLE, badge=badge),
        )
        self._badge_icons += icons
        return icons

    def _wide(self) -> ft.Control:
        self.conv_view.shown = True
        icon, selected_icon = self._conversations_icons()
        rail = handle(
            ft.NavigationRail(
                selected_index=self._nav_index(),
                label_type=ft.NavigationRailLabelType.ALL,
                on_change=self._on_nav,
                min_width=72,
                destinations=[
                    ft.NavigationRailDestination(
                        icon=icon,
                        selected_icon=selected_icon,
                        label="Conversations",
                    ),
                    ft.NavigationRailDestination(icon=ft.Icons.EDIT_SQUARE, label="New"),
                    ft.NavigationRailDestination(
                        icon=ft.Icons.SETTINGS_OUTLINED,
                        selected_icon=ft.Icons.SETTINGS,
                        label="Settings",
                    ),
                ],
            ),
            "nav",
        )
        detail = self._detail()
        row: list[ft.Control] = [
            rail,
            ft.VerticalDivider(width=1),
            ft.Container(self.conv_view.root, width=theme.LIST_WIDTH),
            ft.VerticalDivider(width=1),
            ft.Container(detail, expand=True),
        ]
        if self.panel_open and self.route == "thread" and self.participants_view:
            row += [
                ft.VerticalDivider(width=1),
                ft.Container(self.participants_view.root, width=340),
            ]
        return ft.Row(row, spacing=0, expand=True, vertical_alignment=ft.CrossAxisAlignment.STRETCH)

    def _detail(self) -> ft.Control:
        if self.route == "thread" and self.thread_view:
            return self.thread_view.root
        if self.route == "new" and self.new_view:
            return self.new_view.root
        if self.route == "settings" and self.backend is not None:
            if self.settings_view is None:
                self.settings_view = self._settings()
            return self.settings_view.root
        return handle(
            ft.Container(
                ft.Column(
                    [
                        ft.Icon(ft.Icons.FORUM_OUTLINED, size=64, color=ft.Colors.OUTLINE),
                        ft.Text(
                            "Choose a conversation, or Create New Message to start a group.",
                            color=ft.Colors.ON_SURFACE_VARIANT,
                            text_align=ft.TextAlign.CENTER,
                        ),
                    ],
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    alignment=ft.MainAxisAlignment.CENTER,
                    tight=True,
                ),
                alignment=ft.Alignment.CENTER,
                expand=True,
            ),
            "empty-detail",
        )

    def _narrow(self) -> ft.Control:
        self.conv_view.shown = False
        if self.route == "thread" and self.thread_view:
            screen = (
                self.participants_view.root
                if self.panel_open and self.participants_view
                else self.thread_view.root
            )
            return ft.Column(
                [self.connection_bar, ft.Container(screen, expand=True)], spacing=0, expand=True
            )
        screen = self._detail() if self.route in ("new", "settings") else self.conv_view.root
        self.conv_view.shown = screen is self.conv_view.root
        icon, selected_icon = self._conversations_icons()
        nav = handle(
            ft.NavigationBar(
                selected_index=self._nav_index(),
                on_change=self._on_nav,
                destinations=[
                    ft.NavigationBarDestination(
                        icon=icon,
                        selected_icon=selected_icon,
                        label="Conversations",
                    ),
                    ft.NavigationBarDestination(icon=ft.Icons.EDIT_SQUARE, label="New"),
                    ft.NavigationBarDestination(
                        icon=ft.Icons.SETTINGS_OUTLINED,
                        selected_icon=ft.Icons.SETTINGS,
                        label="Settings",
                    ),
                ],
            ),
            "nav",
        )
        return ft.Column([ft.Container(screen, expand=True), nav], spacing=0, expand=True)

    def _on_resize(self, _: Any) -> None:
        if self.backend is not None and self.is_wide() != self.wide:
            if (
                self.participants_view is not None
                and self.thread_vm
                and self.thread_vm.conversation
            ):
                self.participants_view = self._participants(self.thread_vm.conversation)
            self.layout()

    # --- navigation ----------------------------------------------------------------------------

    async def _on_nav(self, e: ft.Event) -> None:
        index = int(e.control.selected_index or 0)
        target = ROUTES[index]
        if target == "new":
            await self.open_new()
        elif target == "settings":
            self.route, self.panel_open = "settings", False
            self.layout()
        else:
            self.go_list()

    def go_list(self) -> None:
        self.route, self.panel_open = "list", False
        self._close_thread()
        self.conv_vm.select(None)
        self.layout()

    def _close_thread(self) -> None:
        if self.thread_vm is not None:
            self.thread_vm.close()
            if self.window is not None:
                self.window.conversation_id = None
        self.thread_vm = None
        self.thread_view = None
        self.participants_view = None

    async def open_thread(self, conversation_id: str) -> None:
        b = self.backend
        if b is None:
            return
        vm = self.thread_vm
        if self.route == "thread" and vm is not None and vm.conversation_id == conversation_id:
            # Already open: a second tap on its row (a double click, or one tap delivered
            # twice) must not close and reopen it under the user's typing.
            log.info("thread %s is open already", conversation_id)
            return
        log.info("open thread %s", conversation_id)
        from app.state.thread import ThreadVM
        from app.views.thread import ThreadView

        self._close_thread()
        vm = ThreadVM(
            store=b.store,
            sync=b.sync,
            me=b.me,
            numbers=b.numbers,
            teammates=b.teammates,
            conversation_id=conversation_id,
            groups_supported=b.supports_groups,
        )
        self.thread_vm = vm
        self.thread_view = ThreadView(
            vm,
            page=self.page,
            cache=self._bytes_cache(),
            on_back=self.go_list,
            on_participants=self.open_participants,
            on_recreate=self.recreate_without_blockers,
            pick_files=self.pick_files,
            download=self.download,
        )
        if self.window is not None:
            self.window.conversation_id = conversation_id
        self.route, self.panel_open = "thread", False
        self.conv_vm.select(conversation_id)
        self.layout()
        # The first thread opened is the first need of notifications: ask then, once.
        self.page.run_task(self.push.opened, conversation_id)
        await vm.open()

    def open_participants(self) -> None:
        """Chat Participants opens the panel; once open, it stays open (its own Close,
        back or Escape closes it). As a toggle, one tap delivered twice (a double click,
        or a browser under load handing both the pointer's tap and the screen reader's
        tap to the app) opened and at once closed it."""
        vm = self.thread_vm
        if vm is None or vm.conversation is None or self.panel_open:
            return
        self.panel_open = True
        log.info("participants panel opened")
        self.participants_view = self._participants(vm.conversation)
        self.layout()

    def _bytes_cache(self) -> BytesCache | None:
        """Downloaded files for the threads' bubbles, shared by every thread opened."""
        if self.cache is None and self.backend is not None:
            from app.components.attachments import BytesCache

            b = self.backend
            self.cache = BytesCache(b.client.download, sizes=b.store)
        return self.cache

    def _participants(self, conversation: Any) -> ParticipantsView:
        from app.state.participants import ParticipantsVM
        from app.views.participants import ParticipantsView

        pvm = ParticipantsVM(conversation)
        mutable = self.backend is not None and self.backend.supports_groups
        cid = conversation.id
        return ParticipantsView(
            pvm,
            on_close=self.close_panel,
            on_new_group=lambda: self.page.run_task(self._new_with, pvm, set()),
            narrow=not self.is_wide(),
            muted=self.push.is_muted(cid) if mutable else None,
            on_mute=lambda on: self.page.run_task(self.set_muted, cid, on),
        )

    async def set_muted(self, conversation_id: str, muted: bool) -> None:
        now = await self.push.set_muted(conversation_id, muted)
        if self.participants_view is not None:
            self.participants_view.show_muted(now)

    def close_panel(self) -> None:
        self.panel_open = False
        log.info("participants panel closed")
        self.layout()
        # The panel's controls are gone: the focus goes back to the button that opened it,
        # never to nowhere (a keyboard user would start again from the top).
        if self.thread_view is not None:
            self.page.run_task(self.thread_view.focus_participants)

    async def _new_with(self, pvm: ParticipantsVM, without: set[str]) -> None:
        conv = pvm.conversation
        await self.open_new(prefill=(pvm.kind, conv.from_number, pvm.member_ids(without)))

    async def recreate_without_blockers(self) -> None:
        vm = self.thread_vm
        if vm is None or vm.conversation is None:
            return
        from app.state.participants import ParticipantsVM

        blockers = {p.id for p in vm.blockers()}
        await self._new_with(ParticipantsVM(vm.conversation), blockers)

    async def open_new(
        self, prefill: tuple[GroupKind, str | None, list[str]] | None = None
    ) -> None:
        b = self.backend
        if b is None:
            return
        self._close_thread()
        if not b.supports_groups:
            # Explained, never a crash: this backend (LeadConnector) has no group create.
            self.new_view = UnsupportedView(GROUPS_UNSUPPORTED)  # type: ignore[assignment]
            self.route, self.panel_open = "new", False
            self.conv_vm.select(None)
            self.layout()
            return
        from app.state.new_group import NewGroupVM
        from app.views.new_group import NewGroupView

        vm = NewGroupVM(
            client=b.client, store=b.store, me=b.me, numbers=b.numbers, teammates=b.teammates
        )
        self.new_view = NewGroupView(vm, page=self.page, on_created=self.open_thread, on_back=None)
        self.route, self.panel_open = "new", False
        self.conv_vm.select(None)
        self.layout()
        if prefill:
            await vm.prefill(*prefill)
        await self.new_view.start()

    # --- settings ------------------------------------------------------------------------------

    def _settings(self) -> SettingsView:
        assert self.backend is not None
        return SettingsView(
            cfg=self.cfg,
            me=self.backend.me,
            theme_mode=self.theme_mode,
            on_switch_user=lambda token: self.page.run_task(self.switch_user, token),
            on_theme=self.set_theme,
            on_back=None,
            push_staff=self.push.push_staff if self.push.available else None,
            on_push_staff=lambda on: self.page.run_task(self.push.set_push_staff, on),
            **self.account.settings_extras(),
        )

    def set_theme(self, mode: ft.ThemeMode) -> None:
        self.theme_mode = mode
        self.page.theme_mode = mode
        self.page.update()

    async def switch_user(self, token: str) -> None:
        # The next user's sign-in registers this device again, as theirs.
        self.push.sign_in_lost()
        self._detach()
        self._close_thread()
        self.new_view = None
        self.cfg = self.cfg.with_token(token)
        await self._connect()

    # --- services: files -------------------------------------------------------------------------

    async def pick_files(self) -> list[Any]:
        from pathlib import Path

        from services.attachments import AttachmentSource

        assert self.file_picker is not None
        try:
            files = await self.file_picker.pick_files(allow_multiple=True, with_data=True)
        except Exception as exc:
            say(self.page, f"Couldn't open the file picker. {user_message(exc)}")
            return []
        out = []
        for f in files or []:
            if f.bytes is None and f.path is None:
                continue
            path = Path(f.path) if f.path and f.bytes is None else None
            out.append(
                AttachmentSource(name=f.name, data=f.bytes, path=path, key=f"{f.id}:{f.name}")
            )
        return out

    async def download(self, url: str) -> None:
        from app.state.fmt import file_name_from_url

        try:
            cache = self._bytes_cache()
            assert cache is not None and self.file_picker is not None
            data = await cache.get(url)
            await self.file_picker.save_file(file_name=file_name_from_url(url), src_bytes=data)
        except Exception as exc:
            say(self.page, f"Couldn't download the file. {user_message(exc)}")

    # --- changes from the store ----------------------------------------------------------------

    def _on_change(self, change: Any) -> None:
        name = type(change).__name__
        if name == "ConnectionChanged":
            self.indicator.set_state(str(change.state))
            if _mounted(self.indicator):
                self.indicator.update()
            self.connection_bar.set_state(str(change.state))
            if _mounted(self.connection_bar):
                self.connection_bar.update()
            if str(change.state) == "connected" and self.thread_vm is not None:
                # Back online: the open thread may have been opened offline (cache only,
                # never marked read): fetch its newest page and mark it read now.
                self.page.run_task(self.thread_vm.open)
            return
        self.conv_vm.on_store_change(change)
        if self.thread_vm is not None:
            self.thread_vm.on_store_change(change)
        if name in ("ConversationChanged", "ConversationsReset"):
            self._refresh_badges()

    def _refresh_badges(self) -> None:
        """The unread total changed: set the badge on the icons shown and the window title.

        Never a layout: rebuilding the page for a number cost ~80 KB and ~40 ms, twice
        per incoming text (arrival, then mark-read)."""
        badge = self._unread_badge()
        for icon in self._badge_icons:
            if icon.badge != badge:
                icon.badge = badge
                refresh(icon)
        self._show_unread()

    def _show_unread(self) -> None:
        """The unread total in the window title, e.g. "(3) Group Chat for SMS"."""
        n = self.conv_vm.unread_total()
        if n == self._shown_unread:
            return
        self._shown_unread = n
        self.page.title = f"({n}) {TITLE}" if n else TITLE
        self.page.update()  # the frame is isolated: this diffs the page's fields only

    def _on_conv_vm(self, what: str, payload: Any) -> None:
        if what == "error":
            say(self.page, payload)

    def _on_notice(self, title: str, body: str, conversation_id: str) -> None:
        if self.thread_vm is not None and self.thread_vm.conversation_id == conversation_id:
            return
        body = self._names_for_numbers(body, conversation_id)
        self.page.show_dialog(
            ft.SnackBar(
                ft.Semantics(
                    identifier="notice",
                    live_region=True,
                    content=ft.Text(f"{title}: {body}", max_lines=2),
                ),
                action="Open",
                on_action=lambda _: self.page.run_task(self.open_thread, conversation_id),
                behavior=ft.SnackBarBehavior.FLOATING,
                duration=5000,
            )
        )

    def _open_from_notification(self, conversation_id: str) -> None:
        """A click on a system notification (it may come from another thread)."""
        self.page.run_task(self.open_thread, conversation_id)

    def _on_lifecycle(self, e: ft.AppLifecycleStateChangeEvent) -> None:
        """A hidden or minimised window is not reading its open thread (issue 6)."""
        if self.window is None:
            return
        visible = e.state not in (ft.AppLifecycleState.HIDE, ft.AppLifecycleState.PAUSE)
        was, self.window.visible = self.window.visible, visible
        if visible and not was and self.thread_vm is not None:
            # Back in front of an open thread: what arrived meanwhile is now read.
            self.page.run_task(self.thread_vm.mark_read)

    def _names_for_numbers(self, text: str, conversation_id: str) -> str:
        """A notice says who wrote, not a raw +1 number, whenever the group knows them."""
        conv = self.backend.store.conversation(conversation_id) if self.backend else None
        for p in getattr(conv, "participants", None) or []:
            if p.phone and p.phone in text:
                text = text.replace(p.phone, p.current_name or p.name or p.phone)
        return re.sub(r"\+\d{8,15}", lambda m: phones.format_display(m.group()), text)

    # --- keyboard --------------------------------------------------------------------------------

    async def _on_key(self, e: ft.KeyboardEvent) -> None:
        command = e.ctrl or e.meta
        key = (e.key or "").upper()
        if command and key == "N":
            await self.open_new()
        elif command and key == "F":
            if self.route != "list" and not self.is_wide():
                self.go_list()
            await self.conv_view.search.focus()
        elif command and key == "V" and self.route == "thread" and self.thread_view is not None:
            # The text field pastes text itself; a picture on the clipboard is attached (the
            # desktop clients only: a browser tab cannot read it). No picture: say nothing.
            if self.thread_view.can_paste:
                await self.thread_view.paste(quiet=True)
        elif key == "ESCAPE":
            if self.thread_view is not None and self.thread_view.modal_open:
                return  # the client closes the sheet or dialog; nothing under it moves
            if self.panel_open:
                self.close_panel()
            elif self.route in ("new", "settings") or not self.is_wide():
                self.go_list()


def _app_version() -> str:
    """pyproject.toml's version, told to the server with this device ("" if unknown)."""
    from importlib import metadata

    try:
        return metadata.version("group-chat-sms")
    except metadata.PackageNotFoundError:
        return ""


def _mounted(control: ft.BaseControl) -> bool:
    try:
        return control.page is not None
    except RuntimeError:
        return False
