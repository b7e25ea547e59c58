"""The one async HTTP client for the messaging contract (see backend-contract.md).

Every method returns models from ``services.models`` or raises an error from
``services.api.errors``; nothing httpx- or pydantic-specific escapes. The same
code talks to the embedded backend (through ``httpx.ASGITransport``), a
standalone server, or LeadConnector's public API for what that API offers —
shaped to the letter of LeadConnector's documents by ``services.api.leadconnector``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic.alias_generators import to_camel

from services.api import leadconnector as lc
from services.api import pagination
from services.api.errors import (
    AuthError,
    InsecureUrlError,
    MalformedResponseError,
    ServerError,
    UnsupportedFeatureError,
)
from services.api.events import event_from_sse
from services.api.responses import (
    Shape,
    field,
    json_body,
    raise_for_status,
    transport_error,
    unwrap,
    validate,
)
from services.api.retry import RetryPolicy
from services.api.upload import Progress, encode_form, encode_upload, progress_stream
from services.api.urls import (
    is_leadconnector,
    may_carry_token,
    same_origin,
    validate_base_url,
    version_for,
)
from services.models import (
    Contact,
    ContactPage,
    Conversation,
    ConversationPage,
    ConversationSummary,
    Device,
    DevicePlatform,
    Event,
    EventBatch,
    GroupKind,
    Message,
    MessagesPage,
    NotificationSettings,
    Participant,
    PhoneNumber,
    SendResult,
    User,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=60.0, pool=10.0)
# A long-poll answers within `wait` seconds; allow that much more for the network.
LONG_POLL_GRACE = 15.0
# The event stream may be quiet for a while; a longer silence means a dead connection.
STREAM_IDLE_TIMEOUT = 90.0
MAX_LONG_POLL_WAIT = 30

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_USER: Shape[User] = Shape(User)
_USERS: Shape[list[User]] = Shape(list[User])
_NUMBERS: Shape[list[PhoneNumber]] = Shape(list[PhoneNumber])
_CONTACT: Shape[Contact] = Shape(Contact)
_CONTACT_PAGE: Shape[ContactPage] = Shape(ContactPage)
_CONVERSATION: Shape[Conversation] = Shape(Conversation)
_CONVERSATION_PAGE: Shape[ConversationPage] = Shape(ConversationPage)
_MESSAGES_PAGE: Shape[MessagesPage] = Shape(MessagesPage)
_SEND_RESULT: Shape[SendResult] = Shape(SendResult)
_EVENT_BATCH: Shape[EventBatch] = Shape(EventBatch)
_DEVICE: Shape[Device] = Shape(Device)
_DEVICES: Shape[list[Device]] = Shape(list[Device])
_NOTIFICATION_SETTINGS: Shape[NotificationSettings] = Shape(NotificationSettings)


@dataclass(frozen=True)
class RateLimit:
    """The server's latest ``X-RateLimit-*`` report (None where a header was absent).

    ``limit`` is ``X-RateLimit-Limit`` (the contract's name) or ``X-RateLimit-Max``
    (LeadConnector's name for the same burst limit); the daily figures are
    LeadConnector's ``X-RateLimit-Limit-Daily`` and ``X-RateLimit-Daily-Remaining``.
    """

    limit: int | None
    remaining: int | None
    interval_ms: int | None
    daily_limit: int | None = None
    daily_remaining: int | None = None


_RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
)


@dataclass(frozen=True)
class _LeadConnectorThread:
    """What LeadConnector's sends and uploads need to know of a conversation."""

    contact_id: str
    is_group: bool


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


class ApiClient:
    """Typed access to the backend. Use as ``async with ApiClient(...) as api:`` or call aclose().

    ``location_id`` defaults to the signed-in user's location (from ``me()``).
    ``company_id`` is LeadConnector's agency (company) id, which its user search
    requires; without it LeadConnector's teammates cannot be listed.
    ``transport`` lets the embedded backend (ASGI) or a test (MockTransport) stand in for the
    network. TLS verification is always on; a remote ``base_url`` must be https (plain http
    only for loopback, or for any name with an ``httpx.ASGITransport``, which never leaves
    the process — e.g. ``http://embedded.invalid``).
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        location_id: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        company_id: str | None = None,
    ) -> None:
        # An ASGI transport is the embedded backend: in-process, nothing goes on the network.
        self._in_process = isinstance(transport, httpx.ASGITransport)
        self.base_url = validate_base_url(base_url, in_process=self._in_process)
        self._token = _checked_token(token)
        self._location_id = location_id
        self._company_id = company_id or None
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self.leadconnector = is_leadconnector(self.base_url)
        self.rate_limit: RateLimit | None = None
        # LeadConnector sends and uploads by contact: conversation id -> its contact and
        # kind, learned once.
        self._lc_threads: dict[str, _LeadConnectorThread] = {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never shows the token
        return f"ApiClient({str(self.base_url)!r}, location_id={self._location_id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def set_token(self, token: str) -> None:
        """Use a new access token for every later request (after signing in again)."""
        self._token = _checked_token(token)

    # --- plumbing ------------------------------------------------------------------

    def _headers(self, path: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Version": version_for(path),
            "Accept": "application/json",
        }
        headers.update(extra or {})
        return headers

    def _note_rate_limit(self, response: httpx.Response) -> None:
        headers = response.headers
        if not any(name in headers for name in _RATE_LIMIT_HEADERS):
            return
        limit = _header_int(headers, "X-RateLimit-Limit")
        self.rate_limit = RateLimit(
            limit=limit if limit is not None else _header_int(headers, "X-RateLimit-Max"),
            remaining=_header_int(headers, "X-RateLimit-Remaining"),
            interval_ms=_header_int(headers, "X-RateLimit-Interval-Milliseconds"),
            daily_limit=_header_int(headers, "X-RateLimit-Limit-Daily"),
            daily_remaining=_header_int(headers, "X-RateLimit-Daily-Remaining"),
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: Callable[[], AsyncIterator[bytes]] | None = None,
        idempotent: bool | None = None,
        request_timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One logical request: retried per the policy, every failure mapped to ApiError."""
        what = f"{method} {path}"
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT_METHODS

        async def attempt() -> httpx.Response:
            request = self._http.build_request(
                method,
                path,
                params=clean_params,
                json=json,
                content=content() if content is not None else None,
                headers=self._headers(path, headers),
                timeout=request_timeout or self._timeout,
            )
            return await self._transmit(request, what)

        return await self.retry.run(attempt, idempotent=safe)

    async def _transmit(
        self, request: httpx.Request, what: str, *, follow_redirects: bool = False
    ) -> httpx.Response:
        """Send once; the answer is a success response or an ApiError."""
        try:
            response = await self._http.send(request, follow_redirects=follow_redirects)
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from None
        except Exception as exc:
            if not self._in_process:
                raise
            # The embedded backend runs in this process: its crash is a server error to callers.
            raise ServerError(
                f"{what}: embedded backend failed: {type(exc).__name__}: {exc}", status_code=500
            ) from None
        self._note_rate_limit(response)
        raise_for_status(response, what)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        return json_body(response, f"{method} {path}")

    @property
    def supports_groups(self) -> bool:
        """Whether this backend can create group chats and send into them (the [ext] parts)."""
        return not self.leadconnector

    @property
    def supports_events(self) -> bool:
        """Whether events()/stream_events() exist; without them, poll search_conversations()."""
        return not self.leadconnector

    @property
    def supports_streaming(self) -> bool:
        """Whether stream_events() can work; in-process (ASGI) answers are buffered, so no."""
        return self.supports_events and not self._in_process

    @property
    def in_process(self) -> bool:
        """The backend is the embedded one, reached without a network."""
        return self._in_process

    def _require_extension(self, feature: str) -> None:
        """Contract extensions ([ext]) do not exist on LeadConnector's public API."""
        if self.leadconnector:
            raise UnsupportedFeatureError(feature)

    async def location_id(self) -> str:
        """The location every list is scoped to: given at construction, else the user's own."""
        if self._location_id is None:
            user = await self.me()
            if not user.location_id:
                raise MalformedResponseError("GET /users/me: user has no locationId")
            self._location_id = user.location_id
        return self._location_id

    # --- users and numbers -----------------------------------------------------------

    async def me(self) -> User:
        """The signed-in user (verifies the token: a bad one raises AuthError).

        An extension: LeadConnector's tokens belong to a location, not a user, so its
        public API has no "who am I" (UnsupportedFeatureError there).
        """
        self._require_extension("tell who is signed in")
        payload = await self._json("GET", "/users/me")
        return validate(_USER, unwrap(payload, "user"), "GET /users/me")

    async def teammates(self) -> list[User]:
        if self.leadconnector:
            return await self._leadconnector_teammates()
        path = "/users/"
        payload = await self._json("GET", path, params={"locationId": await self.location_id()})
        return validate(_USERS, field(payload, "users", path), path)

    async def _leadconnector_teammates(self) -> list[User]:
        """The location's users from ``GET /users/search`` (the old list is deprecated).

        It requires the company id; without one the list is refused before asking.
        """
        if self._company_id is None:
            raise UnsupportedFeatureError(
                "list teammates",
                "LeadConnector's user search needs the company id (set company_id)",
            )
        path, location = "/users/search", await self.location_id()
        users: dict[str, dict[str, Any]] = {}
        skip = 0
        for _ in range(lc.USERS_MAX_PAGES):
            params = lc.users_query(self._company_id, location, skip)
            page, count = lc.users_page(await self._json("GET", path, params=params), path)
            skip += len(page)
            fresh = {u["id"]: u for u in page if u["id"] not in users}
            users.update(fresh)
            # Stop at the reported count, at a short page, or when a page brings no one
            # new (a server ignoring skip must not make us ask forever).
            if not fresh or (count is not None and len(users) >= count):
                break
            if count is None and len(page) < lc.USERS_PAGE_SIZE:
                break
        return validate(_USERS, list(users.values()), path)

    async def phone_numbers(self) -> list[PhoneNumber]:
        path = f"/phone-system/numbers/location/{await self.location_id()}"
        if not self.leadconnector:
            return validate(_NUMBERS, field(await self._json("GET", path), "numbers", path), path)
        params = {"pageSize": lc.NUMBERS_PAGE_SIZE}
        payload = await self._json("GET", path, params=params)
        return validate(_NUMBERS, lc.numbers(payload, path), path)

    # --- contacts --------------------------------------------------------------------

    async def search_contacts(
        self, query: str = "", page_limit: int = 50, search_after: Any = None
    ) -> ContactPage:
        """One page of contacts matching ``query``; pass the last contact's ``search_after`` on."""
        body: dict[str, Any] = {
            "locationId": await self.location_id(),
            "query": query,
            "pageLimit": page_limit,
        }
        if search_after is not None:
            body["searchAfter"] = search_after
        # A search changes nothing, so it is safe to repeat despite being a POST.
        what = "POST /contacts/search"
        payload = await self._json("POST", "/contacts/search", json=body, idempotent=True)
        if self.leadconnector:
            payload = lc.contact_page(payload, what)
        return validate(_CONTACT_PAGE, payload, what)

    def iter_contacts(self, query: str = "", page_limit: int = 50) -> AsyncIterator[Contact]:
        """Every contact matching ``query``, fetching pages as the caller iterates."""
        return pagination.iter_contacts(self, query, page_limit)

    async def get_contact(self, contact_id: str) -> Contact:
        path = f"/contacts/{contact_id}"
        payload = await self._json("GET", path)
        if self.leadconnector:
            return validate(_CONTACT, lc.contact(payload, contact_id, path), path)
        return validate(_CONTACT, unwrap(payload, "contact"), path)

    async def update_contact(self, contact_id: str, **fields: Any) -> Contact:
        """Change contact fields, given in snake_case (``first_name="Ann"``)."""
        path = f"/contacts/{contact_id}"
        body = {to_camel(name): value for name, value in fields.items()}
        # LeadConnector updates with PUT; the sandbox's extension uses PATCH. Both set
        # fields to given values, so repeating is harmless.
        method = "PUT" if self.leadconnector else "PATCH"
        payload = await self._json(method, path, json=body, idempotent=True)
        if self.leadconnector:
            return validate(_CONTACT, lc.contact(payload, contact_id, path), path)
        return validate(_CONTACT, unwrap(payload, "contact"), path)

    async def create_contact(
        self,
        *,
        first_name: str,
        last_name: str = "",
        phone: str,
        email: str | None = None,
        assigned_to: str | None = None,
    ) -> Contact:
        """Add a contact to the location (a user limited to assigned data gets it assigned).

        Not retried after a lost answer: a second try would be refused as a duplicate of
        the first, and the search finds the contact either way.
        """
        body: dict[str, Any] = {
            "locationId": await self.location_id(),
            "firstName": first_name,
            "lastName": last_name,
            "phone": phone,
        }
        if email:
            body["email"] = email
        if assigned_to:
            body["assignedTo"] = assigned_to
        path = "/contacts/" if self.leadconnector else "/contacts"
        payload = await self._json("POST", path, json=body)
        if self.leadconnector:
            made = lc.contact(payload, "", path)
            if not made.get("id"):
                raise MalformedResponseError(f"POST {path}: the new contact has no id")
            return validate(_CONTACT, made, path)
        return validate(_CONTACT, unwrap(payload, "contact"), path)

    async def delete_contact(self, contact_id: str) -> None:
        await self._send("DELETE", f"/contacts/{contact_id}")

    # --- conversations ---------------------------------------------------------------

    async def search_conversations(
        self,
        limit: int = 20,
        start_after_date: int | None = None,
        start_after_id: str | None = None,
        query: str | None = None,
        status: str = "all",
    ) -> ConversationPage:
        """One page of conversations, newest activity first.

        For the next page pass the last row's ``last_message_date`` and ``id``.
        """
        what = "GET /conversations/search"
        location = await self.location_id()
        if self.leadconnector:
            # It pages by date alone: its search declares no startAfterId.
            params = lc.conversations_query(location, limit, start_after_date, query, status)
            payload = await self._json("GET", "/conversations/search", params=params)
            return validate(_CONVERSATION_PAGE, lc.conversation_page(payload, what), what)
        params = {
            "locationId": location,
            "limit": limit,
            "startAfterDate": start_after_date,
            "startAfterId": start_after_id,
            "query": query or None,
            "status": status,
        }
        payload = await self._json("GET", "/conversations/search", params=params)
        return validate(_CONVERSATION_PAGE, payload, what)

    def iter_conversations(
        self, query: str | None = None, status: str = "all", page_size: int = 20
    ) -> AsyncIterator[ConversationSummary]:
        """Every conversation, newest activity first, paging by date and id."""
        return pagination.iter_conversations(self, query, status, page_size)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        path = f"/conversations/{conversation_id}"
        payload = await self._json("GET", path)
        if self.leadconnector:
            return validate(_CONVERSATION, lc.conversation(payload, conversation_id, path), path)
        return validate(_CONVERSATION, unwrap(payload, "conversation"), path)

    async def mark_read(self, conversation_id: str) -> None:
        body: dict[str, Any] = {"unreadCount": 0}
        if self.leadconnector:
            # LeadConnector's UpdateConversationDto requires the location.
            body["locationId"] = await self.location_id()
        await self._send("PUT", f"/conversations/{conversation_id}", json=body)

    async def participants(self, conversation_id: str) -> list[Participant]:
        """Who is in a conversation. An extension: LeadConnector's public API lists no members."""
        self._require_extension("list the members of group chats")
        return (await self.get_conversation(conversation_id)).participants

    async def create_group(
        self,
        kind: GroupKind | str,
        from_number: str,
        contact_ids: Iterable[str] = (),
        user_ids: Iterable[str] = (),
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> Conversation:
        """Create a group with all its members at once (members never change afterwards).

        Repeating a call with the same ``idempotency_key`` returns the first group,
        so a retry after a lost answer cannot create a second one.
        """
        self._require_extension("create group chats")
        participants: list[dict[str, str]] = [{"contactId": c} for c in contact_ids]
        participants += [{"userId": u} for u in user_ids]
        body: dict[str, Any] = {
            "locationId": await self.location_id(),
            "kind": str(kind),
            "fromNumber": from_number,
            "participants": participants,
        }
        if name:
            body["name"] = name
        path = "/conversations/groups"
        key = idempotency_key or str(uuid.uuid4())
        payload = await self._json(
            "POST", path, json=body, headers={"Idempotency-Key": key}, idempotent=True
        )
        return validate(_CONVERSATION, unwrap(payload, "conversation"), path)

    # --- messages --------------------------------------------------------------------

    async def get_messages(
        self, conversation_id: str, limit: int = 20, last_message_id: str | None = None
    ) -> MessagesPage:
        """One page of a thread, newest first; pass the page's ``last_message_id`` for older."""
        path = f"/conversations/{conversation_id}/messages"
        params = {"limit": limit, "lastMessageId": last_message_id}
        payload = await self._json("GET", path, params=params)
        if self.leadconnector:
            return validate(_MESSAGES_PAGE, lc.messages_page(payload, conversation_id, path), path)
        return validate(_MESSAGES_PAGE, _messages_page(payload, path), path)

    def iter_messages(self, conversation_id: str, page_size: int = 20) -> AsyncIterator[Message]:
        """Every message of a thread, newest first."""
        return pagination.iter_messages(self, conversation_id, page_size)

    async def send_message(
        self,
        conversation_id: str,
        body: str,
        attachments: Iterable[str] = (),
        client_message_id: str | None = None,
        *,
        contact_id: str | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
    ) -> SendResult:
        """Send a message into a conversation; ``attachments`` are URLs from ``upload()``.

        ``client_message_id`` (a fresh uuid when not given) makes the send safe to
        repeat: the server answers a replay with the original result. Keep it with
        the outbox entry so a retry after a crash reuses it. ``contact_id``,
        ``from_number`` and ``to_number`` are what LeadConnector's one-to-one send needs.

        On LeadConnector only one-to-one SMS exists: a group conversation (or one
        whose contact cannot be found) raises UnsupportedFeatureError before
        anything is sent. See ``_send_leadconnector`` for its duplicate risk.
        """
        if self.leadconnector:
            return await self._send_leadconnector(
                conversation_id, body, attachments, contact_id, from_number, to_number
            )
        cmid = client_message_id or str(uuid.uuid4())
        payload_body: dict[str, Any] = {
            "type": "SMS",
            "conversationId": conversation_id,
            "message": body,
            "attachments": list(attachments),
            "clientMessageId": cmid,
        }
        extra = {"contactId": contact_id, "fromNumber": from_number, "toNumber": to_number}
        payload_body.update({k: v for k, v in extra.items() if v is not None})
        path = "/conversations/messages"
        payload = await self._json(
            "POST", path, json=payload_body, headers={"Idempotency-Key": cmid}, idempotent=True
        )
        return validate(_SEND_RESULT, payload, path)

    async def _send_leadconnector(
        self,
        conversation_id: str,
        body: str,
        attachments: Iterable[str],
        contact_id: str | None,
        from_number: str | None,
        to_number: str | None,
    ) -> SendResult:
        """LeadConnector's one-to-one send (``SendMessageBodyDto``, see ``leadconnector``).

        Its body has no ``conversationId`` or ``clientMessageId`` and it declares no
        ``Idempotency-Key``, so nothing makes a repeat safe: the send is not retried
        once the request may have left the device. A send whose answer is lost stays
        failed for the user to retry, which can deliver the text twice — the residual
        risk of this backend.
        """
        if contact_id is None:
            thread = await self._leadconnector_thread(conversation_id)
            if thread.is_group:
                raise UnsupportedFeatureError(
                    "send messages into group chats",
                    f"conversation {conversation_id} is TYPE_GROUP_SMS; "
                    "LeadConnector's public API has no group send",
                )
            contact_id = thread.contact_id
        payload_body = lc.send_body(contact_id, body, attachments, from_number, to_number)
        path = "/conversations/messages"
        payload = await self._json("POST", path, json=payload_body, idempotent=False)
        return validate(_SEND_RESULT, lc.send_result(payload, conversation_id, path), path)

    async def _leadconnector_thread(self, conversation_id: str) -> _LeadConnectorThread:
        """A LeadConnector conversation's contact and kind, asked once per conversation."""
        cached = self._lc_threads.get(conversation_id)
        if cached is not None:
            return cached
        conversation = await self.get_conversation(conversation_id)
        if not conversation.contact_id:
            raise UnsupportedFeatureError(
                "send messages into this conversation",
                f"conversation {conversation_id} has no contactId to send to",
            )
        thread = _LeadConnectorThread(conversation.contact_id, conversation.is_group)
        self._lc_threads[conversation_id] = thread
        return thread

    async def upload(
        self,
        conversation_id: str,
        filename: str,
        data: bytes,
        content_type: str,
        on_progress: Progress | None = None,
    ) -> str:
        """Upload one file for a group message; returns its URL for ``send_message``.

        ``on_progress(sent, total)`` is called as the request body (the file plus
        a few hundred bytes of form fields) actually leaves; it restarts from 0
        if the upload is retried.
        """
        path = "/conversations/messages/upload"
        if self.leadconnector:
            return await self._upload_leadconnector(
                conversation_id, filename, data, content_type, on_progress
            )
        body, content_type_header = encode_upload(conversation_id, filename, data, content_type)
        headers = {
            "Content-Type": content_type_header,
            "Content-Length": str(len(body)),
            # A repeated upload at worst leaves an unused file, never a duplicate message.
            "Idempotency-Key": str(uuid.uuid4()),
        }
        payload = await self._json(
            "POST",
            path,
            headers=headers,
            content=lambda: progress_stream(body, on_progress),
            idempotent=True,
        )
        files = field(payload, "uploadedFiles", path)
        urls = [u for u in files.values() if isinstance(u, str)] if isinstance(files, dict) else []
        if not urls:
            raise MalformedResponseError(f"POST {path}: no uploaded file URL in the answer")
        return urls[0]

    async def _upload_leadconnector(
        self,
        conversation_id: str,
        filename: str,
        data: bytes,
        content_type: str,
        on_progress: Progress | None,
    ) -> str:
        """LeadConnector's current upload form: contact, conversation and location.

        A group conversation's file goes up as a group-SMS upload (one file a request).
        No ``Idempotency-Key`` (its documents declare none): a repeated upload can at
        worst leave an unused file (or Twilio media) behind, never send anything, so
        it is still retried.
        """
        path = "/conversations/messages/upload"
        thread = await self._leadconnector_thread(conversation_id)
        fields = lc.upload_fields(
            conversation_id, thread.contact_id, await self.location_id(), group=thread.is_group
        )
        body, content_type_header = encode_form(fields, lc.FILE_FIELD, filename, data, content_type)
        headers = {"Content-Type": content_type_header, "Content-Length": str(len(body))}
        payload = await self._json(
            "POST",
            path,
            headers=headers,
            content=lambda: progress_stream(body, on_progress),
            idempotent=True,
        )
        answer = lc.uploaded(payload, f"POST {path}")
        if not answer.urls:
            sids = ", ".join(answer.twilio_media_sids) or "none"
            raise MalformedResponseError(
                f"POST {path}: the answer names no uploaded file URL (Twilio media: {sids})"
            )
        if answer.twilio_media_sids:
            log.debug("upload for %s: Twilio media %s", conversation_id, answer.twilio_media_sids)
        return answer.urls[0]

    async def download(self, url: str) -> bytes:
        """The bytes of an attachment URL. The token goes only to the backend's own origin."""
        target = self.base_url.join(url)
        if not may_carry_token(target, in_process=self._in_process):
            raise InsecureUrlError(f"refusing to download over {target.scheme}: {target.host}")
        own = same_origin(target, self.base_url)
        headers = self._headers(target.path) if own else {}
        headers["Accept"] = "*/*"
        what = f"GET {target.path}"

        async def attempt() -> bytes:
            request = self._http.build_request("GET", target, headers=headers)
            # Redirects (e.g. to a CDN) are fine here; httpx drops Authorization across origins.
            response = await self._transmit(request, what, follow_redirects=True)
            return response.content

        return await self.retry.run(attempt, idempotent=True)

    # --- live updates ----------------------------------------------------------------

    async def events(self, after: str | None = None, wait: int = 25) -> EventBatch:
        """Long-poll: events after ``after`` (None = from now, "0" = from the start).

        Answers as soon as there is at least one event, or after ``wait`` seconds
        (capped at 30) with none; continue from the answer's ``cursor``.
        """
        self._require_extension("receive live updates")
        wait = max(0, min(wait, MAX_LONG_POLL_WAIT))
        timeout = _with_read(self._timeout, wait + LONG_POLL_GRACE)
        payload = await self._json(
            "GET", "/events", params={"after": after, "wait": wait}, request_timeout=timeout
        )
        return validate(_EVENT_BATCH, payload, "GET /events")

    async def stream_events(self, after: str | None = None) -> AsyncIterator[Event]:
        """Server-sent events after ``after``, until the server closes the stream.

        Ends normally when the stream closes; raises NetworkError/RequestTimeout when it
        breaks, UnsupportedFeatureError when the backend does not stream. No retries here:
        the caller (sync) owns reconnecting from its last cursor. Keep-alives are skipped;
        events of unknown type come through as ``EventType.UNKNOWN``.
        """
        self._require_extension("receive live updates")
        if self._in_process:
            # httpx.ASGITransport buffers the whole answer, so an endless stream would never
            # arrive; the embedded backend is followed with events() (long-poll) instead.
            raise UnsupportedFeatureError("stream live updates", "ASGI transport cannot stream")
        params = {"after": after} if after is not None else {}
        headers = self._headers("/events", {"Accept": "text/event-stream"})
        timeout = _with_read(self._timeout, STREAM_IDLE_TIMEOUT)
        try:
            async with aconnect_sse(
                self._http, "GET", "/events", params=params, headers=headers, timeout=timeout
            ) as source:
                response = source.response
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_status(response, "GET /events")
                if "text/event-stream" not in response.headers.get("Content-Type", ""):
                    raise UnsupportedFeatureError("receive live updates", "no event stream")
                async for sse in source.aiter_sse():
                    event = event_from_sse(sse)
                    if event is not None:
                        yield event
        except SSEError as exc:
            raise UnsupportedFeatureError("receive live updates", str(exc)) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, "GET /events (stream)") from None

    # --- push notifications [ext] -------------------------------------------------------

    async def register_device(
        self, platform: DevicePlatform | str, push_id: str, app_version: str = ""
    ) -> Device:
        """Register this device for push (again: the same device, updated)."""
        self._require_extension("send push notifications")
        body = {"platform": str(platform), "pushId": push_id, "appVersion": app_version}
        # Registering the same push id twice is the same device: safe to repeat.
        payload = await self._json("POST", "/devices", json=body, idempotent=True)
        return validate(_DEVICE, unwrap(payload, "device"), "POST /devices")

    async def devices(self) -> list[Device]:
        self._require_extension("send push notifications")
        payload = await self._json("GET", "/devices")
        return validate(_DEVICES, field(payload, "devices", "GET /devices"), "GET /devices")

    async def delete_device(self, device_id: str) -> None:
        """Stop pushing to a device (on sign-out)."""
        self._require_extension("send push notifications")
        await self._send("DELETE", f"/devices/{device_id}")

    async def notification_settings(self) -> NotificationSettings:
        self._require_extension("send push notifications")
        payload = await self._json("GET", "/me/notifications")
        return validate(_NOTIFICATION_SETTINGS, payload, "GET /me/notifications")

    async def set_push_staff_messages(self, on: bool) -> NotificationSettings:
        self._require_extension("send push notifications")
        payload = await self._json("PUT", "/me/notifications", json={"pushStaffMessages": on})
        return validate(_NOTIFICATION_SETTINGS, payload, "PUT /me/notifications")

    async def set_muted(self, conversation_id: str, muted: bool) -> NotificationSettings:
        """Mute (no push, no sound; its unread still counts) or unmute a thread."""
        self._require_extension("mute conversations")
        method = "PUT" if muted else "DELETE"
        path = f"/conversations/{conversation_id}/mute"
        payload = await self._json(method, path)
        return validate(_NOTIFICATION_SETTINGS, payload, f"{method} {path}")

    # --- sandbox controls [ext] --------------------------------------------------------

    async def sandbox_inbound(
        self, from_: str, to: Iterable[str], body: str, media_urls: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Simulate a participant's phone texting the business (embedded backend only)."""
        self._require_extension("simulate incoming texts")
        payload: dict[str, Any] = {"from": from_, "to": list(to), "body": body}
        media = list(media_urls)
        if media:
            payload["mediaUrls"] = media
        return _as_dict(await self._json("POST", "/sandbox/inbound", json=payload))

    async def sandbox_carrier(
        self,
        latency_ms: int | None = None,
        fail_rate: float | None = None,
        max_mms_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Tune the simulated carrier (embedded backend only); unset values stay as they are."""
        self._require_extension("simulate the carrier")
        body = {"latencyMs": latency_ms, "failRate": fail_rate, "maxMmsBytes": max_mms_bytes}
        clean = {k: v for k, v in body.items() if v is not None}
        # Setting values is idempotent.
        return _as_dict(await self._json("POST", "/sandbox/carrier", json=clean, idempotent=True))


def _checked_token(token: str) -> str:
    """The token without surrounding blanks; one no server could have issued is an AuthError.

    (httpx would otherwise fail on it deep inside a request with a UnicodeEncodeError.)
    """
    token = token.strip()
    if not token.isascii() or not token.isprintable():
        raise AuthError("token contains characters no token has", status_code=401)
    return token


def _messages_page(payload: Any, what: str) -> Any:
    """The page object of a messages answer.

    LeadConnector answers ``{"messages": {"lastMessageId", "nextPage", "messages": [...]}}``
    (as does the contract), while its published schema shows the page unwrapped;
    accept both so a fix on either side cannot break the thread view.
    """
    inner = field(payload, "messages", what)
    return inner if isinstance(inner, dict) else payload


def _with_read(timeout: httpx.Timeout, read: float) -> httpx.Timeout:
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def _as_dict(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else {}
