"""Attachments in a bubble: images inline (tap to enlarge), other files as a chip.

Attachment URLs may live on the embedded backend, which a browser cannot
reach, so bytes always come through the service client (``load``), once per URL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import flet as ft

from app.state import fmt

Loader = Callable[[str], Awaitable[bytes]]


class BytesCache:
    """The last few attachments' bytes, so scrolling back does not download again."""

    def __init__(self, load: Loader, keep: int = 64) -> None:
        self._load, self._keep = load, keep
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._pending: dict[str, asyncio.Future[bytes]] = {}

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
        while len(self._items) > self._keep:
            self._items.popitem(last=False)
        return data


class ImageAttachment(ft.Container):
    def __init__(self, url: str, cache: BytesCache, on_open: Callable[[bytes], None]) -> None:
        # Container already has `url` and `data` fields: keep ours apart.
        self.src_url, self.cache, self.on_open = url, cache, on_open
        self.image_bytes: bytes | None = None
        super().__init__(
            content=ft.ProgressRing(width=20, height=20, stroke_width=2),
            width=220,
            height=160,
            alignment=ft.Alignment.CENTER,
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            clip_behavior=ft.ClipBehavior.ANTI_ALIAS,
            on_click=self._open,
            tooltip="Image attachment: tap to enlarge",
        )

    def did_mount(self) -> None:
        super().did_mount()
        self.page.run_task(self._fetch)

    async def _fetch(self) -> None:
        try:
            self.image_bytes = await self.cache.get(self.src_url)
            self.content = ft.Image(
                src=self.image_bytes, fit=ft.BoxFit.COVER, width=220, height=160
            )
        except Exception:
            self.content = ft.Column(
                [ft.Icon(ft.Icons.BROKEN_IMAGE), ft.Text("Image not available", size=12)],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.CENTER,
            )
        # Scrolled away, or the thread was closed while the image loaded: nothing to draw.
        with contextlib.suppress(RuntimeError):
            self.update()

    def _open(self, _: ft.Event) -> None:
        if self.image_bytes:
            self.on_open(self.image_bytes)


def file_chip(url: str, on_download: Callable[[str], None], size: int | None = None) -> ft.Control:
    name = fmt.file_name_from_url(url)
    detail = fmt.file_size(size) if size else "File"
    return ft.Semantics(
        identifier="file-chip",
        label=f"File {name}, {detail}. Download",
        button=True,
        content=ft.Container(
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.INSERT_DRIVE_FILE_OUTLINED, size=22),
                    ft.Column(
                        [
                            ft.Text(
                                name,
                                weight=ft.FontWeight.W_500,
                                size=13,
                                max_lines=1,
                                overflow=ft.TextOverflow.ELLIPSIS,
                            ),
                            ft.Text(detail, size=11, color=ft.Colors.ON_SURFACE_VARIANT),
                        ],
                        spacing=0,
                        tight=True,
                        expand=True,
                    ),
                    ft.IconButton(
                        ft.Icons.DOWNLOAD,
                        tooltip=f"Download {name}",
                        on_click=lambda _: on_download(url),
                    ),
                ],
                spacing=8,
                tight=True,
            ),
            padding=ft.Padding.only(left=10, right=2, top=4, bottom=4),
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
            width=240,
        ),
    )
