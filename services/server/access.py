"""Who may see what: the rules module decides, this adapts it to stored rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import rules
from services.models import Conversation, User
from services.server.problems import ApiProblem, not_found

if TYPE_CHECKING:
    from services.server.core import MessagingServer


def may_view(server: MessagingServer, conversation: Conversation, user: User) -> bool:
    return rules.can_view_conversation(conversation, user, server.contacts_of(conversation))


def visible_conversation(server: MessagingServer, conversation_id: str, user: User) -> Conversation:
    """The conversation, or 404 when it does not exist or this user may not see it."""
    return _visible(server, server.conversation(conversation_id), user)


def conversation_to_send(server: MessagingServer, conversation_id: str, user: User) -> Conversation:
    """``visible_conversation`` for a send: without its activity (``MessagingServer.
    conversation_to_send``)."""
    return _visible(server, server.conversation_to_send(conversation_id), user)


def _visible(
    server: MessagingServer, conversation: Conversation | None, user: User
) -> Conversation:
    # The user's remembered answer (visibility.py), as their event streams have it.
    if conversation is None or not server.visibility(user).may_see(conversation):
        raise not_found("Conversation")
    return conversation


def refuse(violations: list[rules.Violation]) -> None:
    """Raise the contract's refusal for these violations (nothing when there are none)."""
    status = rules.status_for(violations)
    if status == 200:
        return
    sentences = [v.message for v in rules.deciding(violations)]
    message: str | list[str] = sentences if status == 422 else " ".join(sentences)
    raise ApiProblem(status, message)
