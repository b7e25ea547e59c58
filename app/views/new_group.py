"""The New Group wizard: Message Contacts / Teammates → Group Conversation → Send from →
participants (search, chips, live 2–9 counter, disabled rows with reasons) → optional name →
Create Conversation."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import flet as ft

from app.components.a11y import icon_button, quiet, quiet_tooltip
from app.state.new_group import PAGE, NewGroupVM, PickRow
from app.views.ui import back_button, handle, header, refresh, say, search_field
from services.models import GroupKind

# Up to this many changed rows are sent one by one; more, and the list goes out in one diff.
_ONE_BY_ONE = 3


def choice(label: str, selected: bool, on_click: Callable[[], Any], ident: str) -> ft.Control:
    """One of two choices. Which one is chosen is said in the button's own name (a state
    set on a node around it would land on that node, not on the button)."""
    icon = ft.Icons.CHECK if selected else None
    words = ft.Text(label, semantics_label=f"{label}, selected" if selected else label)
    button = (
        ft.FilledButton(content=words, icon=icon, on_click=lambda _: on_click())
        if selected
        else ft.OutlinedButton(content=words, on_click=lambda _: on_click())
    )
    return ft.Semantics(identifier=ident, content=button)


def person_chip(name: str, on_remove: Callable[[], Any]) -> ft.Control:
    """A chosen person: the name, and a button that says whom it removes. (ft.Chip read
    as a disabled checkbox holding a disabled Remove button.)"""
    return ft.Container(
        ft.Row(
            [
                ft.Text(name, size=13, color=ft.Colors.ON_SECONDARY_CONTAINER),
                icon_button(
                    ft.Icons.CLOSE,
                    f"Remove {name}",
                    lambda _: on_remove(),
                    icon_size=16,
                    icon_color=ft.Colors.ON_SECONDARY_CONTAINER,
                    width=32,
                    height=32,
                    padding=0,
                ),
            ],
            spacing=0,
            tight=True,
        ),
        bgcolor=ft.Colors.SECONDARY_CONTAINER,
        border_radius=16,
        padding=ft.Padding.only(left=12, right=2),
    )


class _PickTile(ft.Semantics):
    """One row of the picker's fixed pool: its controls are made once and ``show`` changes
    their values, so a keystroke that brings other contacts sends the few values that
    differ, not new rows (issue 19: 25 new rows were ~14 KB and most of a 20 ms keystroke).

    A row handed to another contact gets a new ``key`` on its list tile: the browser then
    builds that tile afresh. Flutter sends a semantics node's identifier only along with
    a change it compares (label, flags, children...), and the identifier's node is a
    container of its own around the tile's button: without a new child under it, the
    browser kept the first contact's ``pick-<id>``."""

    def __init__(self, on_toggle: Callable[[str], None]) -> None:
        self.row: PickRow | None = None
        self._on_toggle = on_toggle
        # Shown, not read (the name's label says the whole row): an empty semantics label
        # hides a text, and an icon without one is not read; no wrapper around each, as
        # every wrapper is one more control in the diff of every keystroke (issue 19).
        self.initials = ft.Text(
            "", color=ft.Colors.WHITE, weight=ft.FontWeight.W_600, size=13.68, semantics_label=""
        )
        self.circle = ft.CircleAvatar(content=self.initials, radius=18)
        self.name = ft.Text("")
        self.sub = ft.Text("", semantics_label="")
        self.mark = ft.Icon(ft.Icons.RADIO_BUTTON_UNCHECKED)
        self.tile = ft.ListTile(
            leading=self.circle,
            title=self.name,
            subtitle=self.sub,
            trailing=self.mark,
            on_click=self._click,
            dense=True,
        )
        super().__init__(identifier="pick", content=self.tile)

    def _click(self, _: ft.Event) -> None:
        # The view sends what the pick changed (this row, the chips, the counter); Flet's
        # auto-update would diff the whole results list again.
        ft.context.disable_auto_update()
        if self.row is not None:
            self._on_toggle(self.row.id)

    def hide(self) -> bool:
        """No contact for this row now (it stays in the pool, hidden); True if it was shown."""
        if self.row is None:
            return False
        self.row, self.visible, self.identifier = None, False, "pick"
        return True

    def show(self, r: PickRow) -> bool:
        """One button per row, named by the whole row in order (name, number, selected or
        why not): the title's semantics label; the rest shows it and is not read again.
        (A faded avatar of a row that can't be chosen is decoration: the words say why.)
        True if anything changed."""
        was, self.row = self.row, r
        if was == r:
            return False
        self.visible = True
        if was is None or was.id != r.id:
            self.identifier = f"pick-{r.id}"
            self.tile.key = r.id
        self.initials.value = r.initials
        self.circle.bgcolor = r.color
        self.circle.opacity = 0.45 if r.disabled else 1
        self.name.value = r.name
        self.name.semantics_label = r.semantics_label
        self.name.color = ft.Colors.ON_SURFACE_VARIANT if r.disabled else None
        self.sub.value = (r.reason if r.disabled else r.phone) or ""
        self.sub.color = ft.Colors.ERROR if r.disabled else None
        if r.selected:
            self.mark.icon, self.mark.color = ft.Icons.CHECK_CIRCLE, ft.Colors.PRIMARY
        elif r.disabled:
            self.mark.icon, self.mark.color = ft.Icons.BLOCK, ft.Colors.ERROR
        else:
            self.mark.icon, self.mark.color = ft.Icons.RADIO_BUTTON_UNCHECKED, ft.Colors.OUTLINE
        reason = _tooltip_reason(r)
        if was is None or reason != _tooltip_reason(was):
            self.mark.tooltip = quiet_tooltip(reason) if reason else None
        return True


