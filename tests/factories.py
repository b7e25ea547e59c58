"""Example-data factories shared by every test: one place that knows a valid default.

Each ``make_*`` returns a model with sensible, valid defaults; keyword
arguments override any field (snake_case names). Numbers come from the
555-XXXX range, which phonenumbers accepts as valid US/Canada numbers
(see services/phones.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from services.models import (
    Capabilities,
    Contact,
    Conversation,
    ConversationType,
    DndChannel,
    DndSettings,
    DndStatus,
    GroupKind,
    Participant,
    Permissions,
    PhoneNumber,
    Roles,
    User,
    UserRole,
)

_ids = itertools.count(1)
# Participant numbers start at 555-1000, clear of the business lines (555-01XX).
_numbers = itertools.count(1000)


def next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


def _suffix(an_id: str) -> str:
    # Readable names ("Contact 7") keep ids and underscores out of user-facing text.
    return an_id.rsplit("_", 1)[-1]


def us_number(n: int, area: str = "415") -> str:
    """A valid E.164 number: ``us_number(123) == "+14155550123"`` (n wraps at 10,000)."""
    return f"+1{area}555{n % 10_000:04d}"


def make_user(
    *, role: str | UserRole = UserRole.USER, assigned_data_only: bool = False, **fields: Any
) -> User:
    uid = fields.pop("id", None) or next_id("user")
    values: dict[str, Any] = {
        "id": uid,
        "name": f"User {_suffix(uid)}",
        "phone": us_number(next(_numbers), "212"),
        "location_id": "loc_test",
        "roles": Roles(role=UserRole(role)),
        "permissions": Permissions(assigned_data_only=assigned_data_only),
    }
    values.update(fields)
    return User(**values)


def make_admin(**fields: Any) -> User:
    return make_user(role=UserRole.ADMIN, **fields)


def make_contact(*, dnd: str | DndStatus | None = None, **fields: Any) -> Contact:
    """A contact; ``dnd`` sets the SMS Do Not Disturb status ("active", "permanent", ...)."""
    cid = fields.pop("id", None) or next_id("contact")
    values: dict[str, Any] = {
        "id": cid,
        "location_id": "loc_test",
        "first_name": "Contact",
        "last_name": _suffix(cid),
        "phone": us_number(next(_numbers)),
    }
    if dnd is not None:
        values["dnd_settings"] = DndSettings(SMS=DndChannel(status=DndStatus(dnd)))
    values.update(fields)
    return Contact(**values)


def make_contacts(count: int, **fields: Any) -> list[Contact]:
    """``count`` contacts with distinct valid numbers."""
    return [make_contact(**fields) for _ in range(count)]


def make_number(
    phone_number: str = "+14155550100",
    *,
    sms: bool = True,
    mms: bool = True,
    group: bool = True,
    linked_user: str | None = None,
    ring_all: Sequence[str] = (),
    **fields: Any,
) -> PhoneNumber:
    """A business number; group-capable by default and linked to nobody."""
    return PhoneNumber(
        phone_number=phone_number,
        friendly_name=fields.pop("friendly_name", f"Line {phone_number[-4:]}"),
        capabilities=Capabilities(sms=sms, mms=mms, voice=True),
        is_group_conversation_enabled=group,
        linked_user=linked_user,
        linked_ring_all_users=list(ring_all),
        **fields,
    )


def make_participant(
    contact: Contact | None = None, user: User | None = None, **fields: Any
) -> Participant:
    """A participant captured from a contact or a teammate (or from fields alone)."""
    values: dict[str, Any] = {"id": next_id("part")}
    if contact is not None:
        values |= {
            "contact_id": contact.id,
            "name": contact.display_name,
            "phone": contact.phone or "",
        }
    if user is not None:
        values |= {"user_id": user.id, "name": user.display_name, "phone": user.phone or ""}
    values.update(fields)
    return Participant(**values)


def make_conversation(
    *,
    contacts: Sequence[Contact] = (),
    teammates: Sequence[User] = (),
    from_number: str = "+14155550100",
    **fields: Any,
) -> Conversation:
    """A group conversation whose participants are the given contacts or teammates."""
    participants = [make_participant(contact=c) for c in contacts]
    participants += [make_participant(user=u) for u in teammates]
    values: dict[str, Any] = {
        "id": next_id("conv"),
        "type": ConversationType.GROUP_SMS,
        "kind": GroupKind.TEAMMATES if teammates and not contacts else GroupKind.CONTACTS,
        "from_number": from_number,
        "participants": participants,
        "participant_count": len(participants),
    }
    values.update(fields)
    return Conversation(**values)
