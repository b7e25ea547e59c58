"""Users, business numbers and contacts."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from services import phones, rules
from services.models import Contact
from services.server import changes, clock, views
from services.server.bodies import ContactPatch, ContactSearch
from services.server.db import dumps
from services.server.problems import invalid, not_found
from services.server.web import Ctx, check_location, json_body, ok


async def me(request: Request, ctx: Ctx) -> Response:
    row = ctx.server.db.one("SELECT * FROM users WHERE id = ?", (ctx.user.id,))
    assert row is not None
    return ok(request, {"user": views.user(row)})


async def teammates(request: Request, ctx: Ctx) -> Response:
    location = check_location(ctx, request.query_params.get("locationId"))
    rows = ctx.server.db.all(
        "SELECT * FROM users WHERE location_id = ? ORDER BY first_name, last_name", (location,)
    )
    return ok(request, {"users": [views.user(row) for row in rows]})


async def numbers(request: Request, ctx: Ctx) -> Response:
    location = check_location(ctx, request.path_params["location_id"])
    rows = ctx.server.db.all(
        "SELECT * FROM numbers WHERE location_id = ? ORDER BY phone_number", (location,)
    )
    return ok(request, {"numbers": [views.number(row) for row in rows]})


async def search_contacts(request: Request, ctx: Ctx) -> Response:
    body = await json_body(request, ContactSearch)
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
    return ok(request, {"contacts": page, "total": found.total})


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


async def get_contact(request: Request, ctx: Ctx) -> Response:
    contact = _visible_contact(ctx, request.path_params["contact_id"])
    row = ctx.server.db.one("SELECT * FROM contacts WHERE id = ?", (contact.id,))
    assert row is not None
    return ok(request, {"contact": views.contact(row)})


async def update_contact(request: Request, ctx: Ctx) -> Response:
    contact = _visible_contact(ctx, request.path_params["contact_id"])
    body = await json_body(request, ContactPatch)
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
    return ok(request, {"contact": views.contact(row)})


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


async def delete_contact(request: Request, ctx: Ctx) -> Response:
    contact = _visible_contact(ctx, request.path_params["contact_id"])
    with ctx.server.write() as conn:
        conn.execute(
            "UPDATE contacts SET deleted = 1, date_updated = ? WHERE id = ?",
            (clock.iso(clock.now()), contact.id),
        )
        changes.contact_deleted(conn, ctx.server.db, contact.id)
    return ok(request, {"succeded": True})
