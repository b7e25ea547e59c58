"""A validating mock of an HTTP API, driven by the API's own OpenAPI documents.

``OpenApiMock`` is an ``httpx.AsyncBaseTransport``: hand it to the client under
test in place of the network. For every request it

1. finds the operation (method and path) in the documents it was given;
2. validates the request strictly: path, query and header parameters (with their
   schemas, e.g. a ``Version`` header's enum), the security requirement, and the
   body — JSON, form-urlencoded or multipart — against the operation's schema
   (openapi-core does the schema work). Beyond what OpenAPI itself forbids, it
   counts as a violation whatever the documents do not declare: a query
   parameter or header they do not list, a body field that is not among the
   schema's properties, a call to a deprecated operation;
3. answers with what ``answer(call)`` returns, or by default with the
   operation's own example (composed from the schema's examples, as Prism does).

Violations are collected, never raised inside the transport (the client under
test would only turn them into its own errors). A test ends with
``mock.assert_clean(...)``. A violation that a ``NamedException`` covers is kept
apart in ``mock.excused``; ``assert_clean(excused=...)`` also checks exactly which
named exceptions were needed, so an exception cannot silently outlive its reason.

Documents load once per test session (``load_document`` is cached) and $refs are
followed only when a request or a schema reaches them, so a 4 MB document costs
one JSON parse per session. OpenAPI 3.0 and 3.1 are both handled.

``response_schema``/``json_schema`` turn a response schema into plain JSON
Schema (refs inlined, ``nullable`` and 3.0 quirks translated) for hypothesis-
jsonschema; ``example_of`` composes an example from a schema.
"""

from __future__ import annotations

import copy
import email
import email.policy
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

import httpx
import jsonschema
from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.validation.request import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
    V30RequestSecurityValidator,
    V31RequestBodyValidator,
    V31RequestParametersValidator,
    V31RequestSecurityValidator,
)
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
    SecurityValidationError,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Headers every HTTP client sends, which no API document lists.
TRANSPORT_HEADERS = frozenset(
    {
        "host",
        "accept",
        "accept-encoding",
        "connection",
        "user-agent",
        "content-type",
        "content-length",
        "transfer-encoding",
    }
)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# String formats hypothesis-jsonschema generates; OpenAPI's own (int64, binary, ...) are dropped.
JSON_SCHEMA_FORMATS = frozenset(
    {"date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname"}
)
_ANNOTATIONS = frozenset(
    {
        "example",
        "examples",
        "description",
        "deprecated",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "discriminator",
        "nullable",
        "title",
    }
)


# --- documents ------------------------------------------------------------------------


@functools.cache
def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def load_document(path: str | Path) -> Document:
    """One OpenAPI document, parsed once per test session."""
    return Document(Path(path).resolve())


class Document:
    """An OpenAPI document and the operations in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw: dict[str, Any] = _read_json(path)
        self.version = str(self.raw.get("openapi", ""))

    def __repr__(self) -> str:
        return f"Document({self.path.name})"

    @functools.cached_property
    def spec(self) -> SchemaPath:
        return SchemaPath.from_dict(self.raw, base_uri=self.path.as_uri())

    @functools.cached_property
    def validators(self) -> tuple[Any, Any, Any]:
        """openapi-core's parameter, body and security validators (body: undeclared = error)."""
        if self.version.startswith("3.1"):
            classes: tuple[Any, Any, Any] = (
                V31RequestParametersValidator,
                V31RequestBodyValidator,
                V31RequestSecurityValidator,
            )
        else:
            classes = (
                V30RequestParametersValidator,
                V30RequestBodyValidator,
                V30RequestSecurityValidator,
            )
        params, body, security = classes
        return (
            params(self.spec),
            body(self.spec, forbid_unspecified_additional_properties=True),
            security(self.spec),
        )

    @functools.cached_property
    def routes(self) -> list[_Route]:
        routes = []
        for template, item in self.raw.get("paths", {}).items():
            servers = item.get("servers") or self.raw.get("servers") or [{"url": "/"}]
            prefixes = tuple(urlparse(s.get("url", "/")).path.rstrip("/") for s in servers)
            routes.append(_Route(template, _template_regex(template), prefixes, servers[0]))
        # Literal segments beat templated ones (/conversations/search vs /conversations/{id}).
        routes.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
        return routes

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        method = method.lower()
        for route in self.routes:
            for prefix in route.prefixes:
                if not path.startswith(prefix):
                    continue
                match = route.regex.fullmatch(path[len(prefix) :])
                item = self.raw["paths"][route.template]
                if match and method in item:
                    params = {k: unquote(v) for k, v in match.groupdict().items()}
                    return Operation(self, method, route.template), params
        return None

    def operation(self, operation_id: str) -> Operation:
        for template, item in self.raw.get("paths", {}).items():
            for method in METHODS:
                if item.get(method, {}).get("operationId") == operation_id:
                    return Operation(self, method, template)
        raise KeyError(f"{self.path.name} has no operation {operation_id!r}")

    def resolve(self, node: Any, base: Path | None = None) -> tuple[Any, Path]:
        """Follow a chain of $refs (also into other files) to the node it names."""
        base = base or self.path
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node, base = _dereference(node["$ref"], base)
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref loop in {base}")
        return node, base

    def inline(self, node: Any, base: Path | None = None) -> Any:
        """A deep copy of ``node`` with every $ref replaced by its target (cycles become {})."""
        return _inline(node, base or self.path, ())


