"""Carrier and contract limits, in one place for the rules, attachments and backend."""

from __future__ import annotations

MIB = 1024 * 1024

MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 9

MAX_ATTACHMENTS = 10
# "5 MB" in the contract means MiB: 5,242,880 bytes per message (and per file).
MAX_ATTACHMENT_TOTAL_BYTES = 5 * MIB
# Keep media under this for reliable delivery on US/Canada long codes.
RELIABLE_MMS_BYTES = 500 * 1024
# What the simulated carrier delivers by default (AT&T/Verizon cut off near 1 MB).
CARRIER_MAX_MMS_BYTES = 1 * MIB

# LeadConnector's upload list without archives and scriptable formats.
ALLOWED_ATTACHMENT_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".mp4": "video/mp4",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
    ".3gp": "video/3gpp",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".aac": "audio/aac",
    ".m4a": "audio/mp4",
    ".amr": "audio/amr",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".vcf": "text/vcard",
    ".ics": "text/calendar",
}

# Word forms that opt a phone out (carrier practice), and back in.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "QUIT", "END", "REVOKE", "OPT OUT", "OPTOUT", "CANCEL", "UNSUBSCRIBE"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})

# Contract rate limit: requests per window per token.
RATE_LIMIT_REQUESTS = 100
RATE_LIMIT_WINDOW_MS = 10_000
