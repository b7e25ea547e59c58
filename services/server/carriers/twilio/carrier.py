"""Twilio Conversations group texting behind the carrier door.

A group is one Conversation in our Conversations service, made in one call
(``ConversationWithParticipants``): each contact by ``messaging_binding.address``, the
business number as a standalone ``messaging_binding.projected_address``, so we post as
``Author`` = that number. Our conversation id is the conversation's ``UniqueName``: a
second create after a lost answer gets a conflict, and we fetch the group by that name.

One message, several files: Twilio takes one ``MediaSid`` per Conversation Message, so
a message goes out as parts — the text with the first file, then one part per further
file — each carrying ``{"gcsMessageId", "gcsPart", "gcsParts"}`` in its Attributes.
Before posting a message of several parts we list the conversation's latest messages and
skip the parts already there, so a retry after a part failed never repeats the earlier
parts. ``find_sent`` reports a message only when all its parts are there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

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
    MediaFile,
    Outbound,
    WebhookRequest,
)
from services.server.carriers.config import (
    API_TIMEOUT,
    MEDIA_TIMEOUT,
    Clock,
    TwilioSettings,
    check_group,
    check_message,
    new_http_client,
    now_utc,
    send_http,
)
from services.server.carriers.twilio import webhooks
from services.server.carriers.twilio.errors import body_of, code_of, failure
from services.server.carriers.twilio.parts import Part, partial, split
from services.server.carriers.twilio.shapes import (
    attributes_of,
    business_number,
    downloadable,
    older_than,
)

TWILIO_LIMITS = CarrierLimits(
    max_participants=9,
    # Twilio: "up to 10 media files that have a total size of up to 5MB"; read as
    # 5,000,000 bytes so a file Twilio counts in decimal megabytes is never over.
    max_media_bytes=5_000_000,
    max_media_files=10,
    max_body_chars=1_600,
    why="Twilio allows 10 people in a group text: the business number and 9 contacts.",
)

_CONFLICT_UNIQUE_NAME = 50353  # "Conversation with provided unique name already exists"
_MEDIA_SID = re.compile(r"^ME[0-9a-fA-F]{32}$")
_MESSAGE_PAGES = 5  # find_sent looks at most at the 250 latest messages of a group
_NUMBER_PAGES = 20
_MAX_DOWNLOAD = 20 * 1024 * 1024


class TwilioCarrier:
    name = "twilio"

    def __init__(
        self,
        settings: TwilioSettings,
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
        auth = f"{settings.account_sid}:{settings.auth_token.get_secret_value()}"
        self._auth = "Basic " + base64.b64encode(auth.encode()).decode()
        service = f"/v1/Services/{settings.service_sid}"
        self._service_url = settings.api_base + service
        self._media_url = settings.media_base + service + "/Media"

    def __repr__(self) -> str:
        return f"TwilioCarrier(account={self._settings.account_sid}, service=…)"

    @property
    def limits(self) -> CarrierLimits:
        return TWILIO_LIMITS

    # --- account ---------------------------------------------------------------------

    async def verify(self) -> None:
        response = await self._call("GET", self._service_url)
        if response.is_success:
            return
        problem = failure(response, "check the account")
        if problem.kind is ErrorKind.RETRYABLE or problem.kind is ErrorKind.CONFIG:
            raise problem
        if response.status_code == 404:
            raise CarrierError(
                ErrorKind.CONFIG,
                "Twilio has no Conversations service with the SID in "
                "TWILIO_CONVERSATIONS_SERVICE_SID on this account.",
                code=problem.code,
            )
        raise CarrierError(
            ErrorKind.CONFIG,
            f"Twilio would not show the Conversations service named in "
            f"TWILIO_CONVERSATIONS_SERVICE_SID (HTTP {response.status_code}).",
            code=problem.code,
        )

    async def numbers(self) -> list[BusinessNumber]:
        s = self._settings
        base = s.accounts_base
        url: str | None = f"{base}/2010-04-01/Accounts/{s.account_sid}/IncomingPhoneNumbers.json"
        params: dict[str, str] | None = {"PageSize": "100"}
        found: list[BusinessNumber] = []
        for _ in range(_NUMBER_PAGES):
            if url is None:
                break
            response = await self._call("GET", url, params=params)
            if not response.is_success:
                raise failure(response, "list the account's phone numbers")
            page = body_of(response)
            found.extend(business_number(item) for item in page.get("incoming_phone_numbers", []))
            next_uri = page.get("next_page_uri")
            relative = isinstance(next_uri, str) and next_uri.startswith("/")
            url = f"{base}{next_uri}" if relative else None
            params = None  # the next page's URI carries its own query
        return found

    # --- groups ----------------------------------------------------------------------

    async def create_group(self, spec: GroupSpec) -> CarrierGroup:
        check_group(spec, TWILIO_LIMITS, "Twilio")
        business = {"messaging_binding": {"projected_address": spec.business_number}}
        participants = [json.dumps(business)]
        participants += [json.dumps({"messaging_binding": {"address": m}}) for m in spec.members]
        form: dict[str, str | list[str]] = {
            "UniqueName": spec.conversation_id,
            "Attributes": json.dumps({"gcsConversationId": spec.conversation_id}),
            "Participant": participants,
        }
        if spec.name:
            form["FriendlyName"] = spec.name[:256]
        response = await self._call(
            "POST", self._service_url + "/ConversationWithParticipants", data=form
        )
        if response.is_success:
            conversation = body_of(response)
        elif response.status_code == 409 or code_of(body_of(response)) == _CONFLICT_UNIQUE_NAME:
            conversation = await self._conversation(spec.conversation_id)
        else:
            raise failure(response, "create the group", spec.members)
        sid = conversation.get("sid")
        if not isinstance(sid, str) or not sid:
            raise CarrierError(
                ErrorKind.RETRYABLE,
                "Twilio's answer to creating the group named no conversation; will look again.",
                answer_lost=True,
            )
        refs = await self._member_refs(sid, spec, str(conversation.get("state") or ""))
        return CarrierGroup(ref=sid, member_refs=refs)

    async def _conversation(self, unique_name: str) -> dict[str, Any]:
        response = await self._call("GET", f"{self._service_url}/Conversations/{unique_name}")
        if not response.is_success:
            raise failure(response, "find the group made before")
        return body_of(response)

    async def _member_refs(self, sid: str, spec: GroupSpec, state: str) -> dict[str, str]:
        url = f"{self._service_url}/Conversations/{sid}/Participants"
        response = await self._call("GET", url, params={"PageSize": "100"})
        if not response.is_success:
            raise failure(response, "list the group's participants")
        by_address: dict[str, str] = {}
        projected: set[str] = set()
        for item in body_of(response).get("participants", []):
            binding = item.get("messaging_binding") if isinstance(item, dict) else None
            if not isinstance(binding, dict):
                continue
            if binding.get("address"):
                by_address[str(binding["address"])] = str(item.get("sid"))
            if binding.get("projected_address"):
                projected.add(str(binding["projected_address"]))
        missing = [m for m in spec.members if m not in by_address]
        extra = set(by_address) - set(spec.members)
        if missing and state == "initializing":
            raise CarrierError(
                ErrorKind.RETRYABLE, "Twilio is still adding the group's members; will look again."
            )
        if missing or extra or spec.business_number not in projected:
            raise CarrierError(
                ErrorKind.PERMANENT,
                f"Twilio already holds a group named {spec.conversation_id} with other members "
                "or another business number; it was not changed.",
            )
        return {m: by_address[m] for m in spec.members}

    # --- messages --------------------------------------------------------------------

    async def send(self, message: Outbound) -> Accepted:
        check_message(message, TWILIO_LIMITS, "Twilio")
        conversation = _conversation_sid(message)
        parts = split(message)
        done: dict[int, str] = {}
        if len(parts) > 1:
            done = await self._sent_parts(conversation, message.message_id, since=None)
        sids: list[str] = []
        for part in parts:
            if part.index in done:
                sids.append(done[part.index])
                continue
            try:
                sids.append(await self._post_part(conversation, message, part, len(parts)))
            except CarrierError as exc:
                raise partial(exc, len(sids), len(parts)) from None
        return Accepted(carrier_message_ids=tuple(sids))

    async def find_sent(self, message: Outbound, since: datetime) -> Accepted | None:
        if message.carrier_group.ref is None:
            return None
        found = await self._sent_parts(message.carrier_group.ref, message.message_id, since)
        wanted = range(1, len(split(message)) + 1)
        if not all(index in found for index in wanted):
            return None  # a resend posts only the missing parts (see send)
        return Accepted(carrier_message_ids=tuple(found[index] for index in wanted))

    async def _post_part(self, conversation: str, message: Outbound, part: Part, count: int) -> str:
        form: dict[str, str] = {
            "Author": message.group.business_number,
            "Attributes": json.dumps(
                {"gcsMessageId": message.message_id, "gcsPart": part.index, "gcsParts": count}
            ),
        }
        if part.body:
            form["Body"] = part.body
        if part.media is not None:
            form["MediaSid"] = await self._upload(part.media)
        response = await self._call(
            "POST",
            f"{self._service_url}/Conversations/{conversation}/Messages",
            data=form,
            # Our own post must not come back to us as an onMessageAdded "inbound" text;
            # delivery receipts (onDeliveryUpdated) still arrive.
            headers={"X-Twilio-Webhook-Enabled": "false"},
        )
        if not response.is_success:
            raise failure(response, "send the message", message.group.members)
        sid = body_of(response).get("sid")
        if not isinstance(sid, str) or not sid:
            raise CarrierError(
                ErrorKind.RETRYABLE,
                "Twilio's answer to the message named no message; it will be looked for.",
                answer_lost=True,
            )
        return sid

    async def _upload(self, media: MediaFile) -> str:
        try:
            content = await asyncio.to_thread(Path(media.path).read_bytes)
        except OSError:
            raise CarrierError(
                ErrorKind.PERMANENT,
                f"The attachment {media.name} is no longer on the server's disk.",
            ) from None
        response = await self._call(
            "POST",
            self._media_url,
            content=content,
            headers={"Content-Type": media.mime},
            wait=MEDIA_TIMEOUT,
        )
        if not response.is_success:
            raise failure(response, f"take the attachment {media.name}")
        sid = body_of(response).get("sid")
        if not isinstance(sid, str) or not _MEDIA_SID.match(sid):
            raise CarrierError(
                ErrorKind.RETRYABLE,
                f"Twilio's answer to uploading {media.name} named no media; will try again.",
            )
        return sid

    async def _sent_parts(
        self, conversation: str, message_id: str, since: datetime | None
    ) -> dict[int, str]:
        """Part number → message SID, for our message's parts among the latest messages."""
        url: str | None = f"{self._service_url}/Conversations/{conversation}/Messages"
        params: dict[str, str] | None = {"Order": "desc", "PageSize": "50"}
        pages = _MESSAGE_PAGES if since is not None else 1
        found: dict[int, str] = {}
        for _ in range(pages):
            if url is None:
                break
            response = await self._call("GET", url, params=params)
            if not response.is_success:
                raise failure(response, "look for the message")
            page = body_of(response)
            older = False
            for item in page.get("messages", []):
                older = older or older_than(item, since)
                attributes = attributes_of(item.get("attributes"))
                sid = item.get("sid")
                if attributes.get("gcsMessageId") == message_id and isinstance(sid, str):
                    part = attributes.get("gcsPart", 1)
                    found.setdefault(part if isinstance(part, int) else 1, sid)
            url = self._next_page(page)
            params = None
            if older:
                break
        return found

    def _next_page(self, page: Mapping[str, Any]) -> str | None:
        meta = page.get("meta")
        link = meta.get("next_page_url") if isinstance(meta, dict) else None
        # Follow only links back to the API we were configured with.
        if isinstance(link, str) and link.startswith(self._settings.api_base + "/"):
            return link
        return None

    # --- webhooks and media ------------------------------------------------------------

    def parse_webhook(self, request: WebhookRequest) -> list[InboundMessage | DeliveryUpdate]:
        return webhooks.parse(request, self._settings.auth_token.get_secret_value())

    async def fetch_media(self, media: InboundMedia) -> tuple[bytes, str]:
        if not _MEDIA_SID.match(media.ref):
            raise CarrierError(ErrorKind.PERMANENT, "That is not a Twilio media SID.")
        response = await self._call("GET", f"{self._media_url}/{media.ref}")
        if not response.is_success:
            raise failure(response, "find the attachment")
        info = body_of(response)
        links = info.get("links")
        link = links.get("content_direct_temporary") if isinstance(links, dict) else None
        if not isinstance(link, str) or not downloadable(link):
            raise CarrierError(
                ErrorKind.PERMANENT, "Twilio gave no address to download the attachment from."
            )
        # The temporary link is pre-signed: it gets no credentials.
        request = self._http.build_request("GET", link, timeout=MEDIA_TIMEOUT)
        download = await send_http(self._http, request, carrier="Twilio")
        if not download.is_success:
            raise failure(download, "download the attachment")
        if len(download.content) > _MAX_DOWNLOAD:
            raise CarrierError(ErrorKind.PERMANENT, "The attachment is larger than 20 MB.")
        mime = info.get("content_type") or download.headers.get("content-type", "")
        return download.content, str(mime or "application/octet-stream").split(";")[0]

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # --- plumbing --------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str | list[str]] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        wait: httpx.Timeout = API_TIMEOUT,
    ) -> httpx.Response:
        request = self._http.build_request(
            method,
            url,
            params=params,
            data=data,
            content=content,
            headers={"Authorization": self._auth, "Accept": "application/json", **(headers or {})},
            timeout=wait,
        )
        return await send_http(self._http, request, carrier="Twilio")


def _conversation_sid(message: Outbound) -> str:
    ref = message.carrier_group.ref
    if not ref:
        raise CarrierError(
            ErrorKind.PERMANENT, "This group was never set up at Twilio, so it cannot be sent to."
        )
    return ref
