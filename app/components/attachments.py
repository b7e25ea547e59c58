"""Attachments in a bubble and in the composer: pictures inline, other files as chips.

Attachment URLs may live on the embedded backend, which a browser cannot
reach, so bytes always come through the service client (``load``), once per URL.
A picture goes to the screen as a small thumbnail made in a worker thread (a
5 MB photo would otherwise cross the socket at full size for a 220 px box);
the full picture is sent only when it is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import flet as ft

from app.components.a11y import Spoken, icon_button, quiet, quiet_tooltip, tappable
from app.state import fmt
from app.state.attachments import PickedFile
from services.attachments import IconCategory, human_size, icon_category

Loader = Callable[[str], Awaitable[bytes]]


class SizeMemory(Protocol):
    """Where sizes outlive the app (the Store): a chip knows its size after a restart."""

    def file_size(self, url: str) -> int | None: ...

    def put_file_size(self, url: str, size: int) -> None: ...


class BytesCache:
    """The last few attachments' bytes, so scrolling back does not download again."""

    def __init__(self, load: Loader, keep: int = 64, sizes: SizeMemory | None = None) -> None:
        self._load, self._keep, self._memory = load, keep, sizes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        # Sizes outlive the bytes (a few ints): a chip scrolled back into view still knows.
        self._sizes: dict[str, int] = {}
        self._watchers: dict[str, list[Callable[[int], None]]] = {}

    def size_of(self, url: str) -> int | None:
        """The file's size if this device ever uploaded or loaded it (nothing is fetched)."""
        if url not in self._sizes and self._memory is not None:
            known = self._memory.file_size(url)
            if known is not None:
                self._sizes[url] = known
        return self._sizes.get(url)

    def watch(self, url: str, on_size: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_size`` once the bytes of ``url`` are loaded (e.g. the user downloads it)."""
        self._watchers.setdefault(url, []).append(on_size)

        def unwatch() -> None:
            watchers = self._watchers.get(url, [])
            if on_size in watchers:
                watchers.remove(on_size)
            if not watchers:
                self._watchers.pop(url, None)

        return unwatch

    async def get(self, url: str) -> bytes:
        if url in self._items:
            self._items.move_to_end(url)
            return self._items[url]
        if url not in self._pending:
            self._pending[url] = asyncio.ensure_future(self._load(url))
        try:
            data = await self._pending[url]
        finally:
            self._pending.pop(url, None)
        self._items[url] = data
        if self._memory is not None and self.size_of(url) != len(data):
            self._memory.put_file_size(url, len(data))
        self._sizes[url] = len(data)
        while len(self._items) > self._keep:
            self._items.popitem(last=False)
        for on_size in self._watchers.pop(url, []):
            with contextlib.suppress(Exception):  # a chip's redraw must not fail a download
                on_size(len(data))
        return data


# Thumbnails fit this box, keeping their shape; the shorter side is at least MIN_EDGE.
THUMB_MAX = (240, 240)
MIN_EDGE = 72
ICONS = {
    IconCategory.IMAGE: ft.Icons.IMAGE,
    IconCategory.VIDEO: ft.Icons.VIDEO_FILE,
    IconCategory.AUDIO: ft.Icons.AUDIO_FILE,
    IconCategory.PDF: ft.Icons.PICTURE_AS_PDF,
    IconCategory.DOC: ft.Icons.DESCRIPTION,
    IconCategory.SHEET: ft.Icons.TABLE_CHART,
    IconCategory.SLIDES: ft.Icons.SLIDESHOW,
    IconCategory.TEXT: ft.Icons.ARTICLE,
    IconCategory.CONTACT: ft.Icons.CONTACT_PAGE,
    IconCategory.CALENDAR: ft.Icons.EVENT,
    IconCategory.OTHER: ft.Icons.INSERT_DRIVE_FILE_OUTLINED,
}


def icon_for(category: IconCategory) -> ft.IconData:
    return ICONS.get(category, ft.Icons.INSERT_DRIVE_FILE_OUTLINED)


def fit_box(width: int, height: int, box: tuple[int, int] = THUMB_MAX) -> tuple[int, int]:
    """The on-screen size of a picture: inside ``box``, same shape, never a sliver."""
    if width <= 0 or height <= 0:
        return box
    scale = min(box[0] / width, box[1] / height, 1.0)
    w, h = max(int(width * scale), MIN_EDGE), max(int(height * scale), MIN_EDGE)
    return min(w, box[0]), min(h, box[1])


def make_thumbnail(data: bytes, box: tuple[int, int] = THUMB_MAX) -> tuple[bytes, int, int]:
    """A small copy for the screen (2x the box for sharp edges), and the picture's size.

    Blocking (Pillow): call through ``asyncio.to_thread``. Returns the bytes
    unchanged when Pillow can't read them (the image widget then says so).
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = 50_000_000  # a bomb is refused, not decoded
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if getattr(image, "n_frames", 1) > 1 or len(data) < 120_000:
                return data, width, height  # animations keep moving; small ones are fine
            image = ImageOps.exif_transpose(image)
            width, height = image.size
            image.thumbnail((box[0] * 2, box[1] * 2))
            out = io.BytesIO()
            if image.mode in ("RGBA", "LA", "P"):
                image.save(out, format="PNG", optimize=True)
            else:
                image.convert("RGB").save(out, format="JPEG", quality=82)
            return out.getvalue(), width, height
    except Exception:
        return data, 0, 0


class ImageAttachment(ft.Semantics):
    """A picture in a bubble: a bounded thumbnail; tap opens it full size.

    The handle is outside the tappable box, so the picture is one node of its own
    (a tap on it is not the bubble's tap, which opens delivery details).
    """

    def __init__(self, url: str, cache: BytesCache, on_open: Callable[[bytes, str], None]) -> None:
        self.src_url, self.cache, self.on_open = url, cache, on_open
        self.image_bytes: bytes | None = None
        self.name = fmt.file_name_from_url(url)
        self.box = ft.Container(
            content=ft.ProgressRing(width=20, height=20, stroke_width=2),
            width=200,
            height=150,
            alignment=ft.Alignment.CENTER,
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            clip_behavior=ft.ClipBehavior.ANTI_ALIAS,
        )
        # One button node: its name, then what a tap does as the hint. The ink makes it a
        # focus stop (Tab, then Enter or Space opens it).
        self.opener = ft.Container(
            Spoken(
                button=True,
                label=f"Picture {self.name}",
                hint="Opens it full size",
                exclude_semantics=True,
                content=self.box,
            ),
            ink=True,
            border_radius=12,
            on_click=self._open,
            tooltip=quiet_tooltip(f"{self.name}: tap to see it full size"),
        )
        super().__init__(identifier="picture", content=self.opener)

    def did_mount(self) -> None:
        super().did_mount()
        self.page.run_task(self._fetch)

    async def _fetch(self) -> None:
        box = self.box
        try:
            self.image_bytes = await self.cache.get(self.src_url)
            thumb, width, height = await asyncio.to_thread(make_thumbnail, self.image_bytes)
            box.width, box.height = fit_box(width, height)
            box.content = ft.Image(
                src=thumb, fit=ft.BoxFit.COVER, width=box.width, height=box.height
            )
        except Exception:
            box.content = ft.Column(
                [ft.Icon(ft.Icons.BROKEN_IMAGE), ft.Text("Picture not available", size=12)],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.CENTER,
            )
        # Scrolled away, or the thread was closed while the image loaded: nothing to draw.
        with contextlib.suppress(RuntimeError):
            box.update()

    def _open(self, _: ft.Event) -> None:
        if self.image_bytes:
            self.on_open(self.image_bytes, self.src_url)


class FileChip(ft.Semantics):
    """A file in a bubble: icon by type, name and size; the button downloads it.

    A message carries only the file's URL, and downloading a whole file to
    measure it costs the user's data for a number. So the size shows when it is
    known here: this device uploaded it (``with_size``, and the store remembers
    it), or its bytes were loaded (the user downloaded it, in this run or an
    earlier one); until then, just "File".
    (The backends' attachment URLs answer GET only: no cheap HEAD to ask.)
    """

    def __init__(
        self,
        url: str,
        on_download: Callable[[str], None],
        cache: BytesCache | None = None,
        *,
        outbound: bool = False,
    ) -> None:
        self.src_url, self.cache = url, cache
        self.size: int | None = None
        self.name = fmt.file_name_from_url(url)
        self.size_text = ft.Text("File", size=11, color=ft.Colors.ON_SURFACE_VARIANT)
        super().__init__(
            identifier="file-chip",
            label=f"File {self.name}",
            # Its own node, not merged into the bubble's (which opens delivery details);
            # the Download button inside is the one control that acts. The label says the
            # name and size, so the texts under it are not read again.
            container=True,
            content=ft.Container(
                content=ft.Row(
                    [
                        ft.Icon(
                            icon_for(icon_category(None, self.name)),
                            size=26,
                            color=ft.Colors.PRIMARY,
                        ),
                        ft.Container(
                            quiet(
                                ft.Column(
                                    [
                                        ft.Text(
                                            self.name,
                                            weight=ft.FontWeight.W_500,
                                            size=13,
                                            max_lines=1,
                                            overflow=ft.TextOverflow.ELLIPSIS,
                                            color=ft.Colors.ON_SURFACE,
                                        ),
                                        self.size_text,
                                    ],
                                    spacing=0,
                                    tight=True,
                                )
                            ),
                            expand=True,
                        ),
                        ft.Semantics(
                            identifier="download-file",
                            content=icon_button(
                                ft.Icons.DOWNLOAD,
                                f"Download {self.name}",
                                lambda _: on_download(url),
                            ),
                        ),
                    ],
                    spacing=8,
                    tight=True,
                ),
                padding=ft.Padding.only(left=10, right=2, top=4, bottom=4),
                border_radius=12,
                bgcolor=ft.Colors.SURFACE_CONTAINER_LOWEST
                if outbound
                else ft.Colors.SURFACE_CONTAINER_LOW,
                width=250,
            ),
        )

        self._unwatch: Callable[[], None] | None = None
        known = cache.size_of(url) if cache is not None else None
        if known is not None:
            self._set_size(known)

    def with_size(self, size: int | None) -> FileChip:
        """The size this device already knows (it uploaded the file); None leaves it as is."""
        if size is not None:
            self._set_size(size)
        return self

    def _set_size(self, size: int) -> None:
        self.size = size
        self.size_text.value = human_size(size)
        self.label = f"File {self.name}, {human_size(size)}"

    def did_mount(self) -> None:
        super().did_mount()
        if self.cache is not None and self.size is None:
            self._unwatch = self.cache.watch(self.src_url, self._on_loaded)

    def will_unmount(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        super().will_unmount()

    def _on_loaded(self, size: int) -> None:
        self._unwatch = None
        self._set_size(size)
        with contextlib.suppress(RuntimeError):  # scrolled away meanwhile
            self.update()


def file_chip(
    url: str, on_download: Callable[[str], None], cache: BytesCache | None = None
) -> FileChip:
    return FileChip(url, on_download, cache)


def upload_rows(
    files: list[tuple[str, float | None]], on_cancel: Callable[[], None] | None
) -> list[ft.Control]:
    """A message's files while the outbox sends them: name and a bar each, and Cancel."""
    rows: list[ft.Control] = []
    for name, part in files:
        done = part is not None and part >= 1.0
        rows.append(
            ft.Semantics(
                identifier="upload-row",
                label=f"{name}: " + ("sent" if done else "uploading" if part else "waiting"),
                content=ft.Column(
                    [
                        quiet(
                            ft.Row(
                                [
                                    ft.Icon(
                                        ft.Icons.CHECK_CIRCLE if done else ft.Icons.UPLOAD_FILE,
                                        size=16,
                                        color=ft.Colors.ON_PRIMARY,
                                    ),
                                    ft.Text(
                                        name,
                                        size=13,
                                        color=ft.Colors.ON_PRIMARY,
                                        max_lines=1,
                                        overflow=ft.TextOverflow.ELLIPSIS,
                                        expand=True,
                                    ),
                                ],
                                spacing=6,
                            )
                        ),
                        ft.ProgressBar(
                            value=part,
                            bar_height=4,
                            border_radius=2,
                            color=ft.Colors.ON_PRIMARY,
                            bgcolor=ft.Colors.with_opacity(0.3, ft.Colors.ON_PRIMARY),
                            width=200,
                        ),
                    ],
                    spacing=3,
                    tight=True,
                ),
            )
        )
    if on_cancel is not None:
        rows.append(
            ft.Semantics(
                identifier="cancel-upload",
                content=ft.TextButton(
                    "Cancel",
                    icon=ft.Icons.CLOSE,
                    on_click=lambda _: on_cancel(),
                    style=ft.ButtonStyle(color=ft.Colors.ON_PRIMARY),
                    tooltip=quiet_tooltip("Stop sending these files"),
                ),
            )
        )
    return rows


class PickedChip(ft.Semantics):
    """A file in the composer before Send: thumbnail or icon, name, size, note, remove."""

    def __init__(
        self,
        f: PickedFile,
        on_remove: Callable[[str], None],
        on_send_original: Callable[[str], None] | None = None,
    ) -> None:
        if f.thumbnail is not None:
            lead: ft.Control = ft.Image(
                src=f.thumbnail, width=44, height=44, fit=ft.BoxFit.COVER, border_radius=8
            )
        elif f.checking:
            lead = ft.ProgressRing(width=20, height=20, stroke_width=2)
        else:
            lead = ft.Icon(icon_for(f.icon), size=28, color=ft.Colors.PRIMARY)
        lines: list[ft.Control] = [
            ft.Text(
                f.name,
                size=13,
                weight=ft.FontWeight.W_500,
                max_lines=1,
                overflow=ft.TextOverflow.ELLIPSIS,
            ),
            ft.Text(f.size_text, size=11, color=ft.Colors.ON_SURFACE_VARIANT),
        ]
        if f.note:
            lines.append(
                ft.Text(
                    f.note,
                    size=11,
                    color=ft.Colors.ON_SURFACE_VARIANT,
                    max_lines=2,
                    overflow=ft.TextOverflow.ELLIPSIS,
                )
            )
        # The label (name, size, note) is what a reader says: the picture and the lines
        # that show the same words are not read again; the buttons are.
        column: list[ft.Control] = [quiet(ft.Column(lines, spacing=0, tight=True))]
        if f.can_send_original and on_send_original is not None:
            column.append(_send_original(f, on_send_original))
        super().__init__(
            identifier=f"picked-{f.key}",
            label=f.label,
            container=True,
            content=ft.Container(
                ft.Row(
                    [
                        quiet(
                            ft.Container(lead, width=44, height=44, alignment=ft.Alignment.CENTER)
                        ),
                        ft.Column(column, spacing=0, tight=True, expand=True),
                        ft.Semantics(
                            identifier="remove-file",
                            content=icon_button(
                                ft.Icons.CLOSE,
                                f"Remove {f.name}",
                                lambda _: on_remove(f.key),
                                icon_size=18,
                            ),
                        ),
                    ],
                    spacing=8,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                width=250,
                padding=ft.Padding.only(left=6, right=0, top=6, bottom=6),
                border_radius=12,
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
            ),
        )


def _send_original(f: PickedFile, on_send: Callable[[str], None]) -> ft.Control:
    """A compressed picture's way back to full quality (as a file; the tray says if too big)."""
    # Said as "Send original", then what it does as the hint.
    handle, _ = tappable(
        ft.Text("Send original", color=ft.Colors.PRIMARY, weight=ft.FontWeight.W_500),
        label="Send original",
        hint=f.original_hint,
        on_click=lambda _: on_send(f.key),
        identifier="send-original",
        padding=ft.Padding.symmetric(horizontal=4, vertical=6),
        border_radius=8,
        tooltip=quiet_tooltip(f.original_hint),
    )
    return handle