@dataclass(frozen=True)
class _Route:
    template: str
    regex: re.Pattern[str]
    prefixes: tuple[str, ...]
    server: dict[str, Any]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/{}]+\})", template)
    pattern = "".join(
        f"(?P<{_group(p[1:-1])}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(pattern)


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _dereference(ref: str, base: Path) -> tuple[Any, Path]:
    file_part, _, pointer = ref.partition("#")
    target = (base.parent / file_part).resolve() if file_part else base
    node = _read_json(target)
    for token in filter(None, pointer.split("/")):
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, target


def _inline(node: Any, base: Path, stack: tuple[tuple[Path, str], ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, base, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        key = (base, ref)
        if key in stack:
            return {}  # a recursive schema: stop here, anything goes below
        target, target_base = _dereference(ref, base)
        return _inline(target, target_base, (*stack, key))
    return {k: _inline(v, base, stack) for k, v in node.items()}


@dataclass(frozen=True)
class Operation:
    """One operation (method + path template) of a document."""

    document: Document
    method: str
    template: str

    @property
    def node(self) -> dict[str, Any]:
        item, _ = self.document.resolve(self.document.raw["paths"][self.template])
        node: dict[str, Any] = item[self.method]
        return node

    @property
    def operation_id(self) -> str:
        return str(self.node.get("operationId") or f"{self.method.upper()} {self.template}")

    @property
    def deprecated(self) -> bool:
        return bool(self.node.get("deprecated"))

    def parameters(self) -> list[dict[str, Any]]:
        """Declared parameters, the path item's first, the operation's overriding them."""
        item = self.document.raw["paths"][self.template]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item.get("parameters", []), *self.node.get("parameters", [])]:
            param, _ = self.document.resolve(raw)
            merged[(str(param.get("in")), str(param.get("name")).lower())] = param
        return list(merged.values())

    def request_schema(self, media_type: str) -> dict[str, Any] | None:
        body, base = self.document.resolve(self.node.get("requestBody", {}))
        media = body.get("content", {}).get(media_type)
        if media is None or "schema" not in media:
            return None
        schema: dict[str, Any] = _inline(media["schema"], base, ())
        return schema

    def responses(self) -> dict[str, dict[str, Any]]:
        out = {}
        for status, raw in self.node.get("responses", {}).items():
            out[str(status)], _ = self.document.resolve(raw)
        return out

    def response_schema(
        self, status: int | str, media_type: str = "application/json"
    ) -> dict[str, Any] | None:
        """The inlined schema of one documented answer, or None when it has none."""
        responses = self.node.get("responses", {})
        raw = responses.get(str(status), responses.get("default"))
        if raw is None:
            return None
        response, base = self.document.resolve(raw)
        media = response.get("content", {}).get(media_type)
        if media is None or "schema" not in media:
            return None
        schema: dict[str, Any] = _inline(media["schema"], base, ())
        return schema

    def success_status(self) -> int:
        for status in self.node.get("responses", {}):
            if str(status).startswith("2"):
                return 200 if "X" in str(status).upper() else int(status)
        return 200

    def security_headers(self) -> set[str]:
        """Header names the operation's security schemes put credentials in."""
        requirements = self.node.get("security", self.document.raw.get("security", []))
        schemes = self.document.raw.get("components", {}).get("securitySchemes", {})
        names: set[str] = set()
        for requirement in requirements:
            for scheme_name in requirement:
                scheme, _ = self.document.resolve(schemes.get(scheme_name, {}))
                if scheme.get("type") in ("http", "oauth2", "openIdConnect"):
                    names.add("authorization")
                elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                    names.add(str(scheme.get("name", "")).lower())
        return names


# --- schemas: JSON Schema for generators, examples for answers -------------------------


def json_schema(schema: Any, *, closed: bool = True) -> Any:
    """Plain JSON Schema from an inlined OpenAPI 3.0/3.1 schema.

    ``nullable`` becomes a "null" type, 3.0's boolean exclusive bounds become 3.1's
    numeric ones, an invalid ``type: any`` means no type, and OpenAPI-only formats
    and annotations go. ``closed`` forbids properties a schema does not declare
    (objects that declare none stay free-form): generated answers then hold the
    documented fields only, which is what "an answer the spec documents" means.
    """
    if isinstance(schema, list):
        return [json_schema(s, closed=closed) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if closed:
        schema = _merge_all_of(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            out[key] = {k: json_schema(v, closed=closed) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = json_schema(value, closed=closed)
        elif (key, value) == ("type", "any") or (
            key == "format" and value not in JSON_SCHEMA_FORMATS
        ):
            continue
        else:
            out[key] = value
    _translate_3_0(schema, out)
    if (
        closed
        and out.get("properties")
        and not {"additionalProperties", "patternProperties", "allOf"} & out.keys()
    ):
        out["additionalProperties"] = False
    return out


def _translate_3_0(schema: dict[str, Any], out: dict[str, Any]) -> None:
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.pop(exclusive) if isinstance(out.get(exclusive), bool) else None
        if flag and bound in out:
            out[exclusive] = out.pop(bound)


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """allOf of plain object schemas folded into one, so closing it stays satisfiable."""
    parts = schema.get("allOf")
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        return schema
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        part = _merge_all_of(part)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key not in merged:
                merged[key] = value
    return merged


def example_of(schema: Any) -> Any:
    """An example value for an inlined schema, composed as Prism's static mode does.

    The schema's own ``example`` (or first ``examples``) wins, then ``default``, then
    the first ``enum`` value; objects are built from every declared property, arrays
    hold one item, and a bare type gets a neutral value.
    """
    if not isinstance(schema, dict):
        return None
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return copy.deepcopy(schema["examples"][0])
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    if "allOf" in schema:
        return example_of(_merge_all_of(schema))
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example_of(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {name: example_of(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}))]
    return _NEUTRAL.get(schema.get("format", ""), _NEUTRAL.get(str(kind)))


_NEUTRAL: dict[str, Any] = {
    "string": "string",
    "number": 0,
    "integer": 0,
    "boolean": True,
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "uri": "https://example.com/",
}


def schema_errors(schema: Any, value: Any) -> list[str]:
    """Where ``value`` breaks a JSON Schema made by ``json_schema`` (empty when valid)."""
    validator_cls = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    validator = validator_cls(schema)
    return sorted(
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(value)
    )


# --- violations and named exceptions ---------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One way a request breaks the documents.

    ``where`` is "path", "operation", "query NAME", "header NAME", "security",
    "body" or "body.FIELD[.SUBFIELD]".
    """

    operation: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.where}: {self.problem}"


@dataclass(frozen=True)
class NamedException:
    """A known violation the client commits on purpose, with the reason (see docs/contract.md)."""

    name: str
    operation: str
    where: str
    problem: str
    reason: str

    def covers(self, violation: Violation) -> bool:
        return (
            violation.operation == self.operation
            and violation.where == self.where
            and self.problem in violation.problem
        )


MISSING = "required but missing"
UNDECLARED = "not declared"
DEPRECATED = "deprecated"


@dataclass
class Call:
    """One request the mock received: what it was, which operation, what it broke."""

    request: httpx.Request
    operation: Operation | None
    path_params: dict[str, str]
    violations: list[Violation] = field(default_factory=list)

    @property
    def operation_id(self) -> str | None:
        return self.operation.operation_id if self.operation else None

    def json(self) -> Any:
        return json.loads(self.request.content)

    def form(self) -> dict[str, list[tuple[str | None, bytes]]]:
        """Form fields: name -> [(filename or None, payload)], multipart or urlencoded."""
        return _form_fields(self.request)


Answer = Callable[[Call], httpx.Response]


class OpenApiMock(httpx.AsyncBaseTransport):
    """A transport that validates each request against the documents and answers it."""

    def __init__(
        self,
        documents: Iterable[str | Path | Document],
        answer: Answer | None = None,
        *,
        exceptions: Iterable[NamedException] = (),
    ) -> None:
        self.documents = [d if isinstance(d, Document) else load_document(d) for d in documents]
        self.answer = answer or example_response
        self.exceptions = list(exceptions)
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.excused: list[tuple[NamedException, Violation]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        call = self.check(request)
        self.calls.append(call)
        if call.operation is None:
            return httpx.Response(404, json={"statusCode": 404, "message": "Not Found"})
        return self.answer(call)

    def check(self, request: httpx.Request) -> Call:
        """Find the request's operation and record every violation (no answer)."""
        found = self.find(request.method, request.url.path)
        if found is None:
            where = f"{request.method} {request.url.path}"
            call = Call(request, None, {})
            self._record(call, [Violation(where, "path", "no such operation in the documents")])
            return call
        operation, params = found
        call = Call(request, operation, params)
        self._record(call, list(request_violations(operation, request)))
        return call

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for document in self.documents:
            found = document.find(method, path)
            if found is not None:
                return found
        return None

    def operation(self, operation_id: str) -> Operation:
        for document in self.documents:
            try:
                return document.operation(operation_id)
            except KeyError:
                continue
        raise KeyError(f"no operation {operation_id!r} in {self.documents}")

    def _record(self, call: Call, violations: list[Violation]) -> None:
        for violation in violations:
            call.violations.append(violation)
            named = next((e for e in self.exceptions if e.covers(violation)), None)
            if named is None:
                self.violations.append(violation)
            else:
                self.excused.append((named, violation))

    def operations_called(self) -> list[str]:
        return [c.operation_id or "?" for c in self.calls]

    def excused_names(self) -> set[str]:
        return {named.name for named, _ in self.excused}

    def assert_clean(self, *, excused: Collection[str] | None = None) -> None:
        """No violation outside the named exceptions; with ``excused``, exactly those used."""
        problems = [str(v) for v in self.violations]
        if problems:
            raise AssertionError("requests broke the documents:\n  " + "\n  ".join(problems))
        if excused is not None and self.excused_names() != set(excused):
            raise AssertionError(
                f"named exceptions used: {sorted(self.excused_names())}, "
                f"expected: {sorted(excused)}"
            )


def example_response(call: Call) -> httpx.Response:
    """The operation's documented success answer, built from its own examples."""
    assert call.operation is not None
    status = call.operation.success_status()
    schema = call.operation.response_schema(status)
    if schema is None:
        return httpx.Response(status)
    return json_response(status, example_of(schema))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer; ASCII-escaped so any generated string (even a lone surrogate) encodes."""
    content = json.dumps(body, ensure_ascii=True).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return httpx.Response(status, content=content, headers=all_headers)


# --- request validation --------------------------------------------------------------


def request_violations(operation: Operation, request: httpx.Request) -> Iterator[Violation]:
    """Every way ``request`` breaks ``operation`` (deduplicated)."""
    seen: set[tuple[str, str]] = set()
    for violation in _all_violations(operation, request):
        key = (violation.where, violation.problem)
        if key not in seen:
            seen.add(key)
            yield violation


def _all_violations(operation: Operation, request: httpx.Request) -> Iterator[Violation]:
    op = operation.operation_id
    if operation.deprecated:
        yield Violation(op, "operation", f"{DEPRECATED} (the document says to stop using it)")
    yield from _undeclared_parameters(operation, request)
    adapted = _adapt(operation, request)
    params_validator, body_validator, security_validator = operation.document.validators
    for error in params_validator.iter_errors(adapted):
        yield _parameter_violation(op, error)
    for error in security_validator.iter_errors(adapted):
        yield Violation(op, "security", f"{error.__class__.__name__}: {error.__cause__ or error}")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form = media_type in FORM_TYPES
    for error in body_validator.iter_errors(adapted):
        for violation in _body_violations(op, error):
            # For forms openapi-core reads declared fields only (and turns a missing array
            # into []), so their field names are checked below instead.
            if not (form and violation.problem in (MISSING, UNDECLARED)):
                yield violation
    if form:
        yield from _form_violations(operation, request, media_type)


def _undeclared_parameters(operation: Operation, request: httpx.Request) -> Iterator[Violation]:
    op = operation.operation_id
    declared = {(p.get("in"), str(p.get("name")).lower()): p for p in operation.parameters()}
    for name in dict.fromkeys(request.url.params.keys()):
        param = declared.get(("query", name.lower()))
        if param is None:
            yield Violation(op, f"query {name}", UNDECLARED)
        elif param.get("deprecated"):
            yield Violation(op, f"query {name}", DEPRECATED)
    allowed = TRANSPORT_HEADERS | operation.security_headers()
    for name in dict.fromkeys(request.headers.keys()):
        lower = name.lower()
        param = declared.get(("header", lower))
        if param is None and lower not in allowed:
            yield Violation(op, f"header {_title(lower)}", UNDECLARED)
        elif param is not None and param.get("deprecated"):
            yield Violation(op, f"header {_title(lower)}", DEPRECATED)


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


@dataclass
class _AdaptedRequest:
    """httpx.Request in the shape openapi-core reads (its Request protocol)."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


def _adapt(operation: Operation, request: httpx.Request) -> _AdaptedRequest:
    # openapi-core matches servers too: address the request to the document's own server,
    # so a client under test may use any base URL for the same paths.
    route = next(r for r in operation.document.routes if r.template == operation.template)
    server = urlparse(route.server.get("url", "/"))
    host = f"{server.scheme}://{server.netloc}" if server.netloc else "http://mock.invalid"
    path = request.url.path
    prefix = next((p for p in route.prefixes if path.startswith(p)), "")
    return _AdaptedRequest(
        host_url=host,
        path=server.path.rstrip("/") + path[len(prefix) :],
        method=request.method.lower(),
        parameters=RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
        ),
        content_type=request.headers.get("content-type", ""),
        body=request.content or None,
    )


def _parameter_violation(op: str, error: Exception) -> Violation:
    if isinstance(error, ParameterValidationError):
        name = _title(error.name) if error.location == "header" else error.name
        where = f"{error.location} {name}"
        if isinstance(error, MissingRequiredParameter):
            return Violation(op, where, MISSING)
        if isinstance(error, InvalidParameter):
            return Violation(op, where, _cause(error))
        return Violation(op, where, _cause(error))
    return Violation(op, "request", f"{error.__class__.__name__}: {error}")


def _cause(error: Exception) -> str:
    cause = error.__cause__
    schema_errors_ = getattr(cause, "schema_errors", None)
    if schema_errors_:
        return "; ".join(e.message for e in schema_errors_)
    if cause is not None:
        return f"{cause.__class__.__name__}: {cause}"
    return str(error)


def _body_violations(op: str, error: Exception) -> Iterator[Violation]:
    if isinstance(error, SecurityValidationError):
        yield Violation(op, "security", str(error))
        return
    if isinstance(error, MissingRequiredRequestBody):
        yield Violation(op, "body", MISSING)
        return
    cause = error.__cause__
    if isinstance(cause, MediaTypeNotFound):
        yield Violation(
            op,
            "body",
            f"Content-Type {cause.mimetype} not declared (declared: {cause.availableMimetypes})",
        )
        return
    found = getattr(cause, "schema_errors", None)
    if not found:
        yield Violation(op, "body", f"{error.__class__.__name__}: {cause or error}")
        return
    for schema_error in found:
        yield from _schema_error_violations(op, schema_error)


def _schema_error_violations(op: str, error: Any) -> Iterator[Violation]:
    base = ".".join(["body", *(str(p) for p in error.absolute_path)])
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield Violation(op, f"{base}.{name}", MISSING)
        return
    # openapi-core reports undeclared fields under "additionalProperties" or, for an
    # object that declares none, under "properties": the message is the same.
    if "Additional properties are not allowed" in error.message and isinstance(instance, dict):
        declared = error.schema.get("properties", {})
        for name in instance:
            if name not in declared:
                yield Violation(op, f"{base}.{name}", UNDECLARED)
        return
    yield Violation(op, base, error.message)


def _form_violations(
    operation: Operation, request: httpx.Request, media_type: str
) -> Iterator[Violation]:
    op = operation.operation_id
    schema = operation.request_schema(media_type)
    if schema is None:
        return
    schema = _merge_all_of(schema)
    declared = schema.get("properties", {})
    fields = _form_fields(request)
    if not schema.get("additionalProperties"):
        for name in fields:
            if name not in declared:
                yield Violation(op, f"body.{name}", UNDECLARED)
    for name in schema.get("required", []):
        if name not in fields:
            yield Violation(op, f"body.{name}", MISSING)


def _form_fields(request: httpx.Request) -> dict[str, list[tuple[str | None, bytes]]]:
    content_type = request.headers.get("content-type", "")
    fields: dict[str, list[tuple[str | None, bytes]]] = {}
    if content_type.lower().startswith("multipart/"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parsed = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
        for part in parsed.iter_parts():
            name = str(part.get_param("name", header="Content-Disposition"))
            payload = part.get_payload(decode=True)
            fields.setdefault(name, []).append((part.get_filename(), bytes(payload or b"")))
    else:
        for name, value in parse_qsl(request.content.decode(), keep_blank_values=True):
            fields.setdefault(name, []).append((None, value.encode()))
    return fields
