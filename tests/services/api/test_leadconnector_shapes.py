"""services/api/leadconnector.py's readings of odd but documented values (docs/contract.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.api import MalformedResponseError, leadconnector
from services.models import Conversation, ConversationType, MessagesPage

WHAT = "GET /x"


@pytest.mark.parametrize(
    ("date_added", "expected"),
    [
        ("2024-03-27T18:13:49.000Z", datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)),
        ("2024-03-27T18:13:49", datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)),  # no zone: UTC
        ("2024-03-27T20:13:49+02:00", datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)),
        ("1711563229000", datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)),  # epoch ms
        (1711563229000, datetime(2024, 3, 27, 18, 13, 49, tzinfo=UTC)),
        ("yesterday", leadconnector.EPOCH),  # kept, dated at the epoch
        (None, leadconnector.EPOCH),
    ],
)
def test_message_dates_are_read_or_kept_at_the_epoch(date_added, expected):
    row = {"id": "m1", "dateAdded": date_added}
    page = MessagesPage.model_validate(leadconnector.messages_page({"messages": [row]}, "c1", WHAT))
    (message,) = page.messages
    assert message.date_added == expected
    assert message.conversation_id == "c1"  # the conversation asked for


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (5, ConversationType.GROUP_SMS),
        (5.0, ConversationType.GROUP_SMS),
        (1, ConversationType.PHONE),
        (5.5, ConversationType.UNKNOWN),
        (-1, ConversationType.UNKNOWN),
        (1e300, ConversationType.UNKNOWN),
        ("TYPE_GROUP_SMS", ConversationType.GROUP_SMS),
    ],
)
def test_conversation_types_are_read_from_numbers_or_names(kind, expected):
    data = leadconnector.conversation({"type": kind, "unreadCount": 2.7}, "c1", WHAT)
    conversation = Conversation.model_validate(data)
    assert conversation.type is expected
    assert conversation.id == "c1" and conversation.unread_count == 2


@pytest.mark.parametrize(("count", "expected"), [(-3, 0), (2.9, 2), (1e308, 2**31 - 1), ("7", 0)])
def test_counts_are_whole_and_never_negative(count, expected):
    page = leadconnector.conversation_page({"conversations": [], "total": count}, WHAT)
    assert page["total"] == expected


def test_an_answer_that_is_not_an_object_is_malformed():
    with pytest.raises(MalformedResponseError, match="not a JSON object"):
        leadconnector.conversation_page([], WHAT)
    with pytest.raises(MalformedResponseError, match="no 'uploadedFiles' object"):
        leadconnector.uploaded({"uploadedFiles": ["a"]}, WHAT)


def test_the_send_body_has_only_documented_fields():
    body = leadconnector.send_body("k1", "hi", [], None, "+15550001234")
    assert body == {"type": "SMS", "contactId": "k1", "message": "hi", "toNumber": "+15550001234"}


def test_a_group_upload_says_so_and_a_one_to_one_does_not():
    assert leadconnector.upload_fields("c", "k", "l", group=True)["isGroupSms"] == "true"
    assert "isGroupSms" not in leadconnector.upload_fields("c", "k", "l", group=False)
