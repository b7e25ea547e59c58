"""A small OpenAPI 3.1 description of the server, built from the routes and request models.

Served at ``GET /openapi.json`` so contract tools (and our fuzz tests) can
enumerate every operation and the schema of every JSON body.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.server import bodies

# (method, path, request body model or None, summary)
OPERATIONS: list[tuple[str, str, type[BaseModel] | None, str]] = [
    ("get", "/users/me", None, "The signed-in user"),
    ("get", "/users/", None, "Teammates of a location"),
    ("get", "/phone-system/numbers/location/{locationId}", None, "Business numbers"),
    ("post", "/contacts/search", bodies.ContactSearch, "Search contacts"),
    ("get", "/contacts/{contactId}", None, "One contact"),
    ("patch", "/contacts/{contactId}", bodies.ContactPatch, "Edit a contact"),
    ("delete", "/contacts/{contactId}", None, "Delete a contact"),
    ("get", "/conversations/search", None, "Search conversations"),
    ("get", "/conversations/{conversationId}", None, "One conversation"),
    ("put", "/conversations/{conversationId}", bodies.MarkRead, "Mark read"),
    ("post", "/conversations/groups", bodies.GroupCreate, "Create a group"),
    ("get", "/conversations/{conversationId}/messages", None, "Messages, newest first"),
    ("post", "/conversations/messages", bodies.SendMessage, "Send a message"),
    ("post", "/conversations/messages/upload", None, "Upload one attachment (multipart)"),
    ("get", "/events", None, "Events: SSE or long-poll JSON"),
    ("post", "/sandbox/inbound", bodies.Inbound, "Simulate an inbound text"),
    ("post", "/sandbox/carrier", bodies.CarrierTune, "Tune the simulated carrier"),
]

_ERROR = {
    "type": "object",
    "properties": {
        "statusCode": {"type": "integer"},
        "message": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "error": {"type": "string"},
    },
    "required": ["statusCode", "message", "error"],
}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, model, summary in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "responses": {
                "default": {
                    "description": "An error",
                    "content": {"application/json": {"schema": _ERROR}},
                }
            },
        }
        if model is not None:
            schema = model.model_json_schema(by_alias=True)
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Group Chat for SMS — embedded server", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
