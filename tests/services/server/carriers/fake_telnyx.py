"""A Telnyx account in memory: group MMS, MDRs, messaging numbers and the profile.

Every REST request goes through ``OpenApiMock`` with Telnyx's own document
(telnyx_spec3.json, loaded once per test session). Webhook fixtures are built in the
documented envelope and checked against the document's own webhook schemas
(``InboundMessageEvent``, ``OutboundMessageEvent``), then signed as Telnyx signs them:
Ed25519 over ``"{timestamp}|{body}"``, with a key pair made for the tests.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.server.carriers.base import WebhookRequest
from tests.openapi_mock import (
    Call,
    NamedException,
    OpenApiMock,
    json_schema,
    load_document,
    schema_errors,
)
from tests.services.server.carriers.support import (
    PUBLIC_URL,
    Clock,
    Faults,
    Handler,
    HostRouter,
    answer_with,
    iso,
)
from tests.specs import spec_path

API_KEY = "KEY0190A7C3E5B2F4D6_x9Qv2LrT8mN1pZ4sW7yK"
PROFILE_ID = "16fd2706-8baf-433b-82eb-8c7fada847da"
ORGANIZATION = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
API = "api.telnyx.com"
MEDIA_HOST = "media.example.net"
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC_KEY_B64 = base64.b64encode(
    SIGNING_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()

ENV = {
    "TELNYX_API_KEY": API_KEY,
    "TELNYX_PUBLIC_KEY": PUBLIC_KEY_B64,
    "TELNYX_MESSAGING_PROFILE_ID": PROFILE_ID,
}


# The document declares ``page`` as one deepObject query parameter (sent as page[number]
# and page[size]); the mock checks query names literally, so it counts these two as
# undeclared. They are excused here and their values checked by hand in the fake.
PAGE_PARAMETERS = tuple(
    NamedException(
        name=f"deepObject page[{part}]",
        operation="ListPhoneNumbersWithMessagingSettings",
        where=f"query page[{part}]",
        problem="not declared",
        reason="declared as the deepObject parameter `page`, which the mock reads literally",
    )
    for part in ("number", "size")
)


@dataclass
class Sent:
    data: dict[str, Any]
    created: datetime


class FakeTelnyx:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.api_key = API_KEY
        self.profile: dict[str, Any] = {
            "record_type": "messaging_profile",
            "id": PROFILE_ID,
            "name": "Group chat",
            "enabled": True,
            "webhook_url": PUBLIC_URL + "/webhooks/telnyx",
            "webhook_api_version": "2",
        }
        self.sent: list[Sent] = []
        self.blocked: set[str] = set()  # numbers that texted STOP to the profile
        self.numbers: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.hand_problems: list[str] = []
        self.faults = Faults()
        self._ids = itertools.count(1)
        self.mock = OpenApiMock(
            [spec_path("telnyx_spec3.json")], self.answer, exceptions=PAGE_PARAMETERS
        )
        self.transport = HostRouter({API: self.mock, MEDIA_HOST: Handler(self.download)})

    def uuid(self) -> str:
        return str(uuid.UUID(int=next(self._ids)))

    def assert_clean(self) -> None:
        self.mock.assert_clean()
        assert not self.hand_problems, self.hand_problems

    # --- the REST API (spec-validated) ---------------------------------------------------

    def answer(self, call: Call) -> httpx.Response:
        if call.request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _errors(401, "10009", "Authentication failed", "Could not understand the key.")
        broken = [v for v in call.violations if not any(e.covers(v) for e in PAGE_PARAMETERS)]
        if broken:  # as Prism does: a request the document forbids is refused
            return _errors(422, "10015", "Bad Request", str(broken[0]))
        fault = self.faults.take(call.operation_id or "")
        if fault is not None and fault.before is not None:
            raise fault.before
        if fault is not None and fault.status is not None:
            return httpx.Response(fault.status, json=fault.body, headers=dict(fault.headers))
        response = getattr(self, "_" + (call.operation_id or ""))(call)
        if fault is not None and fault.after is not None:
            raise fault.after
        return response

    def _RetrieveMessagingProfile(self, call: Call) -> httpx.Response:
        if call.path_params["id"] != PROFILE_ID:
            return _errors(404, "10005", "Resource not found", "The profile does not exist.")
        return answer_with(call, 200, {"data": self.profile})

    def _CreateGroupMmsMessage(self, call: Call) -> httpx.Response:
        body = call.json()
        sender, to = body["from"], body["to"]
        if len(to) > 8:
            return _errors(400, "10015", "Bad Request", "No more than 8 destinations.")
        for number in to:
            if number in self.blocked:
                return _errors(
                    400,
                    "40300",
                    "Blocked due to STOP message",
                    f"Messages cannot be sent from '{sender}' to '{number}' due to an existing "
                    "block rule.",
                )
        data = {
            "record_type": "message",
            "direction": "outbound",
            "id": self.uuid(),
            "type": "MMS",
            "messaging_profile_id": PROFILE_ID,
            "organization_id": ORGANIZATION,
            "from": {"phone_number": sender, "carrier": "Telnyx", "line_type": "VoIP"},
            "to": [
                {
                    "phone_number": n,
                    "status": "queued",
                    "carrier": "T-Mobile USA",
                    "line_type": "Wireless",
                }
                for n in to
            ],
            "cc": [],
            "text": body.get("text", ""),
            "subject": None,
            "media": [
                {"url": url, "content_type": None, "sha256": None, "size": None}
                for url in body.get("media_urls", [])
            ],
            "webhook_url": body.get("webhook_url"),
            "webhook_failover_url": None,
            "encoding": "GSM-7",
            "parts": 1,
            "tags": [],
            "cost": None,
            "received_at": iso(self.clock.now),
            "sent_at": None,
            "completed_at": None,
            "valid_until": iso(self.clock.now),
            "errors": [],
        }
        self.sent.append(Sent(data, self.clock.now))
        return answer_with(call, 200, {"data": data})

    def _GetMessage(self, call: Call) -> httpx.Response:
        found = next((s for s in self.sent if s.data["id"] == call.path_params["id"]), None)
        if found is None:
            return _errors(404, "10005", "Resource not found", "No such message.")
        return answer_with(call, 200, {"data": found.data})

    def _GetPaginatedMdrs(self, call: Call) -> httpx.Response:
        q = call.request.url.params
        since = (
            datetime.fromisoformat(q["start_date"].replace("Z", "+00:00"))
            if "start_date" in q
            else None
        )
        records = []
        for sent in self.sent:
            if since is not None and sent.created < since:
                continue
            if q.get("cli") not in (None, sent.data["from"]["phone_number"]):
                continue
            for recipient in sent.data["to"]:
                if q.get("cld") not in (None, recipient["phone_number"]):
                    continue
                records.append(
                    {
                        "created_at": iso(sent.created),
                        "profile_name": "Group chat",
                        "direction": "outbound",
                        "parts": 1,
                        "status": "DELIVERED",
                        "cld": recipient["phone_number"],
                        "cli": sent.data["from"]["phone_number"],
                        "rate": "0.0200",
                        "cost": "0.0200",
                        "currency": "USD",
                        "id": sent.data["id"],
                        "message_type": "MMS",
                        "record_type": "mdr",
                    }
                )
        meta = {"total_pages": 1, "total_results": len(records), "page_number": 1, "page_size": 20}
        return answer_with(call, 200, {"data": records, "meta": meta})

    def _ListPhoneNumbersWithMessagingSettings(self, call: Call) -> httpx.Response:
        q = call.request.url.params
        size = int(q.get("page[size]", "20"))
        page = int(q.get("page[number]", "1"))
        if not (1 <= size <= 250 and page >= 1):  # the schema of `page`, checked by hand
            self.hand_problems.append(f"page[size]={size} page[number]={page} out of range")
        mine = [
            n
            for n in self.numbers
            if n["messaging_profile_id"] == q.get("filter[messaging_profile_id]")
        ]
        chunk = mine[(page - 1) * size : page * size]
        pages = max(1, -(-len(mine) // size))
        meta = {
            "total_pages": pages,
            "total_results": len(mine),
            "page_number": page,
            "page_size": size,
        }
        return answer_with(call, 200, {"data": chunk, "meta": meta})

    def add_number(self, number: str, *, kind: str, sms: bool, mms: bool) -> None:
        feature = {
            "domestic_two_way": True,
            "international_inbound": False,
            "international_outbound": False,
        }
        self.numbers.append(
            {
                "record_type": "messaging_settings",
                "id": str(next(self._ids)),
                "phone_number": number,
                "messaging_profile_id": PROFILE_ID,
                "country_code": "US",
                "type": kind,
                "features": {"sms": feature if sms else None, "mms": feature if mms else None},
            }
        )

    # --- inbound media host -----------------------------------------------------------

    def download(self, request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            self.hand_problems.append("the API key was sent to the media host")
        found = self.media.get(str(request.url))
        if found is None:
            return httpx.Response(404)
        content, mime = found
        return httpx.Response(200, content=content, headers={"Content-Type": mime})

    # --- webhooks -----------------------------------------------------------------------

    def received(
        self, sender: str, to: list[str], cc: list[str], text: str, media: list[dict[str, Any]] = ()
    ) -> dict[str, Any]:
        data = {
            "record_type": "event",
            "id": self.uuid(),
            "event_type": "message.received",
            "occurred_at": iso(self.clock.now),
            "payload": {
                "record_type": "message",
                "direction": "inbound",
                "id": self.uuid(),
                "type": "MMS" if media else "SMS",
                "messaging_profile_id": PROFILE_ID,
                "organization_id": ORGANIZATION,
                "from": {
                    "phone_number": sender,
                    "carrier": "Verizon Wireless",
                    "line_type": "Wireless",
                },
                "to": [
                    {
                        "phone_number": n,
                        "status": "webhook_delivered",
                        "carrier": "Telnyx",
                        "line_type": "VoIP",
                    }
                    for n in to
                ],
                "cc": [
                    {
                        "phone_number": n,
                        "status": "delivered",
                        "carrier": "T-Mobile USA",
                        "line_type": "Wireless",
                    }
                    for n in cc
                ],
                "text": text,
                "subject": None,
                "media": list(media),
                "received_at": iso(self.clock.now),
                "errors": [],
            },
        }
        return _checked("InboundMessageEvent", {"data": data})

    def status(
        self,
        event_type: str,
        message_id: str,
        sender: str,
        to: list[tuple[str, str]],
        errors: list[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        data = {
            "record_type": "event",
            "id": self.uuid(),
            "event_type": event_type,
            "occurred_at": iso(self.clock.now),
            "payload": {
                "record_type": "message",
                "direction": "outbound",
                "id": message_id,
                "type": "MMS",
                "messaging_profile_id": PROFILE_ID,
                "organization_id": ORGANIZATION,
                "from": {"phone_number": sender, "carrier": "Telnyx", "line_type": "VoIP"},
                "to": [
                    {
                        "phone_number": n,
                        "status": s,
                        "carrier": "T-Mobile USA",
                        "line_type": "Wireless",
                    }
                    for n, s in to
                ],
                "cc": [],
                "text": "",
                "errors": list(errors),
                "completed_at": iso(self.clock.now) if event_type == "message.finalized" else None,
            },
        }
        return _checked("OutboundMessageEvent", {"data": data})

    def signed(
        self,
        envelope: dict[str, Any],
        *,
        received_at: datetime | None = None,
        signed_at: datetime | None = None,
        key: Ed25519PrivateKey = SIGNING_KEY,
    ) -> WebhookRequest:
        # Telnyx adds "meta" beside "data" (delivery attempt and target).
        body = json.dumps({**envelope, "meta": {"attempt": 1, "delivered_to": PUBLIC_URL}}).encode()
        stamp = str(int((signed_at or self.clock.now).timestamp()))
        signature = base64.b64encode(key.sign(stamp.encode() + b"|" + body)).decode()
        return WebhookRequest(
            url=PUBLIC_URL + "/webhooks/telnyx",
            headers={
                "content-type": "application/json",
                "telnyx-signature-ed25519": signature,
                "telnyx-timestamp": stamp,
            },
            body=body,
            received_at=received_at or self.clock.now,
        )


def _checked(schema_name: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """The fixture, after checking it against the document's own webhook schema."""
    document = load_document(spec_path("telnyx_spec3.json"))
    schema = document.inline(document.raw["components"]["schemas"][schema_name])
    problems = schema_errors(json_schema(schema), envelope)
    assert not problems, f"the {schema_name} fixture breaks Telnyx's document: {problems}"
    return envelope


def _errors(status: int, code: str, title: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status, json={"errors": [{"code": code, "title": title, "detail": detail}]}
    )


def telnyx_error(code: str, title: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "title": title, "detail": detail}]}
