"""The Thread: header, blocked banner, messages (newest at the bottom), composer.

The list is a reversed ListView: index 0 is the newest row, so a new message is
one insert at 0 and the view opens at the bottom; older pages go on the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flet as ft

from app.components.a11y import heading, icon_button, quiet, quiet_tooltip
from app.components.attachments import BytesCache, PickedChip
from app.components.avatar import avatar_stack
from app.components.bubble import BubbleHooks, MessageBubble
from app.components.message_list import MessageList
from app.components.separator import date_separator
from app.state import fmt
from app.state.thread import DaySeparator, MessageItem, Row, ThreadVM
from app.views.ui import back_button, handle, header, refresh, say

# Load earlier / Show newer in the list: with its 6 px between rows, 11 px from a bubble
# and 16 px from a day separator, as before the list took over the bubbles' margins.
_BESIDE_ROWS = ft.Padding.symmetric(horizontal=8, vertical=5)


class ThreadView:
    def __init__(
        self,
        vm: ThreadVM,
        *,
        page: ft.Page,
        cache: BytesCache | None,
        on_back: Callable[[], None] | None,
        on_participants: Callable[[], None],
        on_recreate: Callable[[], Any],
        pick_files: Callable[[], Any],
        download: Callable[[str], Any],
    ) -> None:
        self.vm, self.page, self.cache = vm, page, cache
        self.on_recreate, self.pick_files, self.download = on_recreate, pick_files, download
        self.bubbles: dict[str, MessageBubble] = {}
        # A sheet or dialog of this thread is open: Escape is the client's (it closes it),
        # not the shell's (which would also go back or close the panel under it).
        self.modal_open = False
        self.title = ft.Text(
            "", size=18, weight=ft.FontWeight.W_600, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS
        )
        self.subtitle = ft.Text(
            "",
            size=12,
            color=ft.Colors.ON_SURFACE_VARIANT,
            max_lines=1,
            overflow=ft.TextOverflow.ELLIPSIS,
        )
        self.avatars = ft.Container()
        # The avatars' initials say nothing the subtitle's "4 participants" doesn't. (Shown
        # and hidden by this wrapper: Flutter's Semantics needs visible content.)
        self.avatars_box = quiet(self.avatars)
        self.participants_text = ft.TextButton(
            "Chat Participants",
            icon=ft.Icons.PEOPLE_OUTLINE,
            on_click=lambda _: on_participants(),
            tooltip=quiet_tooltip("Chat Participants: who is in this group"),
        )
        # On a phone the words don't fit beside the title: the icon keeps the same name.
        self.participants_icon = icon_button(
            ft.Icons.PEOPLE_OUTLINE,
            "Chat Participants",
            lambda _: on_participants(),
            visible=False,
        )
        self.participants_button = handle(
            ft.Row([self.participants_text, self.participants_icon], spacing=0, tight=True),
            "chat-participants",
        )
        back = back_button(lambda _: on_back() if on_back else None, "Back to conversations")
        self.back = back
        self.header = header(
            "",
            back=back,
            actions=[self.participants_button],
            subtitle=None,
        )
        # Replace the header's title column with our live texts and avatars.
        title_block = ft.Column(
            [heading(self.title), self.subtitle], spacing=0, tight=True, expand=True
        )
        row: ft.Row = self.header.content  # type: ignore[assignment]
        row.controls[1] = ft.Row(
            [self.avatars_box, title_block],
            spacing=10,
            expand=True,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )
        self.banner_text = ft.Text("", color=ft.Colors.ON_ERROR_CONTAINER, expand=True)
        self.banner_action = ft.FilledTonalButton("", on_click=self._recreate)
        self.banner = handle(
            ft.Container(
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Icon(ft.Icons.DO_NOT_DISTURB_ON, color=ft.Colors.ERROR),
                                self.banner_text,
                            ],
                            spacing=10,
                        ),
                        ft.Row([self.banner_action], alignment=ft.MainAxisAlignment.END),
                    ],
                    spacing=6,
                    tight=True,
                ),
                bgcolor=ft.Colors.ERROR_CONTAINER,
                padding=12,
                margin=ft.Margin.symmetric(horizontal=8),
                border_radius=12,
            ),
            "blocked-banner",
        )
        self.older = ft.Container(
            ft.TextButton(
                "Load earlier messages", icon=ft.Icons.HISTORY, on_click=self._on_older_click
            ),
            alignment=ft.Alignment.CENTER,
            padding=_BESIDE_ROWS,
        )
        # Below the window while newer messages wait in the store (the user scrolled up).
        self.newer = handle(
            ft.Container(
                ft.TextButton(
                    "Show newer messages",
                    icon=ft.Icons.ARROW_DOWNWARD,
                    on_click=self._on_newer_click,
                ),
                alignment=ft.Alignment.CENTER,
                padding=_BESIDE_ROWS,
            ),
            "newer-messages",
        )
        # Rows in isolated chunks: a new message costs the same at any window size.
        self.message_list = MessageList(
            self._control_for,
            self.older,
            on_scroll=self._on_scroll,
            newer=self.newer,
            on_release=self._release,
        )
        self.list = self.message_list.view
        # A label, not only a hint: the hint names the field only while it is empty.
        self.input = ft.TextField(
            label="Message",
            hint_text="Type a message",
            multiline=True,
            shift_enter=True,
            min_lines=1,
            max_lines=5,
            expand=True,
            border=ft.OutlineInputBorder(border_radius=22),
            filled=True,
            dense=True,
            content_padding=ft.Padding.symmetric(horizontal=14, vertical=10),
            on_submit=self._on_submit,
            on_change=self._on_type,
            autofocus=True,
        )
        self.send_button = icon_button(
            ft.Icons.SEND,
            "Send",
            self._on_send_click,
            bgcolor=ft.Colors.PRIMARY,
            icon_color=ft.Colors.ON_PRIMARY,
        )
        self.attach_button = icon_button(ft.Icons.ATTACH_FILE, "Attach files", self._on_attach)
        # Pasting a picture: the desktop clients read images off the clipboard; a
        # browser page may not, so the button shows on desktop only (see show_header).
        self.paste_button = icon_button(ft.Icons.CONTENT_PASTE, "Paste a picture", self._on_paste)
        self.paste_handle = handle(self.paste_button, "paste-picture")
        self.paste_handle.visible = _desktop(page)
        self.clipboard: ft.Clipboard | None = None  # kept referenced: services are weak
        self.picked = ft.Row([], wrap=True, spacing=6, run_spacing=6)
        self.picked_problem = ft.Text("", size=12, color=ft.Colors.ERROR, visible=False)
        # Files waiting to go; hide the handle, not its content (Flutter's Semantics rule).
        self.picked_box = handle(
            ft.Container(
                ft.Column([self.picked, self.picked_problem], spacing=4, tight=True),
                padding=ft.Padding.only(left=8, right=4, top=2),
            ),
            "picked-files",
        )
        self.picked_box.visible = False
        vm.tray.listen(self._on_tray)
        # The text field takes the row (a Container honours expand), so Send stays on screen.
        composer_box = ft.Container(handle(self.input, "composer"), expand=True)
        self.composer = ft.Container(
            ft.Column(
                [
                    self.picked_box,
                    ft.Row(
                        [
                            handle(self.attach_button, "attach"),
                            self.paste_handle,
                            composer_box,
                            handle(self.send_button, "send"),
                        ],
                        vertical_alignment=ft.CrossAxisAlignment.END,
                        spacing=4,
                    ),
                ],
                spacing=4,
                tight=True,
            ),
            padding=ft.Padding.only(left=4, right=8, top=6, bottom=8),
        )
        self.no_send = handle(
            ft.Container(
                ft.Row(
                    [
                        ft.Icon(ft.Icons.LOCK_OUTLINE, color=ft.Colors.ON_SURFACE_VARIANT),
                        ft.Text(
                            "You can't send from this number",
                            expand=True,
                            color=ft.Colors.ON_SURFACE_VARIANT,
                        ),
                    ],
                    spacing=10,
                ),
                padding=16,
                bgcolor=ft.Colors.SURFACE_CONTAINER,
            ),
            "composer-blocked",
        )
        self.root = handle(
            ft.Column(
                [
                    self.header,
                    ft.Divider(height=1),
                    self.banner,
                    self.list,
                    self.composer,
                    self.no_send,
                ],
                spacing=0,
                expand=True,
            ),
            "thread",
        )
        self.root.expand = True
        vm.listen(self._on_vm)
        self.input.value = vm.draft()
        self.show_header()
        self.render_all()

    def set_narrow(self, narrow: bool) -> None:
        self.back.visible = narrow
        self.participants_text.visible = not narrow
        self.participants_icon.visible = narrow
        self.avatars_box.visible = not narrow and bool(self.vm.participants)

    async def focus_participants(self) -> None:
        """Focus Chat Participants (the words, or the icon on a phone)."""
        narrow = bool(self.participants_icon.visible)
        await (self.participants_icon if narrow else self.participants_text).focus()

    async def _recreate(self, _: ft.Event) -> None:
        await self.on_recreate()

    # --- header, banner, composer --------------------------------------------------------

    def _header_state(self) -> tuple[Any, ...]:
        vm = self.vm
        return (
            vm.title,
            vm.subtitle,
            vm.banner,
            vm.recreate_label,
            vm.composer_block,
            tuple(vm.participant_name(p) for p in vm.participants),
        )

    def show_header(self) -> None:
        vm = self.vm
        self._shown_header = self._header_state()
        self.title.value = vm.title
        self.subtitle.value = vm.subtitle
        people = [
            (
                fmt.initials(vm.participant_name(p)),
                fmt.avatar_color(p.contact_id or p.user_id or p.id),
                vm.participant_name(p),
            )
            for p in vm.participants
        ]
        self.avatars.content = avatar_stack(people, size=30) if people else None
        self.avatars_box.visible = bool(people) and not self.back.visible
        banner = vm.banner
        self.banner.visible = banner is not None
        self.banner_text.value = banner or ""
        label = vm.recreate_label
        self.banner_action.content = label or "Create new group"
        self.banner_action.visible = label is not None
        block = vm.composer_block
        self.no_send.visible = block is not None
        self.no_send.content.content.controls[1].value = block or ""
        self.composer.visible = block is None
        blocked = banner is not None
        self.input.disabled = blocked
        self.input.label = "Sending is blocked in this group" if blocked else "Message"
        self.send_button.disabled = blocked
        # A filled button keeps its colour when disabled: grey it so "blocked" reads at a glance.
        self.send_button.bgcolor = (
            ft.Colors.SURFACE_CONTAINER_HIGHEST if blocked else ft.Colors.PRIMARY
        )
        glyph: ft.Icon = self.send_button.icon  # type: ignore[assignment]
        glyph.color = ft.Colors.ON_SURFACE_VARIANT if blocked else ft.Colors.ON_PRIMARY
        self.attach_button.disabled = blocked
        self.paste_button.disabled = blocked
        self.participants_button.visible = bool(vm.participants)

    # --- rows ------------------------------------------------------------------------------

    def _control_for(self, row: Row) -> ft.Control:
        if isinstance(row, DaySeparator):
            return date_separator(row.label)
        bubble = MessageBubble(
            row,
            cache=self.cache,
            on_tap=self._on_bubble_tap,
            on_retry=self._on_retry,
            on_image=self._on_image,
            on_download=lambda url: self.page.run_task(self.download, url),
            hooks=self.hooks,
        )
        self.bubbles[row.key] = bubble
        return bubble

    def _release(self, row: Row) -> None:
        """A row left the window: its bubble is no longer kept."""
        if isinstance(row, MessageItem):
            self.bubbles.pop(row.key, None)

    def render_all(self) -> bool:
        """Show the view-model's window; False when it is what is shown already.

        Opening a thread shows the cached page, then the network refresh usually brings
        the same rows: redrawing them re-sent ~40 KB for nothing. Same rows in the same
        order with newer states update those bubbles alone."""
        rows, older = self.vm.rows, self.vm.has_older and bool(self.vm.messages)
        shown = self.message_list.rows()
        if [r.key for r in rows] == [r.key for r in shown] and all(
            a == b or isinstance(a, MessageItem) for a, b in zip(rows, shown, strict=True)
        ):
            for row, was in zip(rows, shown, strict=True):
                if row != was:
                    self._on_vm("update", row)
            self.message_list.set_older(older)
            return False
        self.bubbles = {}
        self.message_list.show(rows, older=older)
        return True

    def _on_vm(self, what: str, payload: Any) -> None:
        if what == "append":
            self.message_list.append(payload)
        elif what == "update":
            bubble = self.bubbles.get(payload.key)
            if bubble is not None:
                bubble.show(payload)
                if bubble.reshaped:  # said another way now (bubble.py): a new bubble
                    self.message_list.replace(payload, self._control_for(payload))
                    return
                self.message_list.updated(payload)
                refresh(bubble)
        elif what == "remove":
            self.bubbles.pop(payload, None)
            self.message_list.remove(payload)
        elif what == "drop_top_separator":
            self.message_list.drop_top_separator()
        elif what == "prepend":
            self.message_list.prepend(payload, older=self.vm.has_older)
        elif what == "trim":
            self.message_list.trim(*payload)
        elif what == "newer":
            self.message_list.set_newer(payload)
        elif what == "reset":
            if self.render_all():
                refresh(self.list)
        elif what == "header":
            state = self._header_state()
            if state != self._shown_header:  # a new message also bumps the conversation
                self.show_header()
                refresh(self.header, self.banner, self.composer, self.no_send)
        elif what == "progress":
            self._show_progress(payload)
        elif what == "error":
            say(self.page, payload)

    async def load_older(self) -> None:
        rows = await self.vm.load_older()
        if not rows and not self.vm.has_older:
            self.message_list.set_older(False)

    def _on_older_click(self, _: ft.Event) -> None:
        self.page.run_task(self.load_older)

    async def load_newer(self) -> None:
        await self.vm.load_newer()

    def _on_newer_click(self, _: ft.Event) -> None:
        self.vm.jump_to_newest()

    def _on_scroll(self, e: ft.OnScrollEvent) -> None:
        # Reversed list: the top (older messages) is the max extent, the bottom 0.
        near_top = bool(e.max_scroll_extent) and e.pixels >= e.max_scroll_extent - 300
        if near_top and self.vm.has_older and not self.vm.loading_older:
            self.page.run_task(self.load_older)
        near_bottom = e.pixels <= 300
        self.vm.set_following(near_bottom)
        if near_bottom and self.vm.has_newer:
            self.page.run_task(self.load_newer)

    # --- actions ---------------------------------------------------------------------------

    async def send(self) -> None:
        text = self.input.value or ""
        if not text.strip() and not self.vm.tray.files:
            return
        self.input.value = ""
        refresh(self.input)
        if self.vm.has_newer or not self.vm.following:
            self.vm.jump_to_newest()  # what the user sends shows where they see it
        ok = await self.vm.send_composed(text)  # the tray empties, or keeps its files
        if not ok:
            self.input.value = text  # keep what they typed so nothing is lost
            refresh(self.input)
        await self.input.focus()

    async def _on_submit(self, _: ft.Event) -> None:
        await self.send()

    async def _on_send_click(self, _: ft.Event) -> None:
        await self.send()

    def _on_type(self, _: ft.Event) -> None:
        self.vm.set_draft(self.input.value or "")

    async def _on_attach(self, _: ft.Event) -> None:
        # Checking runs in a worker thread (check_attachments_async): the row shows
        # "Checking…" at once and the UI stays responsive while pictures compress.
        files = await self.pick_files()
        if files:
            # As in Messages: the caption is typed next, so the cursor goes back to it
            # (the browser's file dialog took the focus away).
            await self.input.focus()
        await self.vm.tray.add(files)

    async def _on_paste(self, _: ft.Event) -> None:
        await self.paste()

    @property
    def can_paste(self) -> bool:
        """A desktop client, and the composer takes files now (the paste button is offered)."""
        return bool(self.paste_handle.visible) and not self.paste_button.disabled

    async def paste(self, *, quiet: bool = False) -> None:
        """Attach the clipboard's picture. ``quiet``: Ctrl/Cmd+V, which may be pasting text."""
        from services.attachments import AttachmentSource

        if self.clipboard is None:
            self.clipboard = ft.Clipboard()
        try:
            data = await self.clipboard.get_image()
        except Exception:
            data = None
        if not data:
            if not quiet:
                say(self.page, "There is no picture on the clipboard to paste.")
            return
        await self.vm.tray.add([AttachmentSource(name="pasted-picture.png", data=data)])

    def _on_tray(self, what: str, files: Any) -> None:
        tray = self.vm.tray
        self.picked.controls = [
            PickedChip(f, self._then_compose(tray.remove), self._then_compose(tray.send_as_file))
            for f in tray.files
        ]
        problem = tray.problem
        self.picked_problem.value = problem or ""
        self.picked_problem.visible = problem is not None
        self.picked_box.visible = bool(tray.files) or problem is not None
        names = ", ".join(f.label for f in tray.files)
        self.picked_box.label = f"Files to send ({tray.total_text}): {names}" if names else ""
        refresh(self.picked_box)

    # --- uploads in bubbles -----------------------------------------------------------------

    @property
    def hooks(self) -> BubbleHooks:
        return BubbleHooks(
            upload_state=self.vm.upload_state,
            can_cancel=self.vm.can_cancel,
            on_cancel=self.vm.cancel_upload,
            on_compress=self._on_compress,
            on_delete=self._on_delete,
        )

    def _then_compose(self, action: Callable[[str], Any]) -> Callable[[str], None]:
        """A button that goes away when used (Remove, Send original) leaves the keyboard
        focus in the composer, never on nothing."""

        def run(key: str) -> None:
            action(key)
            self.page.run_task(self.input.focus)

        return run

    def _on_delete(self, item: MessageItem) -> None:
        async def run() -> None:
            await self.vm.discard(item)
            await self.input.focus()  # the Delete button went with the message

        self.page.run_task(run)

    def _show_progress(self, key: str) -> None:
        bubble = self.bubbles.get(key)
        if bubble is not None:
            bubble.show_progress()
            refresh(bubble)

    def _on_compress(self, item: MessageItem) -> None:
        async def run() -> None:
            load = self.cache.get if self.cache is not None else None
            if load is None:
                return
            if await self.vm.compress_and_resend(item, load):
                say(self.page, "Sent again with smaller pictures.", error=False)

        self.page.run_task(run)

    def _on_retry(self, item: MessageItem) -> None:
        async def run() -> None:
            await self.vm.retry(item)
            await self.input.focus()  # Retry hides while the message goes again

        self.page.run_task(run)

    def _on_bubble_tap(self, item: MessageItem) -> None:
        if self.modal_open:  # one tap may come twice: a reader's and the pointer's
            return
        logging.getLogger("app").info("delivery detail for %s", item.key)
        lines = self.vm.delivery(item)
        tiles = [
            ft.ListTile(
                title=ft.Text(line.name),
                subtitle=ft.Text(line.phone + (f" — {line.error}" if line.error else "")),
                trailing=ft.Text(
                    line.status,
                    weight=ft.FontWeight.W_600,
                    color=ft.Colors.ERROR
                    if line.error or line.status in ("Failed", "Not delivered", "Opted out")
                    else None,
                ),
            )
            for line in lines
        ]
        self._show_modal(
            ft.BottomSheet(
                handle(
                    ft.Container(
                        ft.Column(
                            [
                                heading(ft.Text("Delivery", size=18, weight=ft.FontWeight.W_600)),
                                ft.Text(
                                    item.body or "Attachment",
                                    max_lines=2,
                                    overflow=ft.TextOverflow.ELLIPSIS,
                                    color=ft.Colors.ON_SURFACE_VARIANT,
                                ),
                                *tiles,
                            ],
                            tight=True,
                            scroll=ft.ScrollMode.AUTO,
                        ),
                        padding=20,
                    ),
                    "delivery-detail",
                ),
                show_drag_handle=True,
            )
        )

    def _on_image(self, data: bytes, url: str = "") -> None:
        """A picture full size, as large as the window allows, with Download."""
        name = fmt.file_name_from_url(url) if url else "Picture"
        width = max(int((self.page.width or 800) * 0.9), 200)
        height = max(int((self.page.height or 600) * 0.75), 200)
        natural = _picture_size(data)
        if natural is not None:  # never blown up past its own size (a small logo stays sharp)
            width, height = min(width, natural[0]), min(height, natural[1])
        actions: list[ft.Control] = []
        if url:
            actions.append(
                ft.TextButton(
                    "Download",
                    icon=ft.Icons.DOWNLOAD,
                    on_click=lambda _: self.page.run_task(self.download, url),
                )
            )
        actions.append(ft.TextButton("Close", on_click=lambda _: self._close_modal()))
        self._show_modal(
            ft.AlertDialog(
                title=ft.Text(name, size=16, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
                semantics_label=f"Picture {name}",
                content=handle(
                    ft.Container(
                        ft.Image(src=data, fit=ft.BoxFit.CONTAIN, semantics_label=name),
                        width=width,
                        height=height,
                    ),
                    "full-picture",
                ),
                content_padding=ft.Padding.all(8),
                actions=actions,
            )
        )

    def _show_modal(self, dialog: ft.DialogControl) -> None:
        self.modal_open = True
        dialog.on_dismiss = self._on_modal_dismissed
        self.page.show_dialog(dialog)

    def _on_modal_dismissed(self, _: ft.Event) -> None:
        self.modal_open = False

    def _close_modal(self) -> None:
        self.modal_open = False
        self.page.pop_dialog()


def _desktop(page: ft.Page) -> bool:
    """A desktop client (not a browser tab): it can read a picture off the clipboard."""
    try:
        return not page.web and page.platform is not None and page.platform.is_desktop()
    except Exception:
        return False


def _picture_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header alone (cheap: no pixels are decoded)."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return max(image.size[0], 120), max(image.size[1], 120)
    except Exception:
        return None
