"""Users, business numbers and contacts."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query

from services import phones, rules
from services.models import Contact
from services.server import changes, clock, people, views
from services.server.db import dumps
from services.server.problems import ApiProblem, invalid, not_found
from services.server.schemas import (
    ContactAnswer,
    ContactCreate,
    ContactPatch,
    ContactsAnswer,
    ContactSearch,
    DeletedAnswer,
    NumbersAnswer,
    UserAnswer,
    UsersAnswer,
)
from services.server.web import Context, Ctx, check_location

router = APIRouter()
LocationQuery = Annotated[str | None, Query(alias="locationId", max_length=200)]
ContactId = Annotated[str, Path(alias="contactId", max_length=200)]


@router.get("/users/me", response_model=UserAnswer, summary="The signed-in user", tags=["people"])
async def me(ctx: Context) -> dict[str, Any]:
    row = ctx.server.db.one("SELECT * FROM users WHERE id = ?", (ctx.user.id,))
    assert row is not None
    return {"user": views.user(row)}


@router.get(
    "/users/", response_model=UsersAnswer, summary="Teammates of a location", tags=["people"]
)
@router.get("/users", response_model=UsersAnswer, include_in_schema=False)
async def teammates(ctx: Context, location_id: LocationQuery = None) -> dict[str, Any]:
    location = check_location(ctx, location_id)
    rows = ctx.server.db.all(
        "SELECT * FROM users WHERE location_id = ? AND disabled = 0 ORDER BY first_name, last_name",
        (location,),
    )
    return {"users": [views.user(row) for row in rows]}


@router.get(
    "/phone-system/numbers/location/{locationId}",
    response_model=NumbersAnswer,
    summary="Business numbers, each with the carrier's group limits",
    tags=["people"],
)
async def numbers(
    ctx: Context, location_id: Annotated[str, Path(alias="locationId", max_length=200)]
) -> dict[str, Any]:
    location = check_location(ctx, location_id)
    rows = ctx.server.db.all(
        "SELECT * FROM numbers WHERE location_id = ? ORDER BY phone_number", (location,)
    )
    limits = ctx.server.carrier.limits
    return {"numbers": [views.number(row, limits) for row in rows]}


@router.post(
    "/contacts/search", response_model=ContactsAnswer, summary="Search contacts", tags=["people"]
)
async def search_contacts(ctx: Context, body: ContactSearch) -> dict[str, Any]:
    location = check_location(ctx, body.location_id)
    # rules.visible_contacts: a user limited to assigned data sees only contacts assigned to them.
    owner = ctx.user.id if ctx.user.assigned_data_only else None
    search = ctx.server.contact_search
    # Building takes most of a second at 50,000 contacts: off the event loop, which in the
    # embedded demo is also the app's UI loop.
    index = search.built(location)
    if index is None:  # (an empty index is falsy: test for None)
        index = await anyio.to_thread.run_sync(search.index, location)
    found = index.search(
        body.query, limit=body.page_limit, after=_after_key(body.search_after), owner=owner
    )
    rows = _rows_by_id(ctx, found.ids)
    page = []
    for contact_id, key in zip(found.ids, found.keys, strict=True):
        wire = views.contact(rows[contact_id])
        wire["searchAfter"] = list(key)
        page.append(wire)
    return {"contacts": page, "total": found.total}


def _rows_by_id(ctx: Ctx, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = ctx.server.db.all(f"SELECT * FROM contacts WHERE id IN ({marks})", ids)
    return {row["id"]: row for row in rows}


def _after_key(value: list[str | int] | None) -> tuple[str, str] | None:
    if value is None:
        return None
    if len(value) != 2 or not all(isinstance(part, str) for part in value):
        raise invalid(["Field 'searchAfter' must be the value of the last contact of a page."])
    return (str(value[0]), str(value[1]))


def _visible_contact(ctx: Ctx, contact_id: str) -> Contact:
    contact = ctx.server.contact(contact_id)
    if contact is None or not rules.visible_contacts([contact], ctx.user):
        raise not_found("Contact")
    return contact


@router.post(
    "/contacts",
    response_model=ContactAnswer,
    status_code=201,
    summary="Add a contact (assigned to its maker when they see only their own)",
    tags=["people"],
)
async def create_contact(ctx: Context, body: ContactCreate) -> dict[str, Any]:
    location = check_location(ctx, body.location_id)
    # rules.visible_contacts: someone limited to assigned data must be able to see it.
    owner = ctx.user.id if ctx.user.assigned_data_only else body.assigned_to
    if (
        owner is not None
        and ctx.server.db.one(
            "SELECT 1 FROM users WHERE id = ? AND location_id = ?", (owner, location)
        )
        is None
    ):
        raise invalid([f"There is no teammate with id {owner}."])
    if body.email and "@" not in body.email:
        raise invalid([f"{body.email} is not an email address."])
    new = people.NewContact(
        location_id=location,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        email=body.email,
        assigned_to=owner,
    )
    try:
        with ctx.server.write() as conn:
            contact_id = people.create_contact(conn, ctx.server.db, new)
    except people.ContactRefused as refused:
        raise ApiProblem(refused.status, refused.message) from None
    row = ctx.server.db.one("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    assert row is not None
    return {"contact": views.contact(row)}


@router.get(
    "/contacts/{contactId:contact}",
    response_model=ContactAnswer,
    summary="One contact",
    tags=["people"],
)
async def get_contact(ctx: Context, contact_id: ContactId) -> dict[str, Any]:
    contact = _visible_contact(ctx, contact_id)
    row = ctx.server.db.one("SELECT * FROM contacts WHERE id = ?", (contact.id,))
    assert row is not None
    return {"contact": views.contact(row)}


@router.patch(
    "/contacts/{contactId:contact}",
    response_model=ContactAnswer,
    summary="Edit a contact (only the fields given)",
    tags=["people"],
)
@router.put(
    "/contacts/{contactId:contact}",
    response_model=ContactAnswer,
    summary="Edit a contact (LeadConnector's verb)",
    tags=["people"],
    name="replace_contact",
)
async def update_contact(ctx: Context, contact_id: ContactId, body: ContactPatch) -> dict[str, Any]:
    contact = _visible_contact(ctx, contact_id)
    fields = _patch_columns(ctx, body)
    server = ctx.server
    with server.write() as conn:
        before = conn.execute(
            "SELECT dnd_status FROM contacts WHERE id = ?", (contact.id,)
        ).fetchone()
        if fields:
            assignments = ", ".join(f"{column} = ?" for column in fields)
            conn.execute(
                f"UPDATE contacts SET {assignments}, date_updated = ? WHERE id = ?",
                (*fields.values(), clock.iso(clock.now()), contact.id),
            )
        dnd_changed = "dnd_status" in fields and fields["dnd_status"] != before["dnd_status"]
        changes.contact_updated(conn, server.db, contact.id, dnd_changed=dnd_changed)
    row = server.db.one("SELECT * FROM contacts WHERE id = ?", (contact.id,))
    assert row is not None
    return {"contact": views.contact(row)}


def _patch_columns(ctx: Ctx, body: ContactPatch) -> dict[str, Any]:
    """Only the fields the request named, validated, as column values."""
    given = body.model_fields_set
    columns: dict[str, Any] = {}
    problems: list[str] = []
    for field, column in (("first_name", "first_name"), ("last_name", "last_name")):
        if field in given:
            columns[column] = (getattr(body, field) or "").strip() or None
    if "email" in given:
        columns["email"] = (body.email or "").strip() or None
    if "phone" in given:
        raw = (body.phone or "").strip()
        normal = phones.normalize(raw) if raw else None
        if raw and normal is None:
            problems.append(f"{raw} is not a valid phone number.")
        columns["phone"] = normal
    if "assigned_to" in given:
        user_id = body.assigned_to or None
        known = ctx.server.db.one(
            "SELECT id FROM users WHERE id = ? AND location_id = ?",
            (user_id, ctx.user.location_id),
        )
        if user_id is not None and known is None:
            problems.append(f"There is no teammate with id {user_id}.")
        columns["assigned_to"] = user_id
    if "dnd_settings" in given and body.dnd_settings is not None and body.dnd_settings.SMS:
        columns["dnd_status"] = body.dnd_settings.SMS.status
    if "tags" in given:
        columns["tags"] = dumps(body.tags or [])
    if problems:
        raise invalid(problems)
    return columns


@router.delete(
    "/contacts/{contactId:contact}",
    response_model=DeletedAnswer,
    summary="Delete a contact",
    tags=["people"],
)
async def delete_contact(ctx: Context, contact_id: ContactId) -> dict[str, Any]:
    contact = _visible_contact(ctx, contact_id)
    with ctx.server.write() as conn:
        conn.execute(
            "UPDATE contacts SET deleted = 1, date_updated = ? WHERE id = ?",
            (clock.iso(clock.now()), contact.id),
        )
        changes.contact_deleted(conn, ctx.server.db, contact.id)
    return {"succeded": True}
