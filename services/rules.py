"""The group rules of the product, as pure functions returning typed violations.

The app applies them for instant feedback (a disabled contact with its reason,
a red counter, a disabled Create button); the backend applies the same
functions to refuse a request. Each ``Violation`` carries a code (which the
backend maps to an HTTP status with ``status_for``), a full sentence for the
person using the app, a few words (``short``) to show beside a disabled item,
and the id of what it is about (a contact, user, participant, number or file).

Nothing here does I/O or knows about HTTP or flet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath

from services import limits, phones
from services.models import (
    Contact,
    Conversation,
    ConversationType,
    DndStatus,
    GroupKind,
    GroupLimits,
    PhoneNumber,
    User,
)


class ViolationCode(StrEnum):
    TOO_FEW_PARTICIPANTS = "too_few_participants"
    TOO_MANY_PARTICIPANTS = "too_many_participants"
    DUPLICATE_NUMBER = "duplicate_number"
    NO_PHONE = "no_phone"
    INVALID_NUMBER = "invalid_number"
    OUTSIDE_REGION = "outside_region"
    NUMBER_TYPE = "number_type"
    DND = "dnd"
    NOT_ASSIGNED = "not_assigned"
    WRONG_KIND = "wrong_kind"
    NO_FROM_NUMBER = "no_from_number"
    FROM_NUMBER_NOT_CAPABLE = "from_number_not_capable"
    FROM_NUMBER_ACCESS = "from_number_access"
    GROUP_BLOCKED = "group_blocked"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    ATTACHMENTS_TOO_LARGE = "attachments_too_large"
    ATTACHMENT_TYPE = "attachment_type"

    @property
    def http_status(self) -> int:
        """The status the backend answers when this is the deciding refusal."""
        return _STATUS.get(self, 422)


_STATUS = {
    ViolationCode.FROM_NUMBER_ACCESS: 403,
    ViolationCode.NOT_ASSIGNED: 403,
    ViolationCode.GROUP_BLOCKED: 409,
    ViolationCode.TOO_MANY_ATTACHMENTS: 413,
    ViolationCode.ATTACHMENTS_TOO_LARGE: 413,
    ViolationCode.ATTACHMENT_TYPE: 415,
}
# The contract's precedence when several refusals apply.
_PRECEDENCE = (403, 409, 413, 415, 422)


@dataclass(frozen=True, slots=True)
class Violation:
    code: ViolationCode
    message: str
    subject_id: str | None = None
    short: str = ""

    @property
    def http_status(self) -> int:
        return self.code.http_status


def status_for(violations: Iterable[Violation]) -> int:
    """The HTTP status for a refusal (403, then 409, 413, 415, 422); 200 when none."""
    statuses = {v.http_status for v in violations}
    return next((s for s in _PRECEDENCE if s in statuses), 200)


def deciding(violations: Iterable[Violation]) -> list[Violation]:
    """The violations behind ``status_for``: what the backend's error message lists."""
    items = list(violations)
    status = status_for(items)
    return [v for v in items if v.http_status == status]


# --- contacts and teammates ------------------------------------------------------------


def visible_contacts(contacts: Iterable[Contact], user: User) -> list[Contact]:
    """Contacts the user may see: a user limited to assigned data sees only theirs."""
    return [c for c in contacts if _may_see_contact(c, user)]


def _may_see_contact(contact: Contact, user: User) -> bool:
    return not user.assigned_data_only or contact.assigned_to == user.id


def contact_violations(contact: Contact, user: User) -> list[Violation]:
    """Every reason this contact cannot join a group."""
    name = contact.display_name
    found: list[Violation] = []
    if not _may_see_contact(contact, user):
        found.append(
            Violation(
                ViolationCode.NOT_ASSIGNED,
                f"{name} isn't assigned to you, so you can't add them.",
                contact.id,
                "Not assigned to you",
            )
        )
    number = _number_violation(name, contact.phone, contact.id)
    if number is not None:
        found.append(number)
    if contact.dnd:
        found.append(_dnd_violation(contact))
    return found


def contact_blocker(contact: Contact, user: User) -> Violation | None:
    """The main reason a contact can't be added (shown beside it), or None."""
    found = contact_violations(contact, user)
    return found[0] if found else None


def _dnd_violation(contact: Contact) -> Violation:
    name = contact.display_name
    if contact.dnd_status is DndStatus.UNKNOWN:
        # An unreadable status errs on the side of not texting someone who opted out.
        message = f"{name} may have Do Not Disturb on, so they can't be added."
    else:
        message = f"{name} has Do Not Disturb on, so they can't be added."
    return Violation(ViolationCode.DND, message, contact.id, "Do Not Disturb")


