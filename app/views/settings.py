"""Settings: which backend, who is signed in, switch demo admin/staff, theme, sign out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.config import DEMO_TOKENS, AppConfig
from app.state.settings import signed_in_words
from app.views.ui import back_button, handle, header
from services.models import User


class SettingsView:
    def __init__(
        self,
        *,
        cfg: AppConfig,
        me: User,
        theme_mode: ft.ThemeMode,
        on_switch_user: Callable[[str], Any],
        on_theme: Callable[[ft.ThemeMode], None],
        on_back: Callable[[], None] | None,
        on_sign_out: Callable[[], Any] | None = None,
        storage: str | None = None,
        warning: str | None = None,
        push_staff: bool | None = None,
        on_push_staff: Callable[[bool], Any] | None = None,
    ) -> None:
        tiles: list[ft.Control] = [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.DNS_OUTLINED),
                title=ft.Text("Backend"),
                subtitle=ft.Text(cfg.backend_label()),
            ),
            handle(
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.ACCOUNT_CIRCLE_OUTLINED),
                    title=ft.Text("Signed in as"),
                    subtitle=ft.Text(signed_in_words(me)),
                ),
                "signed-in-as",
            ),
        ]
        if storage:
            tiles.append(
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.KEY_OUTLINED),
                    title=ft.Text("Sign-in"),
                    subtitle=ft.Text(storage),
                )
            )
        if warning:
            tiles.append(
                handle(
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ERROR),
                        title=ft.Text(warning),
                    ),
                    "no-secure-storage",
                )
            )
        if cfg.demo_token:
            other = "demo-staff" if cfg.token == "demo-admin" else "demo-admin"
            label = "Switch to the staff user" if other == "demo-staff" else "Switch to the admin"
            tiles.append(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(
                                "The demo has an admin and a staff user who sees only the "
                                "contacts assigned to them and the numbers linked to them.",
                                size=13,
                                color=ft.Colors.ON_SURFACE_VARIANT,
                            ),
                            handle(
                                ft.OutlinedButton(
                                    label,
                                    icon=ft.Icons.SWITCH_ACCOUNT,
                                    on_click=lambda _: on_switch_user(other),
                                    tooltip=f"Sign in as {DEMO_TOKENS[other]}",
                                ),
                                "switch-user",
                            ),
                        ],
                        spacing=8,
                        tight=True,
                    ),
                    padding=ft.Padding.symmetric(horizontal=16),
                )
            )
        self.theme = ft.RadioGroup(
            value=theme_mode.value,
            on_change=lambda e: on_theme(ft.ThemeMode(self.theme.value)),
            content=ft.Row(
                [
                    ft.Radio(value=ft.ThemeMode.SYSTEM.value, label="System"),
                    ft.Radio(value=ft.ThemeMode.LIGHT.value, label="Light"),
                    ft.Radio(value=ft.ThemeMode.DARK.value, label="Dark"),
                ],
                wrap=True,
            ),
        )
        tiles.append(
            ft.Container(
                ft.Column(
                    [
                        ft.Text("Appearance", weight=ft.FontWeight.W_600),
                        handle(self.theme, "theme"),
                    ],
                    spacing=4,
                    tight=True,
                ),
                padding=ft.Padding.symmetric(horizontal=16, vertical=8),
            )
        )
        # On a phone with push: also be told of what other staff send (off by default).
        self.push_staff = ft.Switch(
            label="Notify me of messages other staff send",
            value=bool(push_staff),
            on_change=lambda e: on_push_staff(bool(e.control.value)) if on_push_staff else None,
        )
        if push_staff is not None:
            tiles.append(
                ft.Container(
                    handle(self.push_staff, "push-staff-messages"),
                    padding=ft.Padding.symmetric(horizontal=16, vertical=8),
                )
            )
        if on_sign_out is not None:
            tiles.append(
                ft.Container(
                    ft.Column(
                        [
                            handle(
                                ft.OutlinedButton(
                                    "Sign out",
                                    icon=ft.Icons.LOGOUT,
                                    on_click=lambda _: on_sign_out(),
                                ),
                                "sign-out",
                            ),
                            ft.Text(
                                "Signing out removes your sign-in and this account's messages "
                                "and drafts from this device.",
                                size=12,
                                color=ft.Colors.ON_SURFACE_VARIANT,
                            ),
                        ],
                        spacing=6,
                        tight=True,
                    ),
                    padding=ft.Padding.symmetric(horizontal=16, vertical=8),
                )
            )
        back = back_button(lambda _: on_back(), "Back") if on_back else None
        self.root = handle(
            ft.Column(
                [
                    header("Settings", back=back),
                    ft.Column(tiles, spacing=8, scroll=ft.ScrollMode.AUTO, expand=True),
                ],
                spacing=0,
                expand=True,
            ),
            "settings",
        )
        self.root.expand = True
