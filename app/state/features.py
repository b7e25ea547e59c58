"""What the app says when the backend lacks a feature (LeadConnector's public API).

The service layer raises UnsupportedFeatureError when asked anyway; the UI
checks ``client.supports_groups`` first and explains instead of trying.
"""

from __future__ import annotations

GROUPS_UNSUPPORTED = "This backend cannot create group chats."
GROUP_READ_ONLY = (
    "This backend cannot create group chats or send to them, so this group is read-only."
)
