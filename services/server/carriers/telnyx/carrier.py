"""Telnyx group MMS behind the carrier door.

Telnyx keeps no group: a group is its number set, and every message is one
``POST /messages/group_mms`` from the business number to all members (at most 8), with
attachments as ``media_urls`` Telnyx fetches from this server (under 1 MB in total).

Lost answers (``find_sent``): group_mms takes no idempotency key and no metadata of ours,
so we look in Telnyx's message detail records, ``GET /reports/mdrs``, for an outbound MMS
from the business number to the group's first member since the send began. Telnyx makes
an MDR when it accepts a message, and the server's queue has at most one message of a
group in flight. Each candidate is then fetched (``GET /messages/{id}``) and kept only
when its recipients are exactly the group (not another group with the same business
number and member) and its text and number of files are this message's (not the group's
previous message, a few seconds older). Residual risks: (1) the report may trail the
send, so within ``MDR_SETTLE`` of the send a miss is not trusted: ``find_sent`` raises
RETRYABLE (answer_lost) to be asked again rather than answer None; (2) two messages with
the same text and file count sent to the same group within ``CLOCK_SLACK`` (30 s) of
each other cannot be told apart; (3) if the record exists but the message cannot be
fetched (Telnyx keeps messages 10 days), the record alone decides.

Why not a per-message ``webhook_url`` carrying our id: it would tell us only when a
status webhook arrives, and it would replace the profile's webhook address for that
message; the MDR look-up answers on demand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.server.carriers.base import (
    Accepted,
    BusinessNumber,
    CarrierError,
    CarrierGroup,
    CarrierLimits,
    DeliveryUpdate,
    ErrorKind,
    GroupSpec,
    InboundMedia,
    InboundMessage,
    Outbound,
    WebhookRequest,
)
from services.server.carriers.config import (
    API_TIMEOUT,
    MEDIA_TIMEOUT,
    Clock,
    TelnyxSettings,
    check_group,
    check_message,
    is_loopback,
    new_http_client,
    now_utc,
    send_http,
)
from services.server.carriers.telnyx import webhooks
from services.server.carriers.telnyx.errors import check_profile, failure
from services.server.carriers.telnyx.shapes import (
    CLOCK_SLACK,
    answer_of,
    at_or_after,
    business_number,
    iso,
    items,
    recipients,
)

TELNYX_LIMITS = CarrierLimits(
    max_participants=8,
    max_media_bytes=999_999,  # "The total media size must be less than 1 MB."
    max_media_files=10,
    # The spec sets no length for group MMS text; 1,600 is the long-message length
    # US carriers deliver reliably, the same as Twilio's.
    max_body_chars=1_600,
    why="Telnyx delivers a group MMS to at most 8 people besides the business number.",
)

MDR_SETTLE = timedelta(seconds=60)
_NUMBER_PAGES = 20
_MAX_DOWNLOAD = 20 * 1024 * 1024


class TelnyxCarrier:
    name = "telnyx"

    def __init__(
        self,
        settings: TelnyxSettings,
        public_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self.public_url = public_url
        self._own_http = http is None
        self._http = http or new_http_client()
        self._clock = clock or now_utc
        self._public_key = Ed25519PublicKey.from_public_bytes(settings.public_key)
        self._auth = "Bearer " + settings.api_key.get_secret_value()
        self._base = settings.api_base

    def __repr__(self) -> str:
        return f"TelnyxCarrier(profile={self._settings.messaging_profile_id})"

    @property
    def limits(self) -> CarrierLimits:
        return TELNYX_LIMITS

    # --- account ---------------------------------------------------------------------

    async def verify(self) -> None:
        url = f"{self._base}/messaging_profiles/{self._settings.messaging_profile_id}"
        response = await self._call("GET", url)
        if response.is_success:
            check_profile(answer_of(response).get("data"))
            return
        problem = failure(response, "check the account")
        if problem.kind in (ErrorKind.RETRYABLE, ErrorKind.CONFIG):
            raise problem
        if response.status_code == 404:
            raise CarrierError(
                ErrorKind.CONFIG,
                "Telnyx has no messaging profile with the id in TELNYX_MESSAGING_PROFILE_ID.",
                code=problem.code,
            )
        raise CarrierError(
            ErrorKind.CONFIG,
            "Telnyx would not show the messaging profile named in TELNYX_MESSAGING_PROFILE_ID "
            f"(HTTP {response.status_code}).",
            code=problem.code,
        )

    async def numbers(self) -> list[BusinessNumber]:
        found: list[BusinessNumber] = []
        for page in range(1, _NUMBER_PAGES + 1):
            params = {
                "filter[messaging_profile_id]": self._settings.messaging_profile_id,
                "page[number]": str(page),
                "page[size]": "250",
            }
            response = await self._call("GET", f"{self._base}/phone_numbers/messaging", params)
            if not response.is_success:
                raise failure(response, "list the profile's phone numbers")
            body = answer_of(response)
            found.extend(business_number(item) for item in items(body.get("data")))
            meta = body.get("meta")
            total = meta.get("total_pages") if isinstance(meta, dict) else None
            if not isinstance(total, int) or page >= total:
                break
        return found

    # --- groups and messages -----------------------------------------------------------

    async def create_group(self, spec: GroupSpec) -> CarrierGroup:
        check_group(spec, TELNYX_LIMITS, "Telnyx")
        return CarrierGroup(ref=None)  # Telnyx keeps no group: the number set is the group

    async def send(self, message: Outbound) -> Accepted:
        check_group(message.group, TELNYX_LIMITS, "Telnyx")
        check_message(message, TELNYX_LIMITS, "Telnyx")
        body: dict[str, Any] = {
            "from": message.group.business_number,
            "to": list(message.group.members),
        }
        if message.body:
            body["text"] = message.body
        if message.media:
            body["media_urls"] = [item.public_url for item in message.media]
        response = await self._call("POST", f"{self._base}/messages/group_mms", json_body=body)
        if not response.is_success:
            raise failure(response, "send the message", message.group.members)
        data = answer_of(response).get("data")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise CarrierError(
                ErrorKind.RETRYABLE,
                "Telnyx's answer to the message named no message; it will be looked for.",
                answer_lost=True,
            )
        return Accepted(carrier_message_ids=(data["id"],), recipients=recipients(data))

    async def find_sent(self, message: Outbound, since: datetime) -> Accepted | None:
        group = message.group
        params = {
            "cli": group.business_number,
            "cld": group.members[0],
            "direction": "OUTBOUND",
            "message_type": "MMS",
            "start_date": iso(since - CLOCK_SLACK),
        }
        response = await self._call("GET", f"{self._base}/reports/mdrs", params)
        if not response.is_success:
            raise failure(response, "look for the message")
        records = [r for r in items(answer_of(response).get("data")) if at_or_after(r, since)]
        records.sort(key=lambda r: str(r.get("created_at", "")), reverse=True)
        for record in records:
            found = await self._confirm(str(record.get("id") or ""), message)
            if found is not None:
                return found
        if self._clock() - since < MDR_SETTLE:
            wait = (MDR_SETTLE - (self._clock() - since)).total_seconds()
            raise CarrierError(
                ErrorKind.RETRYABLE,
                "Telnyx's records may not show a message sent this minute yet; will look again "
                "before sending it again.",
                retry_after=max(1.0, wait),
                answer_lost=True,
            )
        return None

    async def _confirm(self, message_id: str, message: Outbound) -> Accepted | None:
        """The record's message, if it went to exactly this group with this content."""
        if not message_id:
            return None
        response = await self._call("GET", f"{self._base}/messages/{message_id}")
        if response.status_code == 404:
            return Accepted(carrier_message_ids=(message_id,))  # the record alone decides
        if not response.is_success:
            raise failure(response, "look for the message")
        data = answer_of(response).get("data")
        if not isinstance(data, dict):
            return None
        group = message.group
        numbers = {str(e.get("phone_number")) for e in items(data.get("to"))}
        numbers |= {str(e.get("phone_number")) for e in items(data.get("cc"))}
        if numbers - {group.business_number} != set(group.members):
            return None  # another group with the same business number and member
        # Telnyx may keep its own copies of the media, so files are compared by count.
        same_media = len(items(data.get("media"))) == len(message.media)
        if (data.get("text") or "") != message.body or not same_media:
            return None  # the group's previous message, just before this one
        return Accepted(carrier_message_ids=(message_id,), recipients=recipients(data))

    # --- webhooks and media ------------------------------------------------------------

    def parse_webhook(self, request: WebhookRequest) -> list[InboundMessage | DeliveryUpdate]:
        return webhooks.parse(request, self._public_key)

    async def fetch_media(self, media: InboundMedia) -> tuple[bytes, str]:
        url = httpx.URL(media.ref)
        if not (url.scheme == "https" or (url.scheme == "http" and is_loopback(url.host))):
            raise CarrierError(ErrorKind.PERMANENT, "The attachment's address is not https.")
        # Telnyx's media links are pre-signed: our API key never goes to them.
        request = self._http.build_request("GET", url, timeout=MEDIA_TIMEOUT)
        response = await send_http(self._http, request, carrier="Telnyx")
        if not response.is_success:
            raise failure(response, "download the attachment")
        if len(response.content) > _MAX_DOWNLOAD:
            raise CarrierError(ErrorKind.PERMANENT, "The attachment is larger than 20 MB.")
        mime = response.headers.get("content-type") or media.mime or "application/octet-stream"
        return response.content, mime.split(";")[0].strip()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _call(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        json_body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        content = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(json_body).encode()
        request = self._http.build_request(
            method, url, params=params, content=content, headers=headers, timeout=API_TIMEOUT
        )
        return await send_http(self._http, request, carrier="Telnyx")


# --- answers ---------------------------------------------------------------------------
