"""A message bubble: outbound right in the primary colour, inbound left with the sender.

``MessageBubble.show(item)`` changes one bubble in place (state icon, error),
so a delivery update costs a few bytes, not a list rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import flet as ft

from app.components.a11y import quiet, quiet_tooltip, tappable
from app.components.attachments import BytesCache, FileChip, ImageAttachment, upload_rows
from app.state import fmt
from app.state.thread import MessageItem

_STATE_ICONS = {
    "sending": (ft.Icons.SCHEDULE, None),
    "sent": (ft.Icons.DONE, None),
    "delivered": (ft.Icons.DONE_ALL, ft.Colors.PRIMARY),
    "failed": (ft.Icons.ERROR, ft.Colors.ERROR),
}
# Said after a bubble's words, as a hint (never as its first words).
DETAILS_HINT = "Double tap for delivery details"


@dataclass
class BubbleHooks:
    """What a bubble asks the thread about its files (uploads, carrier refusals)."""

    upload_state: Callable[[MessageItem], list[tuple[str, float | None]]]
    can_cancel: Callable[[MessageItem], bool]
    on_cancel: Callable[[MessageItem], None]
    on_compress: Callable[[MessageItem], None]
    # Delete a failed message that never left this device (the outbox's Retry / Delete).
    on_delete: Callable[[MessageItem], None] | None = None


class MessageBubble(ft.Semantics):
    def __init__(
        self,
        item: MessageItem,
        *,
        cache: BytesCache | None,
        on_tap: Callable[[MessageItem], None],
        on_retry: Callable[[MessageItem], None],
        on_image: Callable[[bytes, str], None],
        on_download: Callable[[str], None],
        hooks: BubbleHooks | None = None,
    ) -> None:
        self.item = item
        self.hooks = hooks
        self._on_tap, self._on_retry = on_tap, on_retry
        self.state_icon = ft.Icon(ft.Icons.SCHEDULE, size=14)
        self.meta_text = ft.Text("", size=11, color=ft.Colors.ON_SURFACE_VARIANT)
        self.retry = ft.TextButton(
            "Retry",
            icon=ft.Icons.REFRESH,
            visible=False,
            on_click=lambda _: self._on_retry(self.item),
            tooltip=quiet_tooltip("Send this message again"),
        )
        self.delete = ft.TextButton(
            "Delete",
            icon=ft.Icons.DELETE_OUTLINE,
            visible=False,
            on_click=lambda _: self._delete(),
            tooltip=quiet_tooltip("Delete this message: it was never sent"),
        )
        out = item.outbound
        self._cache, self._on_image, self._on_download = cache, on_image, on_download
        self.too_large = ft.Text(
            "", size=12, color=ft.Colors.ERROR, visible=False, text_align=ft.TextAlign.RIGHT
        )
        self.compress = ft.Semantics(
            identifier="compress-resend",
            visible=False,
            content=ft.FilledTonalButton(
                "Compress and resend",
                icon=ft.Icons.COMPRESS,
                on_click=lambda _: self.hooks.on_compress(self.item) if self.hooks else None,
                tooltip=quiet_tooltip(
                    "Make the pictures smaller and send them again as a new message"
                ),
            ),
        )
        # Files sit outside the bubble's tappable node: a picture, a Download or a
        # Cancel is its own tap, never the bubble's (which opens delivery details).
        self.files = ft.Column(self._file_controls(item), spacing=6, tight=True)
        self.body = ft.Column(self._text_controls(item), spacing=6, tight=True)
        # The one node a reader says for the message: its words, who, when and state
        # (item.semantics_label), then the hint; the visible words are not read again.
        # It is the words when there are any, else the time line under the files.
        words = bool(item.body)
        tap, self.spoken = tappable(
            self.body if words else self.meta_text,
            label=item.semantics_label,
            hint=DETAILS_HINT,
            on_click=lambda _: self._on_tap(self.item),
            identifier=f"bubble-{item.key}",
            border_radius=8,
        )
        self.box = ft.Container(
            content=ft.Column([self.files, tap] if words else [self.files], spacing=6, tight=True),
            padding=ft.Padding.symmetric(horizontal=12, vertical=8),
            bgcolor=ft.Colors.PRIMARY if out else ft.Colors.SURFACE_CONTAINER_HIGHEST,
            border_radius=ft.BorderRadius.only(
                top_left=18,
                top_right=18,
                bottom_left=18 if out else 4,
                bottom_right=4 if out else 18,
            ),
            expand=3,
            expand_loose=True,
        )
        when: ft.Control = quiet(self.meta_text) if words else tap
        spacer = ft.Container(expand=1)
        line = ft.Row(
            [spacer, self.box] if out else [self.box, spacer],
            alignment=ft.MainAxisAlignment.END if out else ft.MainAxisAlignment.START,
            vertical_alignment=ft.CrossAxisAlignment.END,
        )
        meta = ft.Row(
            [when, self.state_icon, self.retry, self.delete] if out else [when],
            alignment=ft.MainAxisAlignment.END if out else ft.MainAxisAlignment.START,
            spacing=4,
        )
        # Under the bubble, on its side (a tight column alone would sit on the left).
        refusal = ft.Row(
            [
                ft.Column(
                    [self.too_large, self.compress],
                    horizontal_alignment=ft.CrossAxisAlignment.END,
                    spacing=4,
                    tight=True,
                )
            ],
            alignment=ft.MainAxisAlignment.END,
        )
        parts: list[ft.Control] = []
        if item.sender:
            parts.append(
                ft.Container(
                    quiet(
                        ft.Text(
                            item.sender,
                            size=12,
                            weight=ft.FontWeight.W_600,
                            color=ft.Colors.ON_SURFACE_VARIANT,
                        )
                    ),
                    padding=ft.Padding.only(left=0 if out else 12, right=12 if out else 0),
                    alignment=ft.Alignment.CENTER_RIGHT if out else ft.Alignment.CENTER_LEFT,
                )
            )
        parts += [line, meta, refusal] if out else [line, meta]
        # A handle around the whole message (no label: the words are said once, above).
        super().__init__(
            identifier=f"message-{item.key}",
            content=ft.Container(
                ft.Column(parts, spacing=2, tight=True),
                padding=ft.Padding.symmetric(horizontal=12, vertical=3),
            ),
        )
        self._apply_state(item)

    def _file_controls(self, item: MessageItem) -> list[ft.Control]:
        body: list[ft.Control] = []
        for i, url in enumerate(item.attachments):
            if fmt.is_image_url(url) and self._cache is not None:
                body.append(ImageAttachment(url, self._cache, self._on_image))
            else:
                size = item.sizes[i] if i < len(item.sizes) else None
                chip = FileChip(url, self._on_download, self._cache, outbound=item.outbound)
                body.append(chip.with_size(size))
        if not item.attachments and item.local_files and self.hooks is not None:
            # Files still in the outbox: a bar each while they go up, and Cancel.
            cancel = self.hooks.can_cancel(item)
            body += upload_rows(
                self.hooks.upload_state(item),
                (lambda: self.hooks.on_cancel(self.item)) if cancel and self.hooks else None,
            )
        elif not item.attachments:
            # Files still in the outbox: named, so the sender sees what is going.
            for path in item.local_files:
                body.append(
                    ft.Row(
                        [
                            ft.Icon(ft.Icons.UPLOAD_FILE, size=18, color=ft.Colors.ON_PRIMARY),
                            ft.Text(
                                fmt.file_name_from_url(path), size=13, color=ft.Colors.ON_PRIMARY
                            ),
                        ],
                        spacing=6,
                        tight=True,
                    )
                )
        return body

    def _text_controls(self, item: MessageItem) -> list[ft.Control]:
        body: list[ft.Control] = []
        if item.body:
            body.append(
                ft.Text(
                    item.body,
                    # Not selectable: selectable text takes the tap that opens delivery details.
                    size=15,
                    color=ft.Colors.ON_PRIMARY if item.outbound else ft.Colors.ON_SURFACE,
                )
            )
        return body

    def _apply_state(self, item: MessageItem) -> None:
        icon, color = _STATE_ICONS.get(item.state, (None, None))
        self.state_icon.visible = icon is not None
        if icon is not None:
            self.state_icon.icon = icon
            self.state_icon.color = color or ft.Colors.ON_SURFACE_VARIANT
        words = item.time if not item.outbound else f"{item.time} · {item.state_label}"
        if item.state == "failed" and item.error:
            words = f"{item.time} · {item.error}"
        self.meta_text.value = words
        self.meta_text.color = (
            ft.Colors.ERROR if item.state == "failed" else ft.Colors.ON_SURFACE_VARIANT
        )
        self.retry.visible = item.state == "failed" and not item.can_compress
        self.delete.visible = (
            item.state == "failed" and item.unsent and bool(self.hooks and self.hooks.on_delete)
        )
        self.too_large.value = item.too_large_note or ""
        self.too_large.visible = item.too_large_note is not None
        self.compress.visible = item.can_compress and self.hooks is not None
        self.spoken.label = item.semantics_label

    def is_isolated(self) -> bool:
        # A chunk's update (a new message appended to it) compares its bubbles by identity
        # and walks none of them; a bubble that changes updates itself (issue 19).
        return True

    def _delete(self) -> None:
        if self.hooks is not None and self.hooks.on_delete is not None:
            self.hooks.on_delete(self.item)

    def show(self, item: MessageItem) -> None:
        """Show a newer version of the same message (status changes); caller updates."""
        contents_changed = (item.attachments, item.local_files, item.body) != (
            self.item.attachments,
            self.item.local_files,
            self.item.body,
        )
        uploading = bool(item.local_files) and not item.attachments
        self.item = item
        # e.g. the outbox copy became the server's, with file URLs; or bars moved.
        if contents_changed or uploading:
            self.files.controls = self._file_controls(item)
            self.body.controls = self._text_controls(item)
        self._apply_state(item)

    def show_progress(self) -> None:
        """Redraw the upload bars (caller updates)."""
        self.files.controls = self._file_controls(self.item)
