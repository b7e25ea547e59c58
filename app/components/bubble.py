"""A message bubble: outbound right in the primary colour, inbound left with the sender.

``MessageBubble.show(item)`` changes one bubble in place (state icon, error),
so a delivery update costs a few bytes, not a list rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import flet as ft

from app.components.a11y import Spoken, quiet_tooltip
from app.components.attachments import BytesCache, FileChip, ImageAttachment, upload_rows
from app.state import fmt
from app.state.thread import MessageItem

_STATE_ICONS = {
    "sending": (ft.Icons.SCHEDULE, None),
    "sent": (ft.Icons.DONE, None),
    "delivered": (ft.Icons.DONE_ALL, ft.Colors.PRIMARY),
    "failed": (ft.Icons.ERROR, ft.Colors.ERROR),
}
# Said after a bubble's words, as a hint (never as its first words): what the tap does,
# not which gesture (VoiceOver's guidance; TalkBack names the gesture itself, and "double
# tap" was said twice there). Nine bytes fewer in every message sent (issue 19).
DETAILS_HINT = "Shows delivery details"
_PADDING = ft.Padding.symmetric(horizontal=12, vertical=8)
# Words alone: one number on the wire (a Padding is four), the same height as the 14 + 8
# it replaced and the words now centred in it.
_WORDS_ONLY = 11


@dataclass
class BubbleHooks:
    """What a bubble asks the thread about its files (uploads, carrier refusals)."""

    upload_state: Callable[[MessageItem], list[tuple[str, float | None]]]
    can_cancel: Callable[[MessageItem], bool]
    on_cancel: Callable[[MessageItem], None]
    on_compress: Callable[[MessageItem], None]
    # Delete a failed message that never left this device (the outbox's Retry / Delete).
    on_delete: Callable[[MessageItem], None] | None = None


class MessageBubble(Spoken):
    """One message: its handle (``message-<key>``) around the sender, the bubble and the time.

    A message of words alone (the most common) is one node a reader says, the handle
    itself: its words, who, when and state, then the hint; the visible copies are not
    read again, and a reader's tap opens the details as a pointer's tap on the bubble
    does. A message with files, or with a Retry, Delete or Compress of its own, keeps
    each of those its own node: the words are then said by a node inside
    (``bubble-<key>``) and the handle only holds them.

    Every message in a thread is one of these, and a new one goes to the browser whole:
    the tree holds only what this message shows (no empty columns, no hidden buttons, no
    wrapper that adds nothing), so an arrival stays within issue 19's 1 KB."""

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
        self._cache, self._on_image, self._on_download = cache, on_image, on_download
        super().__init__(identifier=f"message-{item.key}")
        self._whole: bool | None = None  # said as one node (see the class); None: not laid out
        self.reshaped = False  # show() found the other shape: replace this bubble (_place)
        self._lay_out(item)
        self._apply_state(item)

    def _lay_out(self, item: MessageItem) -> None:
        """Build the message's controls for what it holds (its words, its files)."""
        # New controls each time: one moved from the old tree into the new one in the
        # same update would be removed by the browser with its old parent.
        self._state_controls()
        words = bool(item.body)
        files = self._file_controls(item)
        # Files sit outside the bubble's tappable node: a picture, a Download or a
        # Cancel is its own tap, never the bubble's (which opens delivery details).
        self.files = ft.Column(files, spacing=6, tight=True) if files or not words else None
        self._spoken: Spoken | None = None  # made when first needed (spoken)
        if self.files is not None:
            # It is the words when there are any, else the time line under the files.
            self.spoken.content = self._text(item) if words else self.meta_text
        # The bubble's row; its controls are set by _place (which node the bubble is in).
        self.line = ft.Row()
        self.sender = self._sender(item)
        self.top: list[ft.Control] = [*self.sender, self.line]
        out = item.outbound
        self.meta = ft.Row(spacing=4, tight=True) if out else None
        # One column; an outbound message's lines sit on the right. The space around it is
        # the list's (padding and spacing), not sent with every message.
        self.content = ft.Column(spacing=2)
        if out:
            self.line.alignment = ft.MainAxisAlignment.END
            self.content.horizontal_alignment = ft.CrossAxisAlignment.END

    @property
    def spoken(self) -> Spoken:
        """The node that says the message when it is not the handle itself (bubble-<key>):
        its words, who, when and state (item.semantics_label), then the hint; the visible
        words are not read again. Made when first asked for: a message said whole, the
        most common, has none."""
        if self._spoken is None:
            self._spoken = Spoken(
                identifier=f"bubble-{self.item.key}",
                button=True,
                label=self.item.semantics_label,
                hint=DETAILS_HINT,
                exclude_semantics=True,
            )
        return self._spoken

    def _fill_line(self, whole: bool) -> None:
        """The bubble's row, for a message said as one node or through ``spoken``."""
        box = self._box(self.item, whole)
        box.expand, box.expand_loose = 3, True  # three quarters of the row at most
        # The quarter the bubble leaves free: an empty text is the lightest control that
        # takes a flex share (a Container sends its internals too); a line high, it never
        # sets the row's height, which the bubble's padding alone exceeds.
        spacer = ft.Text(expand=1)
        # Full width (it makes the column as wide as the list, so the lines under it can sit
        # on the right); an outbound bubble is at its end.
        self.line.controls = [spacer, box] if self.item.outbound else [box, spacer]

    def _state_controls(self) -> None:
        """The time line; what a failure adds is made when first shown (the properties
        below), and _place puts in the tree those that show. A message received, the most
        common, has no failure: making its Retry, Delete, note and Compress (seven controls
        it never shows) was a third of making its bubble (issue 19)."""
        # Shown, not read: the message's label says it (_speak).
        self.meta_text = ft.Text("", size=11)
        self._state_icon: ft.Icon | None = None
        self._retry: ft.TextButton | None = None
        self._delete_button: ft.TextButton | None = None
        self._refusal: ft.Column | None = None

    @property
    def state_icon(self) -> ft.Icon:
        if self._state_icon is None:
            self._state_icon = ft.Icon(ft.Icons.SCHEDULE, size=14)
        return self._state_icon

    @property
    def retry(self) -> ft.TextButton:
        if self._retry is None:
            self._retry = ft.TextButton(
                "Retry",
                icon=ft.Icons.REFRESH,
                visible=False,
                on_click=lambda _: self._on_retry(self.item),
                tooltip=quiet_tooltip("Send this message again"),
            )
        return self._retry

    @property
    def delete(self) -> ft.TextButton:
        if self._delete_button is None:
            self._delete_button = ft.TextButton(
                "Delete",
                icon=ft.Icons.DELETE_OUTLINE,
                visible=False,
                on_click=lambda _: self._delete(),
                tooltip=quiet_tooltip("Delete this message: it was never sent"),
            )
        return self._delete_button

    @property
    def refusal(self) -> ft.Column:
        """Under the bubble, on its side: the carrier's refusal and Compress and resend."""
        if self._refusal is None:
            too_large = ft.Text(
                "", size=12, color=ft.Colors.ERROR, visible=False, text_align=ft.TextAlign.RIGHT
            )
            compress = ft.Semantics(
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
            self._refusal = ft.Column(
                [too_large, compress],
                horizontal_alignment=ft.CrossAxisAlignment.END,
                spacing=4,
                tight=True,
            )
        return self._refusal

    @property
    def too_large(self) -> ft.Text:
        text: ft.Text = self.refusal.controls[0]  # type: ignore[assignment]
        return text

    @property
    def compress(self) -> ft.Semantics:
        button: ft.Semantics = self.refusal.controls[1]  # type: ignore[assignment]
        return button

    def _shows(self, made: ft.Control | None) -> bool:
        return made is not None and bool(made.visible)

    def _box(self, item: MessageItem, whole: bool) -> ft.Control:
        """The coloured bubble (inside the spoken node when it holds only words and the
        message is not said as one); sets ``when``, the time line's control. New each
        time: the bubble moves between nodes only as a new control."""
        out = item.outbound
        box = ft.Container(
            bgcolor=ft.Colors.PRIMARY if out else ft.Colors.SURFACE_CONTAINER_HIGHEST,
            border_radius=ft.BorderRadius.only(
                top_left=18,
                top_right=18,
                bottom_left=18 if out else 4,
                bottom_right=4 if out else 18,
            ),
            padding=_PADDING,
        )
        self.when: ft.Control = self.meta_text
        if self.files is None:
            # Only words: the bubble itself is the tap target, inside the node a reader
            # says, which takes a reader's tap itself. Inside it, the ink's tap never
            # reaches the message's handle around it: a handle whose bubble was scrolled
            # past the list's edge, its time line not, was a nameless button.
            box.content, box.padding = self._text(item), _WORDS_ONLY
            self._tappable(box)
            if whole:
                return box
            self.spoken.content = box
            return self.spoken
        if item.body:
            inner = self._tappable(ft.Container(self.spoken, border_radius=8))
            box.content = ft.Column([self.files, inner], spacing=6, tight=True)
        else:
            box.content = self.files
            self.when = self._tappable(ft.Container(self.spoken, border_radius=8))
        return box

    def _tappable(self, container: ft.Container) -> ft.Container:
        # The ink makes the tap target a focus stop (Tab reaches it, Enter or Space
        # activates it) and draws the theme's focus colour over it.
        container.ink = True
        container.on_click = lambda _: self._on_tap(self.item)
        return container

    def _sender(self, item: MessageItem) -> list[ft.Text]:
        if not item.sender:
            return []
        out = item.outbound
        return [
            ft.Text(
                item.sender,
                size=12,
                weight=ft.FontWeight.W_600,
                color=ft.Colors.ON_SURFACE_VARIANT,
                margin=ft.Margin.only(left=0 if out else 12, right=12 if out else 0),
            )
        ]

    def _place(self) -> None:
        """Put in the tree what shows now: hidden buttons cost bytes in every new message."""
        refused_made = self._refusal is not None  # asking before would make it
        too_large = refused_made and bool(self.too_large.visible)
        compress = refused_made and bool(self.compress.visible)
        own_buttons = self._shows(self._retry) or self._shows(self._delete_button) or compress
        whole = self.files is None and not own_buttons and not too_large
        if whole != self._whole or not self.line.controls:
            # Shown before as the other shape: the caller makes a new bubble instead
            # (``reshaped``). Flutter's web engine drops the handle's identifier when a
            # node changes role in place (a button that becomes a plain container).
            self.reshaped = self._whole is not None and whole != self._whole
            self._whole = whole
            self._fill_line(whole)
        self._speak(whole)
        column: ft.Column = self.content  # type: ignore[assignment]
        if self.meta is None:
            column.controls = [*self.top, self.when]
            return
        self.meta.controls = [
            c
            for c in (self.when, self._state_icon, self._retry, self._delete_button)
            if c is not None and c.visible
        ]
        refused = too_large or compress
        column.controls = [*self.top, self.meta, *([self.refusal] if refused else [])]

    def _speak(self, whole: bool) -> None:
        """Say the message from the handle itself or from ``spoken`` inside it."""
        said = self.item.semantics_label
        if not whole:
            self.spoken.label = said
        self.label = said if whole else None
        self.hint = DETAILS_HINT if whole else None
        self.button = True if whole else None
        self.exclude_semantics = whole
        self.on_click = self._tapped if whole else None
        # The visible copies of who and when: excluded with the rest of a whole message,
        # hidden one by one (an empty label) when the nodes inside are read.
        quiet_copy = None if whole else ""
        for text in [*self.sender, self.meta_text]:
            text.semantics_label = quiet_copy

    def _tapped(self, _: ft.Event[ft.Semantics]) -> None:
        self._on_tap(self.item)

    @property
    def reader_node(self) -> ft.Semantics:
        """The node a screen reader says for this message's words."""
        return self if self._whole else self.spoken

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

    def _text(self, item: MessageItem) -> ft.Text:
        # Not selectable: selectable text takes the tap that opens delivery details. Inbound
        # words are in the theme's text colour (on_surface), so they send none.
        words = ft.Text(item.body, size=15)
        if item.outbound:
            words.color = ft.Colors.ON_PRIMARY
        return words

    def _apply_state(self, item: MessageItem) -> None:
        icon, color = _STATE_ICONS.get(item.state, (None, None))
        if icon is not None and item.outbound:  # a state shows beside one's own messages only
            self.state_icon.icon = icon
            self.state_icon.color = color or ft.Colors.ON_SURFACE_VARIANT
        if self._state_icon is not None:
            self._state_icon.visible = icon is not None
        words = item.time if not item.outbound else f"{item.time} · {item.state_label}"
        if item.state == "failed" and item.error:
            words = f"{item.time} · {item.error}"
        self.meta_text.value = words
        self.meta_text.color = (
            ft.Colors.ERROR if item.state == "failed" else ft.Colors.ON_SURFACE_VARIANT
        )
        retry = item.state == "failed" and not item.can_compress
        if retry or self._retry is not None:
            self.retry.visible = retry
        deletable = bool(self.hooks and self.hooks.on_delete)
        delete = item.state == "failed" and item.unsent and deletable
        if delete or self._delete_button is not None:
            self.delete.visible = delete
        compress = item.can_compress and self.hooks is not None
        if item.too_large_note is not None or compress or self._refusal is not None:
            self.too_large.value = item.too_large_note or ""
            self.too_large.visible = item.too_large_note is not None
            self.compress.visible = compress
        self._place()

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
        if contents_changed or (uploading and self.files is None):
            self._lay_out(item)
        elif uploading and self.files is not None:
            self.files.controls = self._file_controls(item)
        self._apply_state(item)

    def show_progress(self) -> None:
        """Redraw the upload bars (caller updates)."""
        self.show(self.item)