def _tooltip_reason(r: PickRow) -> str | None:
    return r.reason if r.disabled and not r.selected else None


class _Results(ft.Column):
    """The picker's rows, isolated: an event's auto-update and the wizard's own updates
    stop here, and the rows (not isolated themselves) go out in one diff of this list."""

    def is_isolated(self) -> bool:
        return True

    # Flet's diff asks, for every row, whether this list is the diff's root (parent !=
    # root): a dataclass compares ~60 fields for that, ~6 % of a keystroke's diff.
    # A control is equal to itself only.
    __eq__ = object.__eq__


def _look(control: ft.Control) -> tuple[Any, ...]:
    """What the wizard's small parts show (value, colour, visible, disabled, label)."""
    return tuple(
        getattr(control, name, None)
        for name in ("value", "color", "visible", "disabled", "content")
    )


def section(title: str, *body: ft.Control) -> ft.Control:
    return ft.Column(
        [ft.Text(title, size=13, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY), *body],
        spacing=8,
        tight=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


class NewGroupView:
    def __init__(
        self,
        vm: NewGroupVM,
        *,
        page: ft.Page,
        on_created: Callable[[str], Any],
        on_back: Callable[[], None] | None,
    ) -> None:
        self.vm, self.page, self.on_created = vm, page, on_created
        # What each part shows, so a change redraws and sends only the parts it touched: a
        # keystroke used to rebuild the whole wizard plus 50 new rows (~31 ms, 25.7 KB).
        self._shown: dict[str, Any] = {}
        self._pool: list[_PickTile] = []  # the rows shown, in order, then hidden spares
        self.audience = ft.Row(spacing=8, wrap=True)
        self.kind_row = ft.Row(spacing=8, wrap=True)
        self.from_group = ft.RadioGroup(content=ft.Column([], spacing=0), on_change=self._on_from)
        self.from_empty = handle(
            ft.Container(
                ft.Row(
                    [
                        ft.Icon(ft.Icons.PHONE_DISABLED, color=ft.Colors.ERROR),
                        ft.Text(vm.from_empty_state or "", expand=True),
                    ],
                    spacing=10,
                ),
                bgcolor=ft.Colors.ERROR_CONTAINER,
                padding=12,
                border_radius=12,
            ),
            "no-from-numbers",
        )
        self.search = search_field("Search contacts", self._on_search)
        self.chips = ft.Row([], wrap=True, spacing=6, run_spacing=6)
        self.counter = ft.Text("", weight=ft.FontWeight.W_600)
        self.notice = ft.Text("", color=ft.Colors.ERROR)
        # Flutter's Semantics needs visible content: hide the handle, not the text.
        self.notice_box = handle(self.notice, "pick-notice")
        self.notice_box.visible = False
        self.empty = ft.Text("", color=ft.Colors.ON_SURFACE_VARIANT, visible=False)
        self.rows = _Results([self.empty], spacing=0)
        # "Add (415) 555-0188 as a new contact": shown for a whole number no contact has.
        self.offer_text = ft.Text("", color=ft.Colors.PRIMARY, weight=ft.FontWeight.W_600)
        self.offer = handle(
            ft.ListTile(
                leading=quiet(ft.Icon(ft.Icons.PERSON_ADD_ALT_1, color=ft.Colors.PRIMARY)),
                title=self.offer_text,
                on_click=lambda _: self._ask_new_contact(),
                dense=True,
            ),
            "add-new-contact",
        )
        self.offer.visible = False
        self.more = ft.TextButton("Show more contacts", on_click=self._on_more, visible=False)
        self.name = ft.TextField(
            label="Group name (optional)", on_change=self._on_name, max_length=60, dense=True
        )
        self.name_section = section("Group name", handle(self.name, "group-name"))
        self.reasons = ft.Text(
            "", size=12, color=ft.Colors.ERROR, max_lines=3, overflow=ft.TextOverflow.ELLIPSIS
        )
        self.create = ft.FilledButton(
            "Create Conversation", icon=ft.Icons.CHECK, on_click=self._on_create, disabled=True
        )
        back = back_button(lambda _: on_back(), "Back to conversations") if on_back else None
        body = ft.Column(
            [
                section("Message", self.audience),
                section("Conversation type", self.kind_row),
                section("Send from", self.from_group, self.from_empty),
                section(
                    "Participants",
                    handle(self.search, "search-contacts"),
                    self.chips,
                    handle(self.counter, "counter"),
                    self.notice_box,
                    self.offer,
                    self.rows,
                    self.more,
                ),
                self.name_section,
            ],
            spacing=20,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )
        footer = ft.Container(
            ft.Row(
                [
                    handle(self.reasons, "create-reasons"),
                    handle(self.create, "create-conversation"),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=12,
            ),
            padding=ft.Padding.symmetric(horizontal=16, vertical=10),
            border=ft.Border.only(top=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        )
        self.reasons.expand = True
        self.root = handle(
            ft.Column(
                [
                    header("Create New Message", back=back),
                    ft.Container(body, padding=ft.Padding.symmetric(horizontal=16), expand=True),
                    footer,
                ],
                spacing=0,
                expand=True,
            ),
            "new-group",
        )
        self.root.expand = True
        vm.listen(self._on_vm)
        self.render()

    async def start(self) -> None:
        await self.vm.search("")

    # --- rendering ---------------------------------------------------------------------------

    def render(self) -> list[ft.Control]:
        """Bring every part up to date; returns the parts that changed (caller updates)."""
        vm = self.vm
        changed = self._render_choices() + self._render_from() + self._render_chips()
        self.counter.value = vm.counter if vm.group else f"{vm.count} of 1 selected"
        ok = vm.counter_ok if vm.group else vm.count == 1
        # Red once something is chosen and the count is out of range; nothing chosen yet
        # is a start, not a mistake.
        self.counter.color = ft.Colors.ERROR if vm.count and not ok else None
        self.notice.value = vm.notice or ""
        self.notice_box.visible = bool(vm.notice)
        self.more.visible = vm.has_more and vm.kind is GroupKind.CONTACTS
        self._render_validity()
        small = (self.counter, self.notice_box, self.more, self.reasons, self.create)
        # Sent only when something in them changed (a keystroke usually changes none).
        if self._changed("small", tuple(_look(c) for c in small)):
            changed += small
        if self._changed("offer", vm.new_contact_offer):
            self.offer_text.value = vm.new_contact_offer or ""
            self.offer.visible = vm.new_contact_offer is not None
            changed.append(self.offer)
        return changed + self._render_rows()

    def _changed(self, part: str, state: Any) -> bool:
        if self._shown.get(part, ...) == state:
            return False
        self._shown[part] = state
        return True

    def _render_choices(self) -> list[ft.Control]:
        vm = self.vm
        if not self._changed("choices", (vm.kind, vm.group)):
            return []
        contacts = vm.kind is GroupKind.CONTACTS
        self.audience.controls = [
            choice(
                "Message Contacts",
                contacts,
                lambda: self._set_kind(GroupKind.CONTACTS),
                "message-contacts",
            ),
            choice(
                "Message Teammates",
                not contacts,
                lambda: self._set_kind(GroupKind.TEAMMATES),
                "message-teammates",
            ),
        ]
        self.kind_row.controls = [
            choice(
                "Group Conversation", vm.group, lambda: vm.set_group(True), "group-conversation"
            ),
            choice("One-to-one SMS", not vm.group, lambda: vm.set_group(False), "one-to-one"),
        ]
        self.search.label = "Search contacts" if contacts else "Search teammates"
        self.name_section.visible = vm.group
        return [self.audience, self.kind_row, self.search, self.name_section]

    def _render_from(self) -> list[ft.Control]:
        vm = self.vm
        if not self._changed("from", (tuple(vm.from_options), vm.from_number)):
            return []
        self.from_group.content.controls = [
            handle(ft.Radio(value=o.number, label=o.label), f"from-{o.number}")
            for o in vm.from_options
        ]
        self.from_group.value = vm.from_number
        self.from_group.visible = bool(vm.from_options)
        self.from_empty.visible = not vm.from_options
        return [self.from_group, self.from_empty]

    def _render_chips(self) -> list[ft.Control]:
        if not self._changed("chips", tuple(self.vm.chips)):
            return []
        self.chips.controls = [
            person_chip(name, lambda i=i: self._toggle(i)) for i, name in self.vm.chips
        ]
        return [self.chips]

    def _render_rows(self) -> list[ft.Control]:
        """The results, drawn on the pool of rows. A contact still shown keeps its row (a
        changed one, chosen or no longer, is redrawn in place, so the keyboard focus that
        chose it stays on it); a contact newly shown takes a row whose contact left, in
        the order shown; rows left over are hidden, not removed, and rows are made only
        when more contacts are shown than ever before. Returns what to update: the few
        rows that changed, or the whole list in one diff when many did."""
        vm = self.vm
        rows = vm.rows()
        wanted = {r.id for r in rows}
        pool = self._pool
        free = deque(t for t in pool if t.row is None or t.row.id not in wanted)
        kept = {t.row.id: t for t in pool if t.row is not None and t.row.id in wanted}
        order: list[_PickTile] = []
        changed: list[ft.Control] = []
        for r in rows:
            tile = kept.get(r.id) or (free.popleft() if free else _PickTile(self._toggle))
            if tile.show(r):
                changed.append(tile)
            order.append(tile)
        changed += [t for t in free if t.hide()]
        # Rows hidden past a page are let go (after "Show more contacts"): every diff of
        # the list walks its hidden rows too.
        spare = list(free)[: max(0, PAGE - len(order))]
        self._pool = order + spare
        if self._changed("empty", None if rows else bool(vm.query)):
            self.empty.value = "No contacts match." if vm.query else "No one to show."
            self.empty.visible = not rows
            changed.append(self.empty)
        controls: list[ft.Control] = [*self._pool, self.empty]
        same = len(controls) == len(self.rows.controls) and all(
            a is b for a, b in zip(controls, self.rows.controls, strict=True)
        )
        if same and len(changed) <= _ONE_BY_ONE:
            return changed
        self.rows.controls = controls
        return [self.rows] if changed or not same else []

    def _render_validity(self) -> None:
        reasons = self.vm.reasons
        self.reasons.value = reasons[0] if reasons else ""
        self.create.disabled = not self.vm.can_create
        self.create.content = (
            "Creating…"
            if self.vm.creating
            else ("Create Conversation" if self.vm.group else "Open Conversation")
        )

    def _on_vm(self, what: str, payload: Any) -> None:
        if what == "changed":
            refresh(*self.render())
        elif what == "validity":
            self._render_validity()
            refresh(self.reasons, self.create)
        elif what == "error":
            say(self.page, payload)

    # --- actions --------------------------------------------------------------------------------

    def _ask_new_contact(self) -> None:
        """A name for the typed number, then it becomes a contact and is chosen."""
        number = self.vm.new_contact_offer
        if number is None:
            return
        first = ft.TextField(label="First name", autofocus=True, max_length=100, dense=True)
        last = ft.TextField(label="Last name (optional)", max_length=100, dense=True)

        async def save(_: ft.Event) -> None:
            self.page.pop_dialog()
            await self.vm.add_new_contact(first.value or "", last.value or "")
            await self.search.focus()

        first.on_submit = save
        last.on_submit = save
        self.page.show_dialog(
            ft.AlertDialog(
                title=ft.Text("New contact"),
                semantics_label="New contact",
                content=ft.Column(
                    [
                        ft.Text(number.removesuffix(" as a new contact").removeprefix("Add ")),
                        handle(first, "new-contact-first"),
                        handle(last, "new-contact-last"),
                    ],
                    tight=True,
                    spacing=12,
                    width=320,
                ),
                actions=[
                    handle(
                        ft.TextButton("Cancel", on_click=lambda _: self.page.pop_dialog()),
                        "new-contact-cancel",
                    ),
                    handle(ft.FilledButton("Add contact", on_click=save), "new-contact-save"),
                ],
            )
        )

    def _set_kind(self, kind: GroupKind) -> None:
        self.vm.set_kind(kind)
        self.page.run_task(self.vm.search, self.search.value or "")

    def _toggle(self, member_id: str) -> None:
        self.vm.toggle(member_id)

    def _on_from(self, _: ft.Event) -> None:
        self.vm.set_from(self.from_group.value)

    async def _on_search(self, _: ft.Event) -> None:
        # The view sends what changed itself; a keystroke that changes nothing must not
        # end in Flet's auto-update, a diff of the whole screen (~5 ms, issue 19).
        ft.context.disable_auto_update()
        await self.vm.search(self.search.value or "")

    async def _on_more(self, _: ft.Event) -> None:
        ft.context.disable_auto_update()  # as _on_search
        await self.vm.load_more()

    def _on_name(self, _: ft.Event) -> None:
        self.vm.set_name(self.name.value or "")

    async def _on_create(self, _: ft.Event) -> None:
        cid = await self.vm.create()
        if cid:
            await self.on_created(cid)
