"""Who may see which event, decided once per user and conversation and then remembered.

``services/rules.py`` decides (as for the conversation list); this keeps its answers
so an event is not checked again for every stream it may go to. The answers are
dropped whenever who may see what may have changed: a contact reassigned or deleted
(the hub's access epoch moves with those events) or a change made by another process
(the admin command changing a user's permissions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import rules
from services.models import Conversation, User
from services.server import access
from services.server.events import StoredEvent
from services.server.sse import deflated

if TYPE_CHECKING:
    from services.server.core import MessagingServer

# The chunks kept, one per (first event, last event): a commit that lands while a flush is
# waking a user's streams moves the head for those woken after it, and from then on their
# streams sit at two or three cursors, taking turns; with one chunk kept each turn built
# it again (a quarter of the server's fan-out work with 500 streams, issue 19).
CHUNKS_KEPT = 8


class Visibility:
    def __init__(self, server: MessagingServer, user: User) -> None:
        self._server = server
        self.user = user
        self.epoch = server.hub.access_epoch
        self._conversations: dict[str, bool] = {}
        self._contacts: dict[str, bool] = {}
        self._chunks: dict[tuple[int, int, str, bool, int], bytes] = {}

    def chunk(self, stored: list[StoredEvent], base: str, gzip: bool = False) -> bytes:
        """The wire bytes of the events among ``stored`` this user may see. The user's
        streams (a phone, a desktop) are woken by the same flush, at one cursor or a few
        (``CHUNKS_KEPT``): the first to ask for a range builds it, the others get it as is."""
        key = (stored[0].seq, stored[-1].seq, base, gzip, self._server.hub.access_epoch)
        found = self._chunks.get(key)
        if found is None:
            if len(self._chunks) >= CHUNKS_KEPT:
                self._chunks.clear()  # the streams have moved on: older ranges are not asked again
            found = _joined([event for event in stored if self.allows(event)], base, gzip)
            self._chunks[key] = found
        return found

    def allows(self, event: StoredEvent) -> bool:
        self._current()
        if event.conversation_id is not None:
            return self._conversation(event.conversation_id)
        if event.contact_id is not None:
            return self._contact(event.contact_id)
        return True

    def may_see(self, conversation: Conversation) -> bool:
        """The remembered answer for a conversation a route has loaded (every send asks).
        Current without reading the log: a contact changed here moves the epoch at once."""
        self._current()
        return self._conversation(conversation.id, conversation)

    def _current(self) -> None:
        if self.epoch != self._server.hub.access_epoch:
            self.epoch = self._server.hub.access_epoch
            self._conversations.clear()
            self._contacts.clear()

    def _conversation(self, conversation_id: str, loaded: Conversation | None = None) -> bool:
        known = self._conversations.get(conversation_id)
        if known is None:
            conversation = loaded or self._server.conversation(conversation_id)
            known = conversation is not None and access.may_view(
                self._server, conversation, self.user
            )
            self._conversations[conversation_id] = known
        return known

    def _contact(self, contact_id: str) -> bool:
        known = self._contacts.get(contact_id)
        if known is None:
            contact = self._server.contact(contact_id, include_deleted=True)
            known = contact is not None and bool(rules.visible_contacts([contact], self.user))
            self._contacts[contact_id] = known
        return known


# A burst's events deflated together: the fastest level still finds what they repeat (keys,
# ids, the conversation's own words), 37 B an event against 287 B deflated one by one,
# and in a tenth of the time (300 sends: 0.3 ms against 4.3 ms). Bytes are what fan-out
# costs at 500 streams (issue 19); a phone's data plan pays them too.
TOGETHER_LEVEL = 1


def _joined(events: list[StoredEvent], base: str, gzip: bool) -> bytes:
    """The events' frames as one chunk: one event's are shared by every stream as built,
    several are deflated together (still a run that refers to nothing before it)."""
    if gzip and len(events) > 1:
        return deflated(b"".join(event.frame(base) for event in events), TOGETHER_LEVEL)
    return b"".join(event.frame(base, gzip) for event in events)
