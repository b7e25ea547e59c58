"""One participant: avatar, name, the number messages route to, and its tags."""

from __future__ import annotations

import flet as ft

from app.components.avatar import avatar
from app.components.tags import tag
from app.state.participants import ParticipantRow


def participant_row(row: ParticipantRow) -> ft.Control:
    subtitle: list[ft.Control] = [ft.Text(row.phone, size=13, color=ft.Colors.ON_SURFACE_VARIANT)]
    if row.current_phone:
        subtitle.append(
            ft.Text(
                f"now {row.current_phone}", size=12, italic=True, color=ft.Colors.ON_SURFACE_VARIANT
            )
        )
    # Nothing in the row acts: one node, said once by its label (name, number, tags).
    return ft.Semantics(
        identifier=f"participant-{row.id}",
        label=row.semantics_label,
        exclude_semantics=True,
        content=ft.ListTile(
            leading=avatar(row.initials, row.color, size=36),
            title=ft.Row(
                [
                    ft.Text(
                        row.name,
                        weight=ft.FontWeight.W_500,
                        expand=True,
                        overflow=ft.TextOverflow.ELLIPSIS,
                        max_lines=1,
                    ),
                    *[tag(t) for t in row.tags],
                ],
                spacing=6,
            ),
            subtitle=ft.Row(subtitle, spacing=8, wrap=True),
            dense=True,
        ),
    )