def teammate_blocker(user_member: User) -> Violation | None:
    """Why a teammate can't join a teammates group (their phone), or None."""
    return _number_violation(user_member.display_name, user_member.phone, user_member.id)


def _number_violation(name: str, phone: str | None, subject_id: str) -> Violation | None:
    problem = phones.group_problem(phone)
    if problem is None:
        return None
    if problem is phones.PhoneProblem.EMPTY:
        return Violation(
            ViolationCode.NO_PHONE,
            f"{name} has no phone number.",
            subject_id,
            "No phone number",
        )
    if problem.is_unusable:
        code = ViolationCode.INVALID_NUMBER
        message = f"{name} has no valid phone number."
    elif problem is phones.PhoneProblem.OUTSIDE_REGION:
        code = ViolationCode.OUTSIDE_REGION
        message = f"{name}'s number is outside the US and Canada; group texts reach only those."
    else:
        code = ViolationCode.NUMBER_TYPE
        message = f"{name}'s number can't join a group text: {problem.message.lower()}."
    return Violation(code, message, subject_id, problem.message)


def new_contact_number(text: str) -> str | None:
    """A number typed in the participants search that could be a new contact in a group:
    its E.164 when it is a whole US/Canada number that can join group texts, else None.
    (Fragments like "0188" search; only a whole number is offered as a new contact.)"""
    if len(phones.digits(text)) < 10 or any(ch.isalpha() for ch in text):
        return None
    if phones.group_problem(text) is not None:
        return None
    return phones.normalize(text)


# --- business numbers ----------------------------------------------------------------------


def may_use_number(number: PhoneNumber, user: User) -> bool:
    """Admins, the number's linked user and its ring-all users may send from it."""
    return user.is_admin or number.linked_user == user.id or user.id in number.linked_ring_all_users


def number_capable(number: PhoneNumber) -> bool:
    """SMS + MMS, group-enabled, and a US/Canada long code (not toll-free)."""
    caps = number.capabilities
    return (
        caps.sms
        and caps.mms
        and number.is_group_conversation_enabled
        and phones.is_group_capable(number.phone_number)
    )


def from_number_violations(number: PhoneNumber, user: User) -> list[Violation]:
    """Why this user can't send a group text from this number (empty when they can)."""
    shown = phones.format_display(number.phone_number)
    found: list[Violation] = []
    if not number_capable(number):
        found.append(
            Violation(
                ViolationCode.FROM_NUMBER_NOT_CAPABLE,
                f"The number {shown} can't send group texts. Choose another number.",
                number.phone_number,
                "Can't send group texts",
            )
        )
    if not may_use_number(number, user):
        found.append(
            Violation(
                ViolationCode.FROM_NUMBER_ACCESS,
                f"You can't send from {shown}. Choose another number or ask an admin.",
                number.phone_number,
                "You can't send from this number",
            )
        )
    return found


def usable_from_numbers(numbers: Iterable[PhoneNumber], user: User) -> list[PhoneNumber]:
    """The numbers offered under "Send from"."""
    return [n for n in numbers if not from_number_violations(n, user)]


# --- a new group ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupDraft:
    kind: GroupKind
    from_number: PhoneNumber | None
    contacts: Sequence[Contact] = field(default_factory=tuple)
    teammates: Sequence[User] = field(default_factory=tuple)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class _Member:
    id: str
    name: str
    phone: str | None


def validate_group_draft(draft: GroupDraft, user: User) -> list[Violation]:
    """Every broken rule of a new group at once; empty when it may be created."""
    found: list[Violation] = []
    found += _kind_violations(draft)
    found += _from_violations(draft.from_number, user)
    members = _members(draft)
    for contact in draft.contacts if draft.kind is not GroupKind.TEAMMATES else ():
        found += contact_violations(contact, user)
    for mate in draft.teammates if draft.kind is GroupKind.TEAMMATES else ():
        blocker = teammate_blocker(mate)
        if blocker is not None:
            found.append(blocker)
    duplicates, distinct = _duplicates(members)
    return found + duplicates + _count_violations(distinct, group_limits(draft.from_number))


def group_limits(number: PhoneNumber | None) -> GroupLimits:
    """The carrier's limits for groups sent from ``number`` (group MMS's own without one)."""
    return number.group_limits if number is not None else GroupLimits()


def max_participants(number: PhoneNumber | None) -> int:
    """How many people a group from ``number`` may have: the carrier's cap, never above 9."""
    return min(group_limits(number).max_participants, limits.MAX_PARTICIPANTS)


