"""A Twilio account in memory: Conversations, the 2010 numbers API and the media service.

Conversations and IncomingPhoneNumbers requests go through ``OpenApiMock`` with Twilio's
own documents (twilio_conversations_v1.json, twilio_api_v2010.json). The Media Content
Service (mcs.us1.twilio.com) is in no document, so its requests are checked here by hand
against Twilio's Media resource page: POST /v1/Services/{IS}/Media with HTTP Basic auth,
a Content-Type that is a MIME type and the raw bytes; GET …/Media/{ME} with Basic auth;
the pre-signed download link fetched without credentials.

Webhooks are built as Twilio sends them: form posts signed with the Auth Token by
``twilio.request_validator.RequestValidator.compute_signature`` (the algorithm Twilio uses).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from services.server.carriers.base import WebhookRequest
from tests.openapi_mock import Call, OpenApiMock
from tests.services.server.carriers.support import (
    Clock,
    Fault,
    Faults,
    Handler,
    HostRouter,
    answer_with,
    form_value,
    form_values,
    iso,
)
from tests.specs import spec_path

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "7f3c9a1e5b2d4c6e8a0f1b3d5c7e9a2b"
SERVICE_SID = "IS" + "fedcba9876543210" * 2
API = "conversations.twilio.com"
ACCOUNTS = "api.twilio.com"
MCS = "mcs.us1.twilio.com"
MEDIA_CDN = "media.us1.twilio.com"

ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_CONVERSATIONS_SERVICE_SID": SERVICE_SID,
}

_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@dataclass
class Media:
    sid: str
    content: bytes
    content_type: str


@dataclass
class Conversation:
    sid: str
    unique_name: str
    friendly_name: str | None
    attributes: str
    participants: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class FakeTwilio:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.token = AUTH_TOKEN
        self.service_sid = SERVICE_SID
        self.conversations: dict[str, Conversation] = {}
        self.media: dict[str, Media] = {}
        self.numbers: list[dict[str, Any]] = []
        self.numbers_page_cap = 2  # small pages, so the carrier must follow next_page_uri
        self.faults = Faults()
        self.hand_checked: list[str] = []  # MCS requests checked by hand, for the record
        self.mcs_problems: list[str] = []
        self._ids = itertools.count(1)
        self.mock = OpenApiMock(
            [
                spec_path("twilio_conversations_v1.json"),
                spec_path("twilio_api_v2010.json"),
            ],
            self.answer,
        )
        self.transport = HostRouter(
            {
                API: self.mock,
                ACCOUNTS: self.mock,
                MCS: Handler(self.mcs),
                MEDIA_CDN: Handler(self.cdn),
            }
        )

    def sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):032x}"

    def assert_clean(self) -> None:
        self.mock.assert_clean()
        assert not self.mcs_problems, self.mcs_problems

    # --- the REST APIs (spec-validated) --------------------------------------------------

    def answer(self, call: Call) -> httpx.Response:
        if not self._authorized(call.request):
            return _error(401, 20003, "Authenticate")
        if call.violations:  # as Prism does: a request the document forbids is refused
            return _error(400, 20001, str(call.violations[0]))
        operation = call.operation_id or ""
        fault = self.faults.take(operation)
        if fault is not None and fault.before is not None:
            raise fault.before
        if fault is not None and fault.status is not None:
            return httpx.Response(fault.status, json=fault.body, headers=dict(fault.headers))
        response = getattr(self, "_" + operation)(call)
        if fault is not None and fault.after is not None:
            raise fault.after
        return response

    def _authorized(self, request: httpx.Request) -> bool:
        return request.headers.get("authorization") == _basic(ACCOUNT_SID, self.token)

    def _FetchService(self, call: Call) -> httpx.Response:
        if call.path_params["Sid"] != self.service_sid:
            return _error(404, 20404, "The requested resource was not found")
        body = {
            "account_sid": ACCOUNT_SID,
            "sid": self.service_sid,
            "friendly_name": "Group Chat",
            "date_created": iso(self.clock.now),
            "date_updated": iso(self.clock.now),
            "url": f"https://{API}/v1/Services/{self.service_sid}",
            "links": {},
        }
        return answer_with(call, 200, body)

    def _CreateServiceConversationWithParticipants(self, call: Call) -> httpx.Response:
        self._same_service(call)
        unique = form_value(call, "UniqueName") or ""
        if any(c.unique_name == unique for c in self.conversations.values()):
            return _error(409, 50353, "Conversation with provided unique name already exists")
        bindings = [json.loads(p)["messaging_binding"] for p in form_values(call, "Participant")]
        if len(bindings) > 10:
            return _error(400, 50436, "Participant limit exceeded")
        if len(bindings) < 3 or sum("projected_address" in b for b in bindings) != 1:
            return _error(400, 50435, "Group MMS activation failed")
        conversation = Conversation(
            sid=self.sid("CH"),
            unique_name=unique,
            friendly_name=form_value(call, "FriendlyName"),
            attributes=form_value(call, "Attributes") or "{}",
        )
        for binding in bindings:
            conversation.participants.append(self._participant(conversation, binding))
        self.conversations[conversation.sid] = conversation
        return answer_with(call, 201, self._conversation_body(conversation))

    def _FetchServiceConversation(self, call: Call) -> httpx.Response:
        conversation = self._find(call.path_params["Sid"])
        if conversation is None:
            return _error(404, 20404, "The requested resource was not found")
        return answer_with(call, 200, self._conversation_body(conversation))

    def _ListServiceConversationParticipant(self, call: Call) -> httpx.Response:
        conversation = self._find(call.path_params["ConversationSid"])
        if conversation is None:
            return _error(404, 20404, "The requested resource was not found")
        body = {"participants": conversation.participants, "meta": self._meta(call, "participants")}
        return answer_with(call, 200, body)

    def _CreateServiceConversationMessage(self, call: Call) -> httpx.Response:
        conversation = self._find(call.path_params["ConversationSid"])
        if conversation is None:
            return _error(404, 20404, "The requested resource was not found")
        author = form_value(call, "Author")
        projected = [
            p["messaging_binding"].get("projected_address") for p in conversation.participants
        ]
        if author not in projected:
            return _error(400, 50513, "Author is not a participant")
        media_sid = form_value(call, "MediaSid")
        media = self.media.get(media_sid) if media_sid else None
        if media_sid and media is None:
            return _error(400, 50509, "Media not found")
        json.loads(form_value(call, "Attributes") or "{}")  # must be JSON
        message = {
            "account_sid": ACCOUNT_SID,
            "chat_service_sid": self.service_sid,
            "conversation_sid": conversation.sid,
            "sid": self.sid("IM"),
            "index": len(conversation.messages),
            "author": author,
            "body": form_value(call, "Body"),
            "media": (
                [{"sid": media.sid, "content_type": media.content_type, "size": len(media.content)}]
                if media
                else None
            ),
            "attributes": form_value(call, "Attributes") or "{}",
            "participant_sid": None,
            "date_created": iso(self.clock.now),
            "date_updated": iso(self.clock.now),
            "delivery": None,
            "url": f"https://{API}/v1/Services/{self.service_sid}/Conversations/{conversation.sid}",
            "links": {},
            "content_sid": None,
        }
        conversation.messages.append(message)
        return answer_with(call, 201, message)

    def _ListServiceConversationMessage(self, call: Call) -> httpx.Response:
        conversation = self._find(call.path_params["ConversationSid"])
        if conversation is None:
            return _error(404, 20404, "The requested resource was not found")
        params = call.request.url.params
        ordered = list(conversation.messages)
        if params.get("Order") == "desc":
            ordered.reverse()
        size = int(params.get("PageSize", "50"))
        page = int(params.get("Page", "0"))
        chunk = ordered[page * size : (page + 1) * size]
        more = (page + 1) * size < len(ordered)
        body = {"messages": chunk, "meta": self._meta(call, "messages", more=more, page=page)}
        return answer_with(call, 200, body)

    def _ListIncomingPhoneNumber(self, call: Call) -> httpx.Response:
        if call.path_params["AccountSid"] != ACCOUNT_SID:
            return _error(404, 20404, "The requested resource was not found")
        params = call.request.url.params
        size = min(int(params.get("PageSize", "50")), self.numbers_page_cap)
        page = int(params.get("Page", "0"))
        chunk = self.numbers[page * size : (page + 1) * size]
        base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"
        more = (page + 1) * size < len(self.numbers)
        body = {
            "end": page * size + len(chunk) - 1,
            "first_page_uri": f"{base}?PageSize={size}&Page=0",
            "next_page_uri": f"{base}?PageSize={size}&Page={page + 1}&PageToken=PA{page + 1}"
            if more
            else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": None,
            "start": page * size,
            "uri": f"{base}?PageSize={size}&Page={page}",
            "incoming_phone_numbers": chunk,
        }
        return answer_with(call, 200, body)

    def add_number(self, number: str, *, sms: bool, mms: bool, voice: bool, name: str) -> None:
        self.numbers.append(
            {
                "account_sid": ACCOUNT_SID,
                "sid": self.sid("PN"),
                "phone_number": number,
                "friendly_name": name,
                "capabilities": {"sms": sms, "mms": mms, "voice": voice, "fax": False},
                "status": "in-use",
            }
        )

    # --- the Media Content Service (checked by hand) -------------------------------------

    def mcs(self, request: httpx.Request) -> httpx.Response:
        self.hand_checked.append(f"{request.method} {request.url.path}")
        if request.headers.get("authorization") != _basic(ACCOUNT_SID, self.token):
            self.mcs_problems.append(f"{request.method} {request.url.path}: no Basic auth")
            return _error(401, 20003, "Authenticate")
        prefix = f"/v1/Services/{self.service_sid}/Media"
        if request.method == "POST" and request.url.path == prefix:
            content_type = request.headers.get("content-type", "")
            if not _MIME.match(content_type):
                self.mcs_problems.append(f"upload Content-Type {content_type!r} is not a MIME type")
            if not request.content:
                self.mcs_problems.append("upload without bytes")
            if request.url.query:
                self.mcs_problems.append("upload with a query string")
            media = Media(self.sid("ME"), request.content, content_type)
            self.media[media.sid] = media
            return httpx.Response(201, json=self._media_body(media))
        if request.method == "GET" and request.url.path.startswith(prefix + "/"):
            media = self.media.get(request.url.path.rsplit("/", 1)[-1])
            if media is None:
                return _error(404, 20404, "The requested resource was not found")
            return httpx.Response(200, json=self._media_body(media))
        self.mcs_problems.append(f"{request.method} {request.url.path}: not a Media operation")
        return _error(404, 20404, "The requested resource was not found")

    def cdn(self, request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            self.mcs_problems.append("credentials sent to the pre-signed download link")
        media = self.media.get(request.url.path.strip("/"))
        if media is None or request.url.params.get("Signature") != "sig":
            return httpx.Response(403)
        return httpx.Response(
            200, content=media.content, headers={"Content-Type": media.content_type}
        )

    def _media_body(self, media: Media) -> dict[str, Any]:
        path = f"/v1/Services/{self.service_sid}/Media/{media.sid}"
        return {
            "sid": media.sid,
            "account_sid": ACCOUNT_SID,
            "service_sid": self.service_sid,
            "date_created": iso(self.clock.now),
            "size": len(media.content),
            "content_type": media.content_type,
            "filename": None,
            "author": "system",
            "category": "media",
            "channel_sid": None,
            "message_sid": None,
            "url": f"https://{MCS}{path}",
            "links": {
                "content": f"{path}/Content",
                "content_direct_temporary": (
                    f"https://{MEDIA_CDN}/{media.sid}?Expires=1&Signature=sig&Key-Pair-Id=K"
                ),
            },
        }

    # --- webhooks, signed as Twilio signs them ---------------------------------------------

    def webhook(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        received_at: datetime | None = None,
        token: str | None = None,
        idempotency: str | None = "auto",
    ) -> WebhookRequest:
        url = "https://chat.example.com" + path
        signature = RequestValidator(token or self.token).compute_signature(url, dict(params))
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        }
        if idempotency == "auto":
            idempotency = "idem-" + self.sid("")
        if idempotency:
            headers["i-twilio-idempotency-token"] = idempotency
        return WebhookRequest(
            url=url,
            headers=headers,
            body=urlencode(params).encode(),
            received_at=received_at or self.clock.now,
        )

    def message_added(
        self,
        conversation_sid: str,
        author: str,
        body: str,
        *,
        media: list[dict[str, Any]] | None = None,
        created: datetime | None = None,
    ) -> dict[str, str]:
        conversation = self.conversations[conversation_sid]
        participant = next(
            p["sid"]
            for p in conversation.participants
            if p["messaging_binding"].get("address") == author
        )
        return {
            "AccountSid": ACCOUNT_SID,
            "ChatServiceSid": self.service_sid,
            "ConversationSid": conversation_sid,
            "EventType": "onMessageAdded",
            "MessageSid": self.sid("IM"),
            "Index": str(len(conversation.messages)),
            "Body": body,
            "Author": author,
            "ParticipantSid": participant,
            "Attributes": "{}",
            "DateCreated": iso(created or self.clock.now),
            "Media": json.dumps(media) if media else "",
            "Source": "SMS",
            "RetryCount": "0",
        }

    def delivery_updated(
        self,
        conversation_sid: str,
        message_sid: str,
        participant_sid: str,
        status: str,
        error: int = 0,
    ) -> dict[str, str]:
        return {
            "AccountSid": ACCOUNT_SID,
            "ChatServiceSid": self.service_sid,
            "ConversationSid": conversation_sid,
            "EventType": "onDeliveryUpdated",
            "MessageSid": message_sid,
            "DeliveryReceiptSid": self.sid("DY"),
            "ChannelMessageSid": self.sid("MM"),
            "ParticipantSid": participant_sid,
            "Status": status,
            "ErrorCode": str(error),
            "DateCreated": iso(self.clock.now),
            "DateUpdated": iso(self.clock.now),
            "RetryCount": "0",
        }

    # --- helpers -----------------------------------------------------------------------

    def _same_service(self, call: Call) -> None:
        assert call.path_params.get("ChatServiceSid") == self.service_sid

    def _find(self, sid_or_name: str) -> Conversation | None:
        found = self.conversations.get(sid_or_name)
        if found is not None:
            return found
        return next((c for c in self.conversations.values() if c.unique_name == sid_or_name), None)

    def _participant(self, conversation: Conversation, binding: dict[str, str]) -> dict[str, Any]:
        return {
            "account_sid": ACCOUNT_SID,
            "chat_service_sid": self.service_sid,
            "conversation_sid": conversation.sid,
            "sid": self.sid("MB"),
            "identity": None,
            "attributes": "{}",
            "messaging_binding": {"type": "sms", **binding},
            "role_sid": None,
            "date_created": iso(self.clock.now),
            "date_updated": iso(self.clock.now),
            "url": f"https://{API}/v1/Services/{self.service_sid}/Conversations/{conversation.sid}",
            "last_read_message_index": None,
            "last_read_timestamp": None,
        }

    def _conversation_body(self, conversation: Conversation) -> dict[str, Any]:
        return {
            "account_sid": ACCOUNT_SID,
            "chat_service_sid": self.service_sid,
            "messaging_service_sid": "MG" + "ab" * 16,
            "sid": conversation.sid,
            "friendly_name": conversation.friendly_name,
            "unique_name": conversation.unique_name,
            "attributes": conversation.attributes,
            "state": "active",
            "date_created": iso(self.clock.now),
            "date_updated": iso(self.clock.now),
            "timers": {},
            "url": f"https://{API}/v1/Services/{self.service_sid}/Conversations/{conversation.sid}",
            "links": {},
            "bindings": None,
        }

    def _meta(self, call: Call, key: str, *, more: bool = False, page: int = 0) -> dict[str, Any]:
        url = call.request.url.copy_with(params=None)
        size = int(call.request.url.params.get("PageSize", "50"))
        next_url = str(url.copy_merge_params({"PageSize": size, "Page": page + 1, "Order": "desc"}))
        return {
            "first_page_url": str(url),
            "key": key,
            "next_page_url": next_url if more else None,
            "page": page,
            "page_size": size,
            "previous_page_url": None,
            "url": str(call.request.url),
        }


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def fault_error(status: int, code: int, message: str) -> Fault:
    return Fault(
        status=status,
        body={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
