"""Contract fuzzing over the server's OpenAPI: whatever arrives, the answer is never a 5xx.

Bodies are arbitrary JSON, objects with the schema's own field names holding
values of any type (plus unknown fields), malformed bytes and huge payloads;
query strings are hostile too. Every refusal must be the contract's error
body with a clear message.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.server import seed
from services.server.app import create_app
from tests.services.server.conftest import BASE

# Hypothesis drives plain functions; each request runs on its own short event loop.

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def bodies_for(schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bytes for a JSON body: near-valid objects, arbitrary JSON, or not JSON at all."""
    fields = sorted(schema.get("properties", {}))
    near_valid = st.fixed_dictionaries(
        {},
        optional={name: json_values for name in fields}
        | {"unknownField": json_values, "__proto__": json_values},
    )
    as_json = (near_valid | json_values).map(lambda v: json.dumps(v).encode())
    not_json = st.binary(max_size=200) | st.sampled_from(
        [b"{", b"{'a': 1}", b"[1,]", b"\xff\xfe", b"NaN", b"[" * 40_000, b"{" + b" " * 70_000]
    )
    return as_json | not_json


def _operations() -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, JSON body schema or None) for every operation the document lists."""
    document = create_app(":memory:").openapi()
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema and "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            found.append((method, path, schema))
    return found


OPS = _operations()
JSON_OPS = [(m, p, schema) for m, p, schema in OPS if schema is not None]
GET_OPS = [(m, p) for m, p, schema in OPS if m == "get" and "{name}" not in p]


def fill(path: str, value: str) -> str:
    for name in ("{locationId}", "{contactId}", "{conversationId}", "{attachmentId}"):
        path = path.replace(name, value)
    return path


class Raw:
    """Plain requests to one sandbox, each on a fresh event loop (what Hypothesis can drive)."""

    def __init__(self, db: Path) -> None:
        self.app = create_app(db, seed="demo", rate_limit=0, latency_ms=0)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            headers = {"Authorization": f"Bearer {seed.ADMIN_TOKEN}"}
            async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def ids(self) -> list[str]:
        found = self.get("/conversations/search", params={"limit": 1})
        conversation = found.json()["conversations"][0]["id"]
        return [seed.LOCATION, seed.contact_id("Chloe", "Martin"), conversation]


@pytest.fixture
def raw(tmp_path: Path) -> Raw:
    return Raw(tmp_path / "fuzz.db")


def assert_contract_answer(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        body = answer.json()
        assert body["statusCode"] == answer.status_code
        assert isinstance(body["error"], str) and body["error"]
        message = body["message"]
        assert (isinstance(message, str) and message) or (
            isinstance(message, list) and message and all(isinstance(m, str) for m in message)
        )


def test_openapi_lists_every_operation(raw: Raw) -> None:
    document = (raw.get("/openapi.json")).json()
    listed = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert ("post", "/conversations/groups") in listed
    assert ("get", "/conversations/{conversationId}/messages") in listed
    assert ("post", "/conversations/messages/upload") in listed
    assert listed == {(m, p) for m, p, _ in OPS}


@pytest.mark.parametrize(
    ("method", "path", "schema"), JSON_OPS, ids=[f"{m} {p}" for m, p, _ in JSON_OPS]
)
@FUZZ
@given(data=st.data())
def test_json_bodies_never_5xx(
    raw: Raw, method: str, path: str, schema: dict[str, Any], data: st.DataObject
) -> None:
    body = data.draw(bodies_for(schema))
    target = fill(path, data.draw(st.sampled_from(raw.ids()) | st.text(min_size=1).map(quote)))
    answer = raw.request(
        method.upper(), target, content=body, headers={"Content-Type": "application/json"}
    )
    assert_contract_answer(answer)
    if body and not _parses(body):
        # Not JSON: refused as such (or earlier, for an unknown id or a body too big).
        assert answer.status_code in (400, 404, 413)


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


queries = st.dictionaries(
    st.sampled_from(
        [
            "limit",
            "startAfterDate",
            "startAfterId",
            "query",
            "status",
            "locationId",
            "after",
            "lastMessageId",
            "wait",
            "zzz",
        ]
    ),
    st.text(max_size=12) | st.integers(-(2**70), 2**70).map(str),
    max_size=4,
)


@pytest.mark.parametrize(("method", "path"), GET_OPS, ids=[p for _, p in GET_OPS])
@FUZZ
@given(data=st.data())
def test_queries_never_5xx(raw: Raw, method: str, path: str, data: st.DataObject) -> None:
    params = data.draw(queries)
    if "wait" in params:
        params["wait"] = data.draw(st.sampled_from(["", "x", "-1", "nan", "inf", "1e309", "0"]))
    target = fill(path, data.draw(st.sampled_from(raw.ids()) | st.text(min_size=1).map(quote)))
    answer = raw.get(target, params=params, headers={"Accept": "application/json"})
    assert_contract_answer(answer)


def test_malformed_json_is_400_with_a_clear_message(raw: Raw) -> None:
    answer = raw.post(
        "/contacts/search", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["message"]


def test_a_body_that_does_not_say_it_is_json_is_415(raw: Raw) -> None:
    answer = raw.post("/contacts/search", content=b'{"query": "a"}')
    assert (
        answer.status_code == 415 and "Content-Type: application/json" in answer.json()["message"]
    )


def test_wrong_types_and_unknown_fields_are_422_naming_them(raw: Raw) -> None:
    answer = raw.post(
        "/conversations/groups",
        json={"kind": "contacts", "fromNumber": 14155550100, "participants": "all", "color": 1},
    )
    assert answer.status_code == 422
    text = " ".join(answer.json()["message"])
    assert "fromNumber" in text and "participants" in text and "Unknown field 'color'" in text


def test_huge_body_is_413(raw: Raw) -> None:
    answer = raw.post("/contacts/search", json={"query": "x" * 200_000})
    assert answer.status_code == 413


def test_unknown_path_and_method_are_contract_errors(raw: Raw) -> None:
    assert_contract_answer(missing := raw.get("/no/such/thing"))
    assert missing.status_code == 404
    assert_contract_answer(wrong := raw.request("DELETE", "/conversations/search"))
    assert wrong.status_code in (404, 405)


multipart_parts = st.lists(
    st.tuples(
        st.sampled_from(["fileAttachment", "conversationId", "isGroupSms", "other", ""]),
        st.one_of(st.none(), st.text(max_size=20)),  # a file name, or a plain field
        st.binary(max_size=300),
    ),
    max_size=3,
)


@FUZZ
@given(
    parts=multipart_parts,
    boundary=st.sampled_from(["b0undary", "x", ""]),
    truncate=st.integers(0, 400),
)
def test_uploads_never_5xx(raw: Raw, parts: list[Any], boundary: str, truncate: int) -> None:
    body = b""
    for field_name, filename, payload in parts:
        disposition = f'form-data; name="{field_name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += payload + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    if truncate:
        body = body[:truncate]
    answer = raw.post(
        "/conversations/messages/upload",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_contract_answer(answer)