def too_many_people(number: PhoneNumber | None) -> str:
    """The sentence that explains the cap, with the carrier's reason when it has one."""
    cap = max_participants(number)
    why = group_limits(number).why.strip()
    if cap < limits.MAX_PARTICIPANTS and why:
        return f"A group can have at most {cap} people. {why}"
    return f"A group can have at most {cap} people."


def _kind_violations(draft: GroupDraft) -> list[Violation]:
    if draft.kind is GroupKind.CONTACTS and draft.teammates:
        message = "A group of contacts can't include teammates. Start a teammates group instead."
    elif draft.kind is GroupKind.TEAMMATES and draft.contacts:
        message = "A group of teammates can't include contacts. Start a contacts group instead."
    elif draft.kind not in (GroupKind.CONTACTS, GroupKind.TEAMMATES):
        message = "Choose whether to message contacts or teammates."
    else:
        return []
    return [Violation(ViolationCode.WRONG_KIND, message)]


def _from_violations(number: PhoneNumber | None, user: User) -> list[Violation]:
    if number is None:
        return [
            Violation(
                ViolationCode.NO_FROM_NUMBER,
                "Choose a number to send from.",
                None,
                "No number to send from",
            )
        ]
    return from_number_violations(number, user)


def _members(draft: GroupDraft) -> list[_Member]:
    if draft.kind is GroupKind.TEAMMATES:
        return [_Member(u.id, u.display_name, u.phone) for u in draft.teammates]
    return [_Member(c.id, c.display_name, c.phone) for c in draft.contacts]


def _duplicates(members: Sequence[_Member]) -> tuple[list[Violation], int]:
    """Duplicate refusals, and how many distinct participants remain.

    Two members with the same number count once (the same person chosen twice,
    or two contacts sharing a phone); members without a valid number are
    counted by id, and their number problem is reported elsewhere.
    """
    first: dict[str, _Member] = {}
    found: list[Violation] = []
    for member in members:
        key = phones.normalize(member.phone) or f"id:{member.id}"
        earlier = first.setdefault(key, member)
        if earlier is member:
            continue
        found.append(_duplicate_violation(earlier, member, key))
    return found, len(first)


def _duplicate_violation(earlier: _Member, later: _Member, key: str) -> Violation:
    if earlier.id == later.id:
        message = f"{later.name} is chosen twice. Remove one of them."
    else:
        shown = phones.format_display(key)
        message = (
            f"{earlier.name} and {later.name} share the number {shown}, "
            "so they would count as one person. Keep only one of them."
        )
    return Violation(ViolationCode.DUPLICATE_NUMBER, message, later.id, "Duplicate number")


def _count_violations(count: int, carrier: GroupLimits) -> list[Violation]:
    low = limits.MIN_PARTICIPANTS
    high = min(carrier.max_participants, limits.MAX_PARTICIPANTS)
    if count < low:
        return [
            Violation(
                ViolationCode.TOO_FEW_PARTICIPANTS,
                f"A group needs at least {low} people; you have chosen {count}.",
                None,
                f"{count} of {low}–{high}",
            )
        ]
    if count > high:
        extra = count - high
        why = f" {carrier.why.strip()}" if high < limits.MAX_PARTICIPANTS and carrier.why else ""
        return [
            Violation(
                ViolationCode.TOO_MANY_PARTICIPANTS,
                f"A group can have at most {high} people; remove {extra}.{why}",
                None,
                f"{count} of {low}–{high}",
            )
        ]
    return []


# --- an existing conversation ------------------------------------------------------------------


def send_violations(
    conversation: Conversation, user: User, numbers: Iterable[PhoneNumber]
) -> list[Violation]:
    """Why the user can't send in this conversation now (empty when they can)."""
    found: list[Violation] = []
    blocked = _blocked_violation(conversation)
    if blocked is not None:
        found.append(blocked)
    access = _send_access_violation(conversation, user, numbers)
    if access is not None:
        found.append(access)
    return found


def _blocked_violation(conversation: Conversation) -> Violation | None:
    blockers = conversation.blocking_participants() or [
        p for p in conversation.participants if p.dnd
    ]
    if not conversation.blocked and not blockers:
        return None
    names = [p.current_name or p.name or phones.format_display(p.phone) for p in blockers]
    if not names:
        message = "Someone in this group turned on Do Not Disturb, so no one can send here."
        return Violation(ViolationCode.GROUP_BLOCKED, message, None, "Blocked")
    who = _join_names(names)
    them = "them" if len(names) == 1 else "those people"
    message = f"{who} turned on Do Not Disturb. Create a new group without {them}."
    subject = blockers[0].id if len(blockers) == 1 else None
    return Violation(ViolationCode.GROUP_BLOCKED, message, subject, "Blocked")


