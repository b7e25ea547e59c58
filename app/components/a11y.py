"""What a screen reader says: names for icon buttons, hints, and nodes read once.

How Flutter builds the tree a screen reader reads (checked in Chromium's
accessibility tree, see tests/e2e/a11y.py):

- A button is its own node. A label *outside* it (a wrapping ``ft.Semantics``, a
  tooltip) lands on the node around it, so the button itself stays unnamed: the
  name must come from *inside* (an icon's ``semantics_label``, the button's text).
- A ``ft.Semantics`` with a label over visible text reads both ("Today Today"):
  give the words once (``quiet`` the visible copy, or ``exclude_semantics``).
- Flet 1.0.5 sends two ``ft.Semantics`` properties under names its client does not
  read: ``hint_text`` (the client reads ``hint``) and ``on_tap`` (the client wires
  ``on_click``). ``Spoken`` sends them under the client's names.
"""

from __future__ import annotations

from typing import Any, Optional

import flet as ft


@ft.control("Semantics")
class Spoken(ft.Semantics):
    """``ft.Semantics`` whose hint reaches the reader (as its description, after the
    label) and whose activation by a screen reader reaches ``on_click``."""

    hint: str | None = None
    # Flet finds an event's type from the field's annotation at run time, and this
    # module's annotations are strings (``from __future__``): set the real one below.
    on_click: ft.ControlEventHandler[Spoken] | None = None


Spoken.__annotations__["on_click"] = Optional[ft.ControlEventHandler["Spoken"]]  # noqa: UP045


def quiet_tooltip(message: str) -> ft.Tooltip:
    """A tooltip for the pointer only: the control's own name already says it (a tooltip
    in the tree names the node around the control, and is read a second time)."""
    return ft.Tooltip(message=message, exclude_from_semantics=True)


def icon_button(
    icon: ft.IconData,
    label: str,
    on_click: Any = None,
    *,
    tooltip: str | None = None,
    **kwargs: Any,
) -> ft.IconButton:
    """An icon button a screen reader names: the icon carries the label, which merges
    into the button's node; the tooltip shows the same words to a pointer. (An icon given
    as a control takes the button's ``icon_color`` and ``icon_size`` itself.)"""
    glyph = ft.Icon(
        icon,
        semantics_label=label,
        color=kwargs.get("icon_color"),
        size=kwargs.get("icon_size"),
    )
    return ft.IconButton(
        icon=glyph,
        tooltip=quiet_tooltip(tooltip or label),
        on_click=on_click,
        **kwargs,
    )


def tappable(
    content: ft.Control,
    *,
    label: str,
    hint: str | None,
    on_click: Any,
    identifier: str,
    **kwargs: Any,
) -> tuple[ft.Semantics, Spoken]:
    """Anything a tap opens, as one button node: the label, then the hint as a hint.

    The ink makes it a focus stop (Tab reaches it; Enter or Space activates it, as a tap
    does) and draws the theme's focus colour over it. What ``content`` shows is not read:
    the label says it. Returns the handle (``identifier``) and the node whose ``label``
    a caller changes (the caller updates)."""
    spoken = Spoken(button=True, label=label, hint=hint, exclude_semantics=True, content=content)
    box = ft.Container(spoken, ink=True, on_click=on_click, **kwargs)
    return ft.Semantics(identifier=identifier, content=box), spoken


def quiet(control: ft.Control) -> ft.Semantics:
    """Shown, not read: words a label nearby already says (a bubble's time under it)."""
    return ft.Semantics(exclude_semantics=True, content=control)


def heading(control: ft.Control) -> ft.Semantics:
    """A screen's or a section's title: a reader can jump between headings."""
    return ft.Semantics(header=True, container=True, content=control)
