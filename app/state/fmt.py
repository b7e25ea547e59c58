"""Words and labels the screens show: times, date separators, sizes, initials.

Pure functions of their inputs (``now`` is passed in) so they are tested
without a clock.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

# Stable avatar colours: a name always gets the same one, on every device.
AVATAR_COLORS = (
    "#1E88E5",
    "#43A047",
    "#E53935",
    "#8E24AA",
    "#FB8C00",
    "#00897B",
    "#3949AB",
    "#D81B60",
    "#6D4C41",
    "#546E7A",
)


def local(dt: datetime) -> datetime:
    """A wire time (UTC) in the device's time zone."""
    return dt.astimezone() if dt.tzinfo else dt


def day_label(day: date, today: date) -> str:
    """Date separator text: Today, Yesterday, Mon, Nov 24 (with the year when not this year)."""
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return f"{day:%a}, {day:%b} {day.day}"
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


def clock(dt: datetime) -> str:
    """12-hour time without a leading zero: 9:05 AM."""
    hour = dt.hour % 12 or 12
    return f"{hour}:{dt:%M} {'AM' if dt.hour < 12 else 'PM'}"


def list_time(dt: datetime | None, now: datetime) -> str:
    """The time column of the conversation list: time today, weekday this week, else date."""
    if dt is None:
        return ""
    dt, now = local(dt), local(now)
    if dt.date() == now.date():
        return clock(dt)
    if dt.date() == now.date() - timedelta(days=1):
        return "Yesterday"
    if now.date() - dt.date() < timedelta(days=7):
        return f"{dt:%a}"
    if dt.year == now.year:
        return f"{dt:%b} {dt.day}"
    return f"{dt.month}/{dt.day}/{dt:%y}"


def initials(name: str) -> str:
    words = [w for w in name.replace(",", " ").split() if w[:1].isalnum()]
    if not words:
        return "#" if any(ch.isdigit() for ch in name) else "?"
    if words[0][0].isdigit() or words[0].startswith("+"):
        return "#"
    first = words[0][0]
    last = words[-1][0] if len(words) > 1 else ""
    return (first + last).upper()


def avatar_color(key: str) -> str:
    digest = hashlib.sha1(key.encode()).digest()
    return AVATAR_COLORS[digest[0] % len(AVATAR_COLORS)]


def file_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def file_name_from_url(url: str) -> str:
    """The file's own name from its URL, decoded ("my%20plan.pdf" → "my plan.pdf") and
    made safe to save (no folders, no control characters)."""
    from urllib.parse import unquote

    from services.attachments import safe_filename

    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return safe_filename(unquote(tail)) if tail else "attachment"


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".bmp")


def is_image_url(url: str) -> bool:
    return url.split("?", 1)[0].lower().endswith(IMAGE_SUFFIXES)


def counter_text(n: int, low: int, high: int) -> str:
    return f"{n} of {low}–{high} selected"