def _join_names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _send_access_violation(
    conversation: Conversation, user: User, numbers: Iterable[PhoneNumber]
) -> Violation | None:
    if user.is_admin or not conversation.from_number:
        return None
    wanted = phones.normalize(conversation.from_number) or conversation.from_number
    for number in numbers:
        same = (phones.normalize(number.phone_number) or number.phone_number) == wanted
        if same and may_use_number(number, user):
            return None
    return Violation(
        ViolationCode.FROM_NUMBER_ACCESS,
        "You can't send from this number. Ask an admin for access to "
        f"{phones.format_display(conversation.from_number)}.",
        conversation.from_number,
        "You can't send from this number",
    )


def can_view_conversation(
    conversation: Conversation, user: User, contacts_by_id: Mapping[str, Contact]
) -> bool:
    """Whether the user may see this conversation at all.

    A teammates group is visible to admins, its creator and its participants.
    A user limited to assigned data sees a conversation only when every contact
    in it is assigned to them; a contact missing from ``contacts_by_id`` (e.g.
    deleted) cannot be checked, and privacy wins.
    """
    if conversation.kind is GroupKind.TEAMMATES:
        return (
            user.is_admin
            or conversation.created_by == user.id
            or any(p.user_id == user.id for p in conversation.participants)
        )
    if not user.assigned_data_only:
        return True
    return sole_assignee(conversation, contacts_by_id) == user.id


def sole_assignee(conversation: Conversation, contacts_by_id: Mapping[str, Contact]) -> str | None:
    """The one user every contact of the conversation is assigned to: the only user
    limited to assigned data who may see it. None when its contacts are not all one
    user's, when it has none, or when one can't be checked (deleted)."""
    contact_ids = [p.contact_id for p in conversation.participants if p.contact_id]
    if conversation.type is ConversationType.PHONE and conversation.contact_id:
        contact_ids.append(conversation.contact_id)
    owners = {
        (c.assigned_to if c is not None else None) for c in map(contacts_by_id.get, contact_ids)
    }
    if len(owners) != 1:
        return None
    return owners.pop()


# --- attachments ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """What the rules need to know about a file about to be sent (after compression)."""

    name: str
    size: int
    mime: str = ""


_ALLOWED_MIMES = frozenset(limits.ALLOWED_ATTACHMENT_TYPES.values())
# Browsers and file pickers say this when they don't know; the extension decides then.
_GENERIC_MIMES = frozenset({"", "application/octet-stream"})


def attachment_allowed(info: AttachmentInfo) -> bool:
    """A type the carrier accepts, by name and by declared type."""
    suffix = PurePath(info.name).suffix.lower()
    if suffix not in limits.ALLOWED_ATTACHMENT_TYPES:
        return False
    mime = info.mime.split(";")[0].strip().lower()
    return mime in _GENERIC_MIMES or mime in _ALLOWED_MIMES


def attachment_violations(
    files: Sequence[AttachmentInfo], carrier: GroupLimits | None = None
) -> list[Violation]:
    """Everything about these files that can't go in one message (through ``carrier``)."""
    found: list[Violation] = []
    most_files = min((carrier or GroupLimits()).max_media_files, limits.MAX_ATTACHMENTS)
    most_bytes = min((carrier or GroupLimits()).max_media_bytes, limits.MAX_ATTACHMENT_TOTAL_BYTES)
    if len(files) > most_files:
        extra = len(files) - most_files
        found.append(
            Violation(
                ViolationCode.TOO_MANY_ATTACHMENTS,
                f"A message can carry at most {most_files} files; remove {extra}.",
                None,
                "Too many files",
            )
        )
    total = sum(max(f.size, 0) for f in files)
    if total > most_bytes:
        found.append(
            Violation(
                ViolationCode.ATTACHMENTS_TOO_LARGE,
                f"These files add up to {format_size(total)}; a message can carry at most "
                f"{format_size(most_bytes)}. Remove or shrink some.",
                None,
                "Too large",
            )
        )
    for info in files:
        if not attachment_allowed(info):
            found.append(
                Violation(
                    ViolationCode.ATTACHMENT_TYPE,
                    f"The file {info.name} can't be sent: "
                    "text messages don't accept this kind of file.",
                    info.name,
                    "File type not supported",
                )
            )
    return found


def format_size(size: int) -> str:
    """Sizes as people read them (MB meaning MiB, as the contract does)."""
    if size >= limits.MIB:
        return f"{size / limits.MIB:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{round(size / 1024)} KB"
    return f"{size} bytes"
