"""Sign-in: server address, location id and Private Integration Token, or the demo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from app.components.a11y import icon_button, quiet_tooltip
from app.state.signin import SignInResult, SignInVM
from app.views.ui import handle, refresh


class SignInView:
    def __init__(
        self,
        vm: SignInVM,
        *,
        on_signed_in: Callable[[SignInResult], Awaitable[None]],
        on_demo: Callable[[], Awaitable[None]],
    ) -> None:
        self.vm = vm
        self.on_signed_in = on_signed_in
        self.on_demo = on_demo
        self.url = ft.TextField(
            label="Server address",
            value=vm.url,
            hint_text="https://services.leadconnectorhq.com",
            keyboard_type=ft.KeyboardType.URL,
            autofocus=not vm.url,
            on_submit=self._on_submit,
        )
        self.location = ft.TextField(
            label="Location id", value=vm.location_id, on_submit=self._on_submit
        )
        # Our own Show/Hide button: the field's built-in one has no name a reader says.
        self.reveal = icon_button(ft.Icons.VISIBILITY_OUTLINED, "Show token", self._on_reveal)
        self.token = ft.TextField(
            label="Private Integration Token",
            password=True,
            suffix_icon=self.reveal,
            autofocus=bool(vm.url),
            on_submit=self._on_submit,
        )
        self.submit = ft.FilledButton("Sign in", icon=ft.Icons.LOGIN, on_click=self._on_submit)
        self.progress = ft.ProgressRing(width=20, height=20, stroke_width=2, visible=False)
        # Always visible (empty when fine): a Semantics handle around a hidden control
        # is an error in Flet.
        self.error = ft.Text("", color=ft.Colors.ERROR)
        parts: list[ft.Control] = [
            ft.Text("Sign in", size=24, weight=ft.FontWeight.W_600),
            ft.Text(
                "Connect to your business's messaging API with its address, your location id "
                "and a Private Integration Token.",
                color=ft.Colors.ON_SURFACE_VARIANT,
            ),
        ]
        if vm.notice:
            parts.append(handle(_banner(vm.notice, ft.Icons.INFO_OUTLINE), "signin-notice"))
        if vm.storage_warning:
            parts.append(
                handle(_banner(vm.storage_warning, ft.Icons.WARNING_AMBER), "no-secure-storage")
            )
        parts += [
            handle(self.url, "signin-url"),
            handle(self.location, "signin-location"),
            handle(self.token, "signin-token"),
            ft.Text(vm.storage_note, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            handle(self.error, "signin-error"),
            ft.Row([handle(self.submit, "signin-submit"), self.progress], spacing=12),
            ft.Divider(),
            handle(
                ft.TextButton(
                    "Open the demo instead", icon=ft.Icons.SCIENCE_OUTLINED, on_click=self._demo
                ),
                "signin-demo",
            ),
        ]
        self.root = handle(
            ft.Container(
                ft.Column(
                    [
                        ft.Container(
                            ft.Column(parts, spacing=14, tight=True),
                            width=440,
                            padding=24,
                        )
                    ],
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                    scroll=ft.ScrollMode.AUTO,
                    expand=True,
                ),
                alignment=ft.Alignment.TOP_CENTER,
                expand=True,
            ),
            "signin",
        )
        self.root.expand = True
        vm.listen(self._on_vm)

    def _on_vm(self, what: str, payload: Any) -> None:
        if what == "errors":
            errors: dict[str, str] = payload or {}
            self.url.error = errors.get("url")
            self.location.error = errors.get("location")
            self.token.error = errors.get("token")
            refresh(self.url, self.location, self.token)
        elif what == "busy":
            self.submit.disabled = bool(payload)
            self.progress.visible = bool(payload)
            refresh(self.submit, self.progress)
        elif what == "error":
            self.error.value = str(payload)
            refresh(self.error)

    async def _on_submit(self, _: ft.Event[Any]) -> None:
        self.error.value = ""
        refresh(self.error)
        result = await self.vm.sign_in(
            self.url.value or "", self.location.value or "", self.token.value or ""
        )
        if result is not None:
            self.token.value = ""  # nothing of it stays in the page once used
            await self.on_signed_in(result)

    def _on_reveal(self, _: ft.Event[Any]) -> None:
        shown = bool(self.token.password)  # it was hidden: show it now
        self.token.password = not shown
        self.reveal.icon = ft.Icon(
            ft.Icons.VISIBILITY_OFF_OUTLINED if shown else ft.Icons.VISIBILITY_OUTLINED,
            semantics_label="Hide token" if shown else "Show token",
        )
        self.reveal.tooltip = quiet_tooltip("Hide token" if shown else "Show token")
        refresh(self.token)

    async def _demo(self, _: ft.Event[Any]) -> None:
        await self.on_demo()


def _banner(text: str, icon: ft.IconData) -> ft.Control:
    return ft.Container(
        ft.Row(
            [ft.Icon(icon, color=ft.Colors.ON_SECONDARY_CONTAINER), ft.Text(text, expand=True)],
            spacing=12,
        ),
        bgcolor=ft.Colors.SECONDARY_CONTAINER,
        border_radius=12,
        padding=12,
    )
