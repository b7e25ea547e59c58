"""Hypothesis strategies for the values a JSON Schema allows.

``from_schema(schema)`` draws JSON values valid against ``schema`` (plain JSON
Schema, as ``tests.openapi_mock.json_schema`` makes from an OpenAPI document):
types and type lists, ``enum``/``const``, ``properties``/``required``/
``additionalProperties``, ``items`` with ``minItems``/``maxItems``/``uniqueItems``,
numeric bounds, string lengths, ``pattern`` and the common formats, and
``allOf``/``anyOf``/``oneOf``. Every drawn value is checked against the schema
with jsonschema, so a keyword modelled loosely here can only cost a redraw,
never yield an invalid value.

(hypothesis-jsonschema does this too, but its last release relies on Hypothesis
internals that current Hypothesis no longer has.)
"""

from __future__ import annotations

import json
import math
import string
from datetime import UTC
from typing import Any

import jsonschema
from hypothesis import strategies as st

# Lists stay short: the point is every shape, not big pages.
MAX_ITEMS = 4
MAX_EXTRA_KEYS = 3

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def from_schema(schema: Any) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (filtered through jsonschema as a final check)."""
    validator_cls = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    validator = validator_cls(schema)
    return _strategy(schema).filter(validator.is_valid)


def _strategy(schema: Any) -> st.SearchStrategy[Any]:
    if schema is True or schema == {}:
        return ANY_JSON
    if schema is False:
        return st.nothing()
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "allOf" in schema:
        return _all_of(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([_strategy({**rest, **branch}) for branch in schema[key]])
    types = schema.get("type")
    if types is None:
        types = _implied_types(schema)
    if isinstance(types, str):
        types = [types]
    return st.one_of([_typed(schema, kind) for kind in types])


def _implied_types(schema: dict[str, Any]) -> list[str]:
    if "properties" in schema or "additionalProperties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return ["null", "boolean", "number", "string", "array", "object"]


def _all_of(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return _strategy(merged)


def _typed(schema: dict[str, Any], kind: str) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return _integers(schema)
    if kind == "number":
        return _integers(schema) | _floats(schema)
    if kind == "string":
        return _strings(schema)
    if kind == "array":
        return _arrays(schema)
    if kind == "object":
        return _objects(schema)
    return st.nothing()


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    return low, high


def _integers(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low, high = _bounds(schema)
    return st.integers(
        min_value=None if low is None else math.ceil(low),
        max_value=None if high is None else math.floor(high),
    )


def _floats(schema: dict[str, Any]) -> st.SearchStrategy[float]:
    low, high = _bounds(schema)
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    "date": st.dates().map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.isoformat()),
    "email": st.emails(),
    "uuid": st.uuids().map(str),
    "uri": st.text(string.ascii_lowercase, min_size=1, max_size=10).map(
        lambda s: f"https://{s}.example/"
    ),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
    "hostname": st.text(string.ascii_lowercase, min_size=1, max_size=10).map(
        lambda s: f"{s}.example"
    ),
}


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "pattern" in schema:
        return st.from_regex(schema["pattern"])
    return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 24))


def _arrays(schema: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    low = schema.get("minItems", 0)
    high = max(low, min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS))
    items = _strategy(schema.get("items", {}))
    unique = json.dumps if schema.get("uniqueItems") else None
    return st.lists(items, min_size=low, max_size=high, unique_by=unique)


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in properties]
    optional = [name for name in properties if name not in required]
    extra = schema.get("additionalProperties", True)
    known = set(properties) | set(schema.get("required", []))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = {name: draw(_strategy(properties[name])) for name in required}
        for name in optional:
            if draw(st.booleans()):
                out[name] = draw(_strategy(properties[name]))
        for name in schema.get("required", []):
            if name not in out:  # required but undeclared: anything will do
                out[name] = draw(ANY_JSON)
        if extra is not False and (extra is not True or not properties):
            keys = st.text(max_size=8).filter(lambda k: k not in known)
            values = ANY_JSON if extra is True else _strategy(extra)
            out.update(draw(st.dictionaries(keys, values, max_size=MAX_EXTRA_KEYS)))
        return out

    return build()
