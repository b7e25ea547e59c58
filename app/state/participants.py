"""The Participants panel behind Chat Participants: who is in the group, searchable."""

from __future__ import annotations

from dataclasses import dataclass

from app.state import fmt
from services import phones
from services.models import Conversation, GroupKind, Participant

IMMUTABLE_NOTE = "Participants and the Send from number can't be changed after a group is created."


@dataclass(frozen=True)
class ParticipantRow:
    id: str
    member_id: str | None  # contact or user id, for "New group with these participants"
    name: str
    phone: str  # the number messages route to (as at creation)
    current_phone: str | None  # shown when the contact's number changed
    tags: tuple[str, ...]  # Updated / Deleted / DND
    initials: str
    color: str

    @property
    def semantics_label(self) -> str:
        tags = f", {', '.join(self.tags)}" if self.tags else ""
        return f"{self.name}, messages go to {self.phone}{tags}"


def row_for(p: Participant) -> ParticipantRow:
    name = p.current_name or p.name or phones.format_display(p.phone)
    tags: list[str] = []
    if p.deleted:
        tags.append("Deleted")
    elif p.updated:
        tags.append("Updated")
    if p.dnd:
        tags.append("DND")
    current = p.current_phone if p.current_phone and p.current_phone != p.phone else None
    return ParticipantRow(
        id=p.id,
        member_id=p.contact_id or p.user_id,
        name=name,
        phone=phones.format_display(p.phone),
        current_phone=phones.format_display(current) if current else None,
        tags=tuple(tags),
        initials=fmt.initials(name),
        color=fmt.avatar_color(p.contact_id or p.user_id or p.id),
    )


class ParticipantsVM:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.query = ""

    @property
    def all_rows(self) -> list[ParticipantRow]:
        return [row_for(p) for p in self.conversation.participants]

    def rows(self) -> list[ParticipantRow]:
        q = self.query.strip().lower()
        if not q:
            return self.all_rows
        digits = phones.digits(q)
        out = []
        for p in self.conversation.participants:
            names = f"{p.name} {p.current_name or ''}".lower()
            numbers = phones.digits(p.phone) + " " + phones.digits(p.current_phone or "")
            if q in names or (digits and digits in numbers):
                out.append(row_for(p))
        return out

    def set_query(self, text: str) -> None:
        self.query = text

    @property
    def from_line(self) -> str:
        if not self.conversation.from_number:
            return ""
        return f"Messages go out from {phones.format_display(self.conversation.from_number)}"

    @property
    def note(self) -> str:
        return IMMUTABLE_NOTE

    @property
    def kind(self) -> GroupKind:
        return self.conversation.kind or GroupKind.CONTACTS

    def member_ids(self, without: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
        return [
            m
            for p in self.conversation.participants
            if (m := p.contact_id or p.user_id) and p.id not in without
        ]
