"""The New Group wizard: audience, type, Send from, participants, name, Create Conversation.

Every rule of services/rules.py reaches the user here, before the server sees
the request: contacts that can't be added are shown disabled with the reason,
unassigned contacts are absent for staff, the counter turns red outside 2–9,
duplicates are refused, and Create Conversation is enabled only when the draft
has no violations.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.state import fmt
from app.state.base import ViewModel
from services import limits, phones, rules
from services.models import Contact, GroupKind, PhoneNumber, User

# Rows per search page ("Show more contacts" adds the next): what a keystroke redraws.
# 50 new rows cost ~28 ms to build, diff and send; 25 keep a keystroke under 20 ms.
PAGE = 25

NO_FROM_NUMBERS = (
    "None of the numbers you may use can send group texts. Ask an admin for access to a "
    "number that has SMS and MMS and group conversations turned on."
)


@dataclass(frozen=True)
class PickRow:
    """One contact or teammate in the picker."""

    id: str
    name: str
    phone: str
    selected: bool
    reason: str | None  # why it can't be chosen (shown beside it), None when it can
    initials: str
    color: str

    @property
    def disabled(self) -> bool:
        return self.reason is not None and not self.selected

    @property
    def semantics_label(self) -> str:
        state = (
            "selected" if self.selected else ("unavailable: " + self.reason if self.reason else "")
        )
        return ", ".join(x for x in (self.name, self.phone, state) if x)


@dataclass(frozen=True)
class FromOption:
    number: str
    label: str


class NewGroupVM(ViewModel):
    def __init__(
        self,
        *,
        client: Any,
        store: Any,
        me: User,
        numbers: Sequence[PhoneNumber],
        teammates: Sequence[User] = (),
    ) -> None:
        super().__init__()
        self.client, self.store, self.me = client, store, me
        self.all_numbers = list(numbers)
        self.teammates = [u for u in teammates if u.id != me.id]
        self.kind = GroupKind.CONTACTS
        self.group = True  # Group Conversation (False: one-to-one SMS)
        self.from_options = [
            FromOption(n.phone_number, _number_label(n))
            for n in rules.usable_from_numbers(numbers, me)
        ]
        self.from_number: str | None = (
            self.from_options[0].number if len(self.from_options) == 1 else None
        )
        self.query = ""
        self.contacts: list[Contact] = []  # the search page shown
        self.selected_contacts: list[Contact] = []
        self.selected_teammates: list[User] = []
        self.name = ""
        self.creating = False
        self.notice: str | None = None  # a refusal of the last pick, in words
        self._search_after: Any = None
        self.has_more = False
        # Each keystroke searches (its own task): the answer of the newest search wins, so
        # a slower answer to an earlier keystroke never replaces the newer one's rows.
        self._searches = 0

    # --- choices --------------------------------------------------------------------------

    @property
    def from_empty_state(self) -> str | None:
        return NO_FROM_NUMBERS if not self.from_options else None

    def set_kind(self, kind: GroupKind) -> None:
        if kind is self.kind:
            return
        self.kind = kind
        self.selected_contacts, self.selected_teammates = [], []
        self.notice = None
        self.emit("changed")

    def set_group(self, group: bool) -> None:
        self.group = group
        self.emit("changed")

    def set_from(self, number: str | None) -> None:
        self.from_number = number
        self.emit("changed")

    def set_name(self, name: str) -> None:
        self.name = name
        self.emit("validity")

    # --- the picker ---------------------------------------------------------------------------

    async def search(self, query: str = "") -> None:
        self.query = query.strip()
        self._searches += 1
        if self.kind is GroupKind.TEAMMATES:
            self.emit("changed")
            return
        mine = self._searches
        try:
            page = await self.client.search_contacts(query=self.query, page_limit=PAGE)
        except Exception as exc:
            if mine == self._searches:
                self.fail(exc)
            return
        if mine != self._searches:
            return  # a newer keystroke's search is on its way: its rows are the ones to show
        found = list(page.contacts)
        self.contacts = rules.visible_contacts(found, self.me)
        self._search_after = found[-1].search_after if found else None
        self.has_more = len(found) >= PAGE and self._search_after is not None
        self.emit("changed")

    async def load_more(self) -> None:
        if not self.has_more or self.kind is GroupKind.TEAMMATES:
            return
        mine = self._searches
        try:
            page = await self.client.search_contacts(
                query=self.query, page_limit=PAGE, search_after=self._search_after
            )
        except Exception as exc:
            if mine == self._searches:
                self.fail(exc)
            return
        if mine != self._searches:
            return  # the user typed meanwhile: more of the old query's rows would be wrong
        found = list(page.contacts)
        seen = {c.id for c in self.contacts}
        self.contacts += [c for c in rules.visible_contacts(found, self.me) if c.id not in seen]
        self._search_after = found[-1].search_after if found else None
        self.has_more = len(found) >= PAGE and self._search_after is not None
        self.emit("changed")

    # --- a number that is no one's contact yet ---------------------------------------------

    @property
    def new_contact_number(self) -> str | None:
        """The typed number (E.164) when it can be offered as a new contact: a whole
        US/Canada number that can join a group and that no contact shown already has."""
        if self.kind is not GroupKind.CONTACTS:
            return None
        number = rules.new_contact_number(self.query)
        if number is None or any(phones.normalize(c.phone) == number for c in self.contacts):
            return None
        return number

    @property
    def new_contact_offer(self) -> str | None:
        number = self.new_contact_number
        return None if number is None else f"Add {phones.format_display(number)} as a new contact"

    async def add_new_contact(self, first_name: str, last_name: str = "") -> bool:
        """Make the typed number a contact (the server assigns it to a user limited to their
        own) and choose it, as the rules allow; False, with the reason said, otherwise."""
        number = self.new_contact_number
        if number is None:
            return False
        if not (first_name.strip() or last_name.strip()):
            self.notice = "Give the new contact a name."
            self.emit("changed")
            return False
        try:
            contact = await self.client.create_contact(
                first_name=first_name.strip(), last_name=last_name.strip(), phone=number
            )
        except Exception as exc:
            self.fail(exc)
            return False
        self.contacts.insert(0, contact)
        return self.toggle(contact.id)

    def rows(self) -> list[PickRow]:
        if self.kind is GroupKind.TEAMMATES:
            return [self._teammate_row(u) for u in self._matching_teammates()]
        return [self._contact_row(c) for c in self.contacts]

    def _matching_teammates(self) -> list[User]:
        q = self.query.lower()
        digits = phones.digits(self.query)
        return [
            u
            for u in self.teammates
            if not q or q in u.display_name.lower() or (digits and digits in phones.digits(u.phone))
        ]

    def _contact_row(self, c: Contact) -> PickRow:
        selected = any(s.id == c.id for s in self.selected_contacts)
        blocker = rules.contact_blocker(c, self.me)
        name = c.display_name
        return PickRow(
            c.id,
            name,
            phones.format_display(c.phone) if c.phone else "",
            selected,
            (blocker.short or blocker.message) if blocker else None,
            fmt.initials(name),
            fmt.avatar_color(c.id),
        )

    def _teammate_row(self, u: User) -> PickRow:
        selected = any(s.id == u.id for s in self.selected_teammates)
        blocker = rules.teammate_blocker(u)
        return PickRow(
            u.id,
            u.display_name,
            phones.format_display(u.phone) if u.phone else "",
            selected,
            (blocker.short or blocker.message) if blocker else None,
            fmt.initials(u.display_name),
            fmt.avatar_color(u.id),
        )

    def toggle(self, member_id: str) -> bool:
        """Select or unselect; a refused pick says why in .notice and returns False."""
        self.notice = None
        if self.kind is GroupKind.TEAMMATES:
            return self._toggle_teammate(member_id)
        chosen = next((c for c in self.selected_contacts if c.id == member_id), None)
        if chosen is not None:
            self.selected_contacts.remove(chosen)
            self.emit("changed")
            return True
        contact = next((c for c in self.contacts if c.id == member_id), None)
        if contact is None:
            return False
        refusal = self._pick_refusal(contact)
        if refusal:
            self.notice = refusal
            self.emit("changed")
            return False
        if not self.group:
            self.selected_contacts = []
        self.selected_contacts.append(contact)
        self.emit("changed")
        return True

    def _pick_refusal(self, contact: Contact) -> str | None:
        blocker = rules.contact_blocker(contact, self.me)
        if blocker:
            return blocker.message
        number = phones.normalize(contact.phone)
        for other in self.selected_contacts:
            if number and phones.normalize(other.phone) == number:
                return (
                    f"{other.display_name} and {contact.display_name} share the number "
                    f"{phones.format_display(number)}, so they would count as one person."
                )
        if self.group and len(self.selected_contacts) >= self.max_people:
            return rules.too_many_people(self._selected_number())
        return None

    def _toggle_teammate(self, user_id: str) -> bool:
        chosen = next((u for u in self.selected_teammates if u.id == user_id), None)
        if chosen is not None:
            self.selected_teammates.remove(chosen)
        else:
            mate = next((u for u in self.teammates if u.id == user_id), None)
            if mate is None:
                return False
            blocker = rules.teammate_blocker(mate)
            if blocker:
                self.notice = blocker.message
            elif len(self.selected_teammates) >= self.max_people:
                self.notice = rules.too_many_people(self._selected_number())
            else:
                self.selected_teammates.append(mate)
            if self.notice:
                self.emit("changed")
                return False
        self.emit("changed")
        return True

    def add_unchecked(self, contact: Contact) -> None:
        """Select without the picker's refusals (tests and prefill); violations still show."""
        self.selected_contacts.append(contact)
        self.emit("changed")

    # --- the counter and the Create button ------------------------------------------------------

    @property
    def chips(self) -> list[tuple[str, str]]:
        if self.kind is GroupKind.TEAMMATES:
            return [(u.id, u.display_name) for u in self.selected_teammates]
        return [(c.id, c.display_name) for c in self.selected_contacts]

    @property
    def count(self) -> int:
        return len(self.chips)

    @property
    def max_people(self) -> int:
        """The cap of the carrier behind the chosen number (Telnyx: 8), from the server."""
        return rules.max_participants(self._selected_number())

    @property
    def counter(self) -> str:
        return fmt.counter_text(self.count, limits.MIN_PARTICIPANTS, self.max_people)

    @property
    def counter_ok(self) -> bool:
        return limits.MIN_PARTICIPANTS <= self.count <= self.max_people

    def _selected_number(self) -> PhoneNumber | None:
        return next((n for n in self.all_numbers if n.phone_number == self.from_number), None)

    def draft(self) -> rules.GroupDraft:
        return rules.GroupDraft(
            kind=self.kind,
            from_number=self._selected_number(),
            contacts=tuple(self.selected_contacts) if self.kind is GroupKind.CONTACTS else (),
            teammates=tuple(self.selected_teammates) if self.kind is GroupKind.TEAMMATES else (),
            name=self.name.strip() or None,
        )

    def violations(self) -> list[rules.Violation]:
        if not self.group:
            return self._one_to_one_violations()
        return rules.validate_group_draft(self.draft(), self.me)

    def _one_to_one_violations(self) -> list[rules.Violation]:
        if len(self.selected_contacts) != 1:
            return [
                rules.Violation(
                    rules.ViolationCode.TOO_FEW_PARTICIPANTS, "Choose one contact to text."
                )
            ]
        return []

    @property
    def reasons(self) -> list[str]:
        """Why Create Conversation is disabled, in words (empty when it is enabled)."""
        seen: list[str] = []
        for v in self.violations():
            if v.message not in seen:
                seen.append(v.message)
        return seen

    @property
    def can_create(self) -> bool:
        return not self.creating and not self.violations()

    async def create(self) -> str | None:
        """Create the group (or open the one-to-one); the conversation id, or None with .error."""
        if not self.can_create:
            self.error = (self.reasons or ["Finish the steps above first."])[0]
            self.emit("error", self.error)
            return None
        if not self.group:
            return self._open_one_to_one()
        self.creating = True
        self.emit("validity")
        try:
            conv = await self.client.create_group(
                self.kind.value,
                self.from_number,
                contact_ids=[c.id for c in self.selected_contacts],
                user_ids=[u.id for u in self.selected_teammates],
                name=self.name.strip() or None,
                idempotency_key=str(uuid.uuid4()),
            )
        except Exception as exc:
            self.fail(exc)
            return None
        finally:
            self.creating = False
            self.emit("validity")
        self.store.put_conversation(conv)
        return str(conv.id)

    def _open_one_to_one(self) -> str | None:
        contact = self.selected_contacts[0]
        for summary in self.store.conversations(limit=None):
            if summary.contact_id == contact.id and not summary.is_group:
                return str(summary.id)
        self.error = (
            f"There's no conversation with {contact.display_name} yet. "
            "New one-to-one conversations start when they text your number."
        )
        self.emit("error", self.error)
        return None

    # --- prefill ("New group with these participants", "Create new group without NAME") ---------

    async def prefill(
        self, kind: GroupKind, from_number: str | None, member_ids: Sequence[str]
    ) -> None:
        self.set_kind(kind)
        if from_number and any(o.number == from_number for o in self.from_options):
            self.from_number = from_number
        missing = 0
        for member_id in member_ids:
            if kind is GroupKind.TEAMMATES:
                mate = next((u for u in self.teammates if u.id == member_id), None)
                if mate is not None:
                    self.selected_teammates.append(mate)
                else:
                    missing += 1
                continue
            try:
                contact = await self.client.get_contact(member_id)
            except Exception:
                missing += 1  # deleted or no longer visible: leave them out, say so
                continue
            if contact.phone and not rules.contact_blocker(contact, self.me):
                self.selected_contacts.append(contact)
            else:
                missing += 1
        if missing:
            self.notice = (
                f"{missing} participant(s) could not be added again "
                "(deleted, Do Not Disturb, or no valid number)."
            )
        self.emit("changed")


def _number_label(n: PhoneNumber) -> str:
    shown = phones.format_display(n.phone_number)
    return f"{n.friendly_name} · {shown}" if n.friendly_name else shown
