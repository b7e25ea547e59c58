"""Words and labels the screens show: times, date separators, sizes, initials.

Pure functions of their inputs (``now`` is passed in) so they are tested
without a clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta

# Stable avatar colours: a name always gets the same one, on every device.
# Dark enough that the white initials on them read at 4.5:1 (WCAG AA for text; checked
# in tests/app/test_contrast.py).
AVATAR_COLORS = (
    "#1565C0",
    "#2E7D32",
    "#C62828",
    "#6A1B9A",
    "#BF360C",
    "#00695C",
    "#283593",
    "#AD1457",
    "#4E342E",
    "#455A64",
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


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 picture", "3 files": a screen reader reads "1 attachment(s)" as written."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def attachments_words(names: Sequence[str]) -> str:
    """What a message carries, as said: "1 picture", "3 files", "2 pictures and 1 file"."""
    pictures = sum(1 for name in names if is_image_url(name))
    others = len(names) - pictures
    parts = [plural(pictures, "picture")] if pictures else []
    if others:
        parts.append(plural(others, "file"))
    return " and ".join(parts)


def sentences(*parts: str) -> str:
    """Parts read as sentences, in order: "Hi! Sam, 5:29 PM. Delivered" (empty parts drop
    out; a part that ends its own sentence gets no second full stop)."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out:
            out += " " if out[-1] in ".!?…" else ". "
        out += part
    return out
