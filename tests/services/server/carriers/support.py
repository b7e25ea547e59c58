"""What the carrier fakes share: a transport per host, a settable clock, spec-checked answers.

The fakes answer through ``tests/openapi_mock.OpenApiMock``, which validates every request
against the carrier's official OpenAPI document. Their own answers are checked too: a 2xx
body must fit the document's response schema (undeclared fields count as errors), so the
carrier code is tested against the shapes the carrier really sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.openapi_mock import Call, Operation, json_response, json_schema, schema_errors

NOW = datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
PUBLIC_URL = "https://chat.example.com"

# The fictional 555-01XX range is valid for US/Canada in phonenumbers (see services/phones).
BUSINESS = "+14155550100"
MEMBERS = ("+14155550111", "+14155550122", "+16045550133")


class Clock:
    """A clock the test moves by hand; carriers read it, nothing sleeps."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class HostRouter(httpx.AsyncBaseTransport):
    """One transport per host name, as the carrier's several API hosts need."""

    def __init__(self, routes: Mapping[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = dict(routes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get(request.url.host)
        if transport is None:
            raise AssertionError(f"the carrier called an unexpected host: {request.url.host}")
        return await transport.handle_async_request(request)


class Handler(httpx.AsyncBaseTransport):
    """A transport answering from a plain function (for hosts no spec describes)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self.answer(request)


@dataclass
class Faults:
    """Failures queued per operation id, each used once, in order.

    A fault is a status answer (``status``, ``body``, ``headers``), or an exception
    raised before (``before``) or after (``after``) the fake carried the request out:
    "after" is the lost answer, the request took effect but the reply never came.
    """

    queued: dict[str, list[Fault]] = field(default_factory=dict)

    def add(self, operation: str, fault: Fault) -> None:
        self.queued.setdefault(operation, []).append(fault)

    def take(self, operation: str) -> Fault | None:
        faults = self.queued.get(operation)
        return faults.pop(0) if faults else None


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    before: Exception | None = None
    after: Exception | None = None


def answer_with(call: Call, status: int, body: Any, headers: Mapping[str, str] | None = None):
    """A JSON answer; a 2xx body must fit the operation's documented response schema."""
    assert call.operation is not None
    if 200 <= status < 300:
        check_response(call.operation, status, body)
    return json_response(status, body, dict(headers or {}))


def check_response(operation: Operation, status: int, body: Any) -> None:
    schema = operation.response_schema(status)
    if schema is None:
        return
    problems = schema_errors(json_schema(schema), body)
    if problems:
        raise AssertionError(
            f"the fake's answer to {operation.operation_id} breaks the document: {problems}"
        )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def form_values(call: Call, name: str) -> list[str]:
    return [value.decode() for _, value in call.form().get(name, [])]


def form_value(call: Call, name: str) -> str | None:
    values = form_values(call, name)
    return values[0] if values else None


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
