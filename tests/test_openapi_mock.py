"""The validating mock itself, on small documents written here (3.0 and 3.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings

from tests import specs
from tests.json_strategies import from_schema
from tests.openapi_mock import (
    MISSING,
    UNDECLARED,
    NamedException,
    OpenApiMock,
    example_of,
    json_schema,
    load_document,
    schema_errors,
)

BASE = "https://api.example.test/v1"


def _document(tmp_path: Path, version: str) -> Path:
    nullable = (
        {"type": "string", "nullable": True}
        if version.startswith("3.0")
        else {"type": ["string", "null"]}
    )
    doc = {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": BASE}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Note": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "example": "n1"},
                        "text": nullable,
                        "size": {"type": "number", "minimum": 0, "example": 3},
                    },
                    "required": ["id"],
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/notes/{id}": {
                "get": {
                    "operationId": "get-note",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "Version",
                            "in": "header",
                            "required": True,
                            "schema": {"enum": ["2"]},
                        },
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Note"}
                                }
                            },
                        }
                    },
                }
            },
            "/notes/search": {
                "get": {"operationId": "search", "deprecated": True, "responses": {}}
            },
            "/notes": {
                "post": {
                    "operationId": "add-note",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {"$ref": "#/components/schemas/Note"}
                            },
                            "application/json": {"schema": {"$ref": "#/components/schemas/Note"}},
                        },
                    },
                    "responses": {"201": {"description": "made"}},
                }
            },
        },
    }
    path = tmp_path / f"notes-{version}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(params=["3.0.3", "3.1.0"])
def document(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _document(tmp_path, request.param)


def _problems(mock: OpenApiMock, request: httpx.Request) -> set[tuple[str, str]]:
    request.read()
    return {(v.where, v.problem) for v in mock.check(request).violations}


AUTH = {"Authorization": "Bearer t"}


def test_a_request_as_documented_has_no_violation(document):
    mock = OpenApiMock([document])
    request = httpx.Request(
        "GET", f"{BASE}/notes/n1", params={"limit": 2}, headers={"Version": "2", **AUTH}
    )
    assert _problems(mock, request) == set()


def test_parameters_headers_and_security_are_checked(document):
    mock = OpenApiMock([document])
    request = httpx.Request(
        "GET",
        f"{BASE}/notes/n1",
        params={"limit": "many", "page": "2"},
        headers={"Version": "3", "Idempotency-Key": "k"},
    )
    problems = _problems(mock, request)
    assert ("query page", UNDECLARED) in problems
    assert ("header Idempotency-Key", UNDECLARED) in problems
    assert any(where == "query limit" for where, _ in problems)
    assert any(
        where == "header Version" and "'3' is not one of ['2']" in p for where, p in problems
    )
    assert any(where == "security" for where, _ in problems)


def test_bodies_json_and_multipart_are_checked_field_by_field(document):
    mock = OpenApiMock([document])
    json_request = httpx.Request(
        "POST", f"{BASE}/notes", json={"text": None, "extra": 1, "size": -1}, headers=AUTH
    )
    problems = _problems(mock, json_request)
    assert {("body.id", MISSING), ("body.extra", UNDECLARED)} <= problems
    assert any(where == "body.size" for where, _ in problems)
    form = httpx.Request(
        "POST", f"{BASE}/notes", data={"text": "x"}, files={"file": ("a", b"1")}, headers=AUTH
    )
    assert _problems(mock, form) == {("body.id", MISSING), ("body.file", UNDECLARED)}


def test_deprecated_and_unknown_operations_are_violations(document):
    mock = OpenApiMock([document])
    problems = _problems(mock, httpx.Request("GET", f"{BASE}/notes/search", headers=AUTH))
    assert {where for where, _ in problems} == {"operation"}
    unknown = mock.check(httpx.Request("DELETE", f"{BASE}/notes/n1"))
    assert unknown.operation is None and unknown.violations[0].where == "path"


@pytest.mark.anyio
async def test_named_exceptions_excuse_by_name_and_must_all_be_needed(document):
    excuse = NamedException("no-id", "add-note", "body.id", MISSING, "because")
    mock = OpenApiMock([document], exceptions=[excuse])
    async with httpx.AsyncClient(transport=mock) as http:
        answer = await http.post(f"{BASE}/notes", json={"text": "x"}, headers=AUTH)
    assert answer.status_code == 201
    mock.assert_clean(excused={"no-id"})
    with pytest.raises(AssertionError, match="expected"):
        mock.assert_clean(excused=set())
    async with httpx.AsyncClient(transport=mock) as http:
        await http.post(f"{BASE}/notes", json={"id": "n", "extra": 1}, headers=AUTH)
    with pytest.raises(AssertionError, match=r"body\.extra: not declared"):
        mock.assert_clean()


@pytest.mark.anyio
async def test_the_default_answer_is_the_operations_own_example(document):
    mock = OpenApiMock([document])
    async with httpx.AsyncClient(transport=mock) as http:
        answer = await http.get(f"{BASE}/notes/n1", headers={"Version": "2", **AUTH})
    assert answer.json() == {"id": "n1", "text": "string", "size": 3}
    assert mock.operations_called() == ["get-note"]


def test_response_schemas_become_plain_json_schema(document):
    mock = OpenApiMock([document])
    schema = json_schema(mock.operation("get-note").response_schema(200))
    assert schema["properties"]["text"]["type"] == ["string", "null"]
    assert schema["additionalProperties"] is False
    assert schema_errors(schema, {"id": "a", "text": None}) == []
    assert schema_errors(schema, {"text": 1}) != []


def test_openapi_3_0_quirks_are_translated():
    schema = json_schema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "any"},
                "b": {"type": "number", "minimum": 1, "exclusiveMinimum": True},
                "c": {"type": "string", "format": "int64", "enum": ["x"], "nullable": True},
            },
        }
    )
    assert schema["properties"]["a"] == {}
    assert schema["properties"]["b"] == {"type": "number", "exclusiveMinimum": 1}
    assert schema["properties"]["c"] == {"type": ["string", "null"], "enum": ["x", None]}


def test_examples_prefer_the_schemas_own_then_default_then_enum():
    assert example_of({"type": "string", "example": "e", "default": "d"}) == "e"
    assert example_of({"type": "string", "default": "d", "enum": ["x"]}) == "d"
    assert example_of({"type": "array", "items": {"enum": ["x", "y"]}}) == ["x"]
    assert example_of({"allOf": [{"properties": {"a": {"type": "boolean"}}}]}) == {"a": True}


NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "n": {"type": ["integer", "null"], "minimum": 2},
        "items": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "free": {"type": "object"},
        "pick": {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": "^A[0-9]{2}$"}]},
    },
    "required": ["n", "pick"],
    "additionalProperties": False,
}


@given(value=from_schema(NESTED))
@settings(max_examples=50, database=None, deadline=None)
def test_generated_values_keep_to_their_schema(value):
    assert schema_errors(NESTED, value) == []


def test_documents_load_once_per_session(document):
    assert load_document(document) is load_document(str(document))


def test_a_missing_specs_folder_fails_with_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("GCS_SHARED_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.fail.Exception, match=r"looked in \$GCS_SHARED_DIR/specs"):
        specs.specs_dir()
    (tmp_path / "shared" / "specs").mkdir(parents=True)
    monkeypatch.setenv("GCS_SHARED_DIR", str(tmp_path / "shared"))
    assert specs.specs_dir() == tmp_path / "shared" / "specs"
