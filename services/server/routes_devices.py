"""The signed-in user's devices and what they are notified of: push registration, muted
threads and the one preference.

Muting is per user, so it is not a field of the conversation (whose wire object, built
once, goes to every viewer's stream): ``GET /me/notifications`` lists the muted ids.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.server import clock
from services.server.access import visible_conversation
from services.server.db import Row
from services.server.problems import not_found
from services.server.schemas import (
    DeletedAnswer,
    DeviceAnswer,
    DeviceRegister,
    DevicesAnswer,
    NotificationPrefsBody,
    NotificationSettingsOut,
)
from services.server.web import Context, Ctx

router = APIRouter(tags=["notifications"])
ConversationId = Annotated[str, Path(alias="conversationId", max_length=200)]


def _device(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "platform": row["platform"],
        "pushId": row["push_id"],
        "appVersion": row["app_version"],
        "createdAt": row["created_at"],
        "lastSeen": row["last_seen"],
    }


@router.post(
    "/devices",
    response_model=DeviceAnswer,
    summary="Register this device for push notifications (again: updated, same id)",
)
async def register_device(ctx: Context, body: DeviceRegister) -> dict[str, Any]:
    now = clock.iso(clock.now())
    with ctx.server.write() as conn:
        # One push id is one phone: signing in as someone else moves it to them.
        conn.execute(
            "INSERT INTO devices (id, user_id, platform, push_id, app_version, created_at,"
            " last_seen, token_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (push_id)"
            " DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform,"
            " app_version = excluded.app_version, last_seen = excluded.last_seen,"
            " token_id = excluded.token_id",
            (
                clock.new_id("dev"),
                ctx.user.id,
                body.platform,
                body.push_id,
                body.app_version,
                now,
                now,
                # A device hears only while the sign-in that registered it is good: a
                # revoked or expired token (a lost phone) silences it.
                ctx.signed.token_id if ctx.signed else None,
            ),
        )
    row = ctx.server.db.one("SELECT * FROM devices WHERE push_id = ?", (body.push_id,))
    assert row is not None
    return {"device": _device(row)}


@router.get("/devices", response_model=DevicesAnswer, summary="This user's devices")
async def list_devices(ctx: Context) -> dict[str, Any]:
    rows = ctx.server.db.all(
        "SELECT * FROM devices WHERE user_id = ? ORDER BY created_at, id", (ctx.user.id,)
    )
    return {"devices": [_device(row) for row in rows]}


@router.delete(
    "/devices/{deviceId}",
    response_model=DeletedAnswer,
    summary="Stop pushing to a device (signing out)",
)
async def delete_device(
    ctx: Context, device_id: Annotated[str, Path(alias="deviceId", max_length=200)]
) -> dict[str, Any]:
    with ctx.server.write() as conn:
        gone = conn.execute(
            "DELETE FROM devices WHERE id = ? AND user_id = ?", (device_id, ctx.user.id)
        ).rowcount
    if not gone:
        raise not_found("Device")
    return {"succeded": True}


def settings(ctx: Ctx) -> dict[str, Any]:
    db = ctx.server.db
    on = db.scalar(
        "SELECT push_staff_messages FROM notification_prefs WHERE user_id = ?", (ctx.user.id,)
    )
    muted = db.all(
        "SELECT conversation_id FROM muted_conversations WHERE user_id = ?"
        " ORDER BY conversation_id",
        (ctx.user.id,),
    )
    return {
        "pushStaffMessages": bool(on),
        "mutedConversationIds": [row[0] for row in muted],
    }


@router.get(
    "/me/notifications",
    response_model=NotificationSettingsOut,
    summary="What this user is notified of: muted threads, pushes for staff messages",
)
async def get_notification_settings(ctx: Context) -> dict[str, Any]:
    return settings(ctx)


@router.put(
    "/me/notifications",
    response_model=NotificationSettingsOut,
    summary="Turn pushes for messages other staff send on or off",
)
async def put_notification_settings(ctx: Context, body: NotificationPrefsBody) -> dict[str, Any]:
    with ctx.server.write() as conn:
        conn.execute(
            "INSERT INTO notification_prefs (user_id, push_staff_messages) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE"
            " SET push_staff_messages = excluded.push_staff_messages",
            (ctx.user.id, int(body.push_staff_messages)),
        )
    return settings(ctx)


@router.put(
    "/conversations/{conversationId:conversation}/mute",
    response_model=NotificationSettingsOut,
    summary="Mute a thread: no push, no sound (its unread still counts in the badge)",
)
async def mute_conversation(ctx: Context, conversation_id: ConversationId) -> dict[str, Any]:
    conversation = visible_conversation(ctx.server, conversation_id, ctx.user)
    with ctx.server.write() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO muted_conversations (user_id, conversation_id, muted_at)"
            " VALUES (?, ?, ?)",
            (ctx.user.id, conversation.id, clock.iso(clock.now())),
        )
        # Notifications already waiting for this thread are not sent either.
        conn.execute(
            "DELETE FROM push_jobs WHERE user_id = ? AND conversation_id = ? AND state = 'queued'",
            (ctx.user.id, conversation.id),
        )
    return settings(ctx)


@router.delete(
    "/conversations/{conversationId:conversation}/mute",
    response_model=NotificationSettingsOut,
    summary="Unmute a thread",
)
async def unmute_conversation(ctx: Context, conversation_id: ConversationId) -> dict[str, Any]:
    conversation = visible_conversation(ctx.server, conversation_id, ctx.user)
    with ctx.server.write() as conn:
        conn.execute(
            "DELETE FROM muted_conversations WHERE user_id = ? AND conversation_id = ?",
            (ctx.user.id, conversation.id),
        )
    return settings(ctx)
