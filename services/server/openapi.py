"""``/openapi.json``: FastAPI's document of the routes, plus what FastAPI can't infer.

FastAPI derives paths, parameters, bodies and answers from the routes and the
models in ``schemas.py``. Added here: each operation's refusals (the contract's
error body, by status) and the links a client follows from one answer to the
next operation (a created conversation's id feeds its messages).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_REF = "#/components/schemas/Problem"
_REFUSALS = {
    "400": "The body is not valid JSON.",
    "401": "The token is missing, unknown or revoked.",
    "403": "This user may not do that (a number they can't use, a contact not theirs).",
    "404": "It does not exist, or this user may not see it.",
    "409": "The group is blocked: a participant has Do Not Disturb on.",
    "413": "The body or the attachments are over the limit.",
    "415": "A file type text messages don't accept.",
    "422": "The request breaks a rule; every broken rule is listed.",
    "429": "Too many requests: wait Retry-After seconds.",
}


# From an answer to the operations it feeds (OpenAPI links; fuzzers follow them too).
_LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/conversations/groups", "post", "201"): {
        "GetConversation": {
            "operationId": "get_conversation",
            "parameters": {"conversationId": "$response.body#/conversation/id"},
        },
        "GetMessages": {
            "operationId": "get_messages",
            "parameters": {"conversationId": "$response.body#/conversation/id"},
        },
        "MarkRead": {
            "operationId": "mark_read",
            "parameters": {"conversationId": "$response.body#/conversation/id"},
        },
        "Mute": {
            "operationId": "mute_conversation",
            "parameters": {"conversationId": "$response.body#/conversation/id"},
        },
        "Unmute": {
            "operationId": "unmute_conversation",
            "parameters": {"conversationId": "$response.body#/conversation/id"},
        },
        "SendMessage": {
            "operationId": "send_message",
            "requestBody": {
                "type": "SMS",
                "conversationId": "$response.body#/conversation/id",
                "message": "Hello",
            },
        },
    },
    ("/conversations/messages", "post", "201"): {
        "GetMessages": {
            "operationId": "get_messages",
            "parameters": {"conversationId": "$response.body#/conversationId"},
        },
    },
    ("/contacts", "post", "201"): {
        "GetContact": {
            "operationId": "get_contact",
            "parameters": {"contactId": "$response.body#/contact/id"},
        },
        "UpdateContact": {
            "operationId": "update_contact",
            "parameters": {"contactId": "$response.body#/contact/id"},
        },
        "DeleteContact": {
            "operationId": "delete_contact",
            "parameters": {"contactId": "$response.body#/contact/id"},
        },
    },
}


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = _problem_schema()
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, path_item in doc.get("paths", {}).items():
        for method, operation in path_item.items():
            _refusals(operation)
            for status, answer in operation["responses"].items():
                links = _LINKS.get((path, method, status))
                if links:
                    answer["links"] = links
    return doc


def _problem_schema() -> dict[str, Any]:
    return {
        "title": "Problem",
        "type": "object",
        "required": ["statusCode", "message", "error"],
        "properties": {
            "statusCode": {"type": "integer"},
            "message": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "error": {"type": "string"},
        },
    }


def _refusals(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, sentence in _REFUSALS.items():
        responses[status] = {
            "description": sentence,
            "content": {"application/json": {"schema": {"$ref": PROBLEM_REF}}},
        }
