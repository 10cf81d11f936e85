"""The OpenAPI 3.1 document of every HTTP endpoint (SPEC §5), served at ``/api/openapi.json``.

Generated, not written: each JSON route is an ``Operation`` in ``server/http_api.py``'s route
table naming its request and reply models (``server/models.py``), and msgspec turns those models
into the schemas. The push models are built from the running rules, so the document states the
limits this server enforces. The pages and the WebSocket, which are not JSON, are described in
``OTHER`` below. ``tests/server/test_openapi.py`` keeps it true: every route the app registers
must be here, the document must validate, and Schemathesis checks real replies against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from server.models import ErrorReply

Json = dict[str, Any]
REF = "#/components/schemas/{name}"

# What each refusal status means on this API; an operation lists the ones it can answer.
ERRORS: dict[int, str] = {
    400: "invalid_request: malformed JSON, a wrong type, an unknown field, a bad value",
    401: "unauthorized: no token, or a forged, expired or wrong-kind token",
    403: "banned: the player is banned",
    404: "not_found: no such route, player, action, job or intervention",
    409: "round_not_active (clicks between rounds), paused (an admin stopped the game), or "
    "conflict (the state forbids the change)",
    413: "payload_too_large: the body is over 64 KiB",
    415: "unsupported_media_type: the body is not application/json",
    429: "rate_limited: too soon; see Retry-After",
    503: "unavailable: the game is not ready or cannot make the change durable",
}
HEADERS: dict[str, Json] = {
    "Retry-After": {
        "description": "whole seconds to wait before trying again",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "ETag": {"description": "the state version", "schema": {"type": "string"}},
}
STATUS_HEADERS = {429: ("Retry-After",)}


class Param(Protocol):
    """A query parameter as ``server/request_body.py`` declares it: read and documented alike."""

    @property
    def name(self) -> str: ...

    @property
    def where(self) -> str: ...  # query or header

    def schema(self) -> Json: ...


@dataclass(frozen=True, slots=True)
class Operation:
    """One JSON route: its handler and what the document says about it."""

    method: str
    path: str
    handler: Callable[..., Any]
    name: str
    summary: str
    reply: type | None = None  # the model of the success reply; None for a schemaless object
    status: int = 200
    # Other success statuses, each with what it means and, when it differs, its reply's model.
    also: tuple[tuple[int, str] | tuple[int, str, type], ...] = ()
    request: type | None = None
    request_required: bool = True
    errors: tuple[int, ...] = ()
    bearer: bool | None = None  # True: needed; None: not used; False: optional
    params: tuple[Param, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    reply_headers: tuple[str, ...] = ()
    not_modified: bool = False  # answers 304 to a matching If-None-Match
    admin: bool = False  # needs the admin token (SPEC §8)


def _json(ref: Json, description: str, headers: Iterable[str] = ()) -> Json:
    reply: Json = {"description": description, "content": {"application/json": {"schema": ref}}}
    if headers:
        reply["headers"] = {name: HEADERS[name] for name in headers}
    return reply


def _operation(op: Operation, refs: dict[type, Json]) -> Json:
    reply = refs[op.reply] if op.reply is not None else {"type": "object"}
    responses: Json = {str(op.status): _json(reply, op.summary, op.reply_headers)}
    for status, meaning, *model in op.also:
        responses[str(status)] = _json(refs[model[0]] if model else reply, meaning)
    if op.not_modified:
        responses["304"] = {
            "description": "unchanged since the ETag given",
            "headers": {"ETag": HEADERS["ETag"]},
        }
    for status in op.errors:
        error = _json(ERROR_REF, ERRORS[status], STATUS_HEADERS.get(status, ()))
        responses[str(status)] = error
    item: Json = {"summary": op.summary, "tags": list(op.tags), "responses": responses}
    if op.description:
        item["description"] = op.description
    if op.bearer is not None:
        item["security"] = [{"bearerAuth": []}] if op.bearer else [{}, {"bearerAuth": []}]
    if op.admin:
        item["security"] = [{"adminAuth": []}]
    if op.params:
        item["parameters"] = [
            {"name": p.name, "in": p.where, "required": p.where == "path", "schema": p.schema()}
            for p in op.params
        ]
    if op.request is not None:
        content = {"application/json": {"schema": refs[op.request]}}
        item["requestBody"] = {"required": op.request_required, "content": content}
    return item


def document(operations: Iterable[Operation], description: str) -> Json:
    """The whole document: ``operations`` generated from their models, ``OTHER`` as it is."""
    operations = list(operations)
    models: set[type] = {ErrorReply}
    for op in operations:
        models.update(m for m in (op.reply, op.request) if m is not None)
        models.update(also[2] for also in op.also if len(also) > 2)
    ordered = sorted(models, key=lambda m: m.__name__)
    schemas, components = msgspec.json.schema_components(ordered, ref_template=REF)
    refs = dict(zip(ordered, schemas, strict=True))
    paths: Json = dict(OTHER)
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Click the Button", "version": "1", "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "the player token from POST /api/session",
                },
                "adminAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "ADMIN_TOKEN, or the token kept in DATA_DIR/admin.token",
                },
            },
        },
    }


def _page(summary: str) -> Json:
    html = {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "get": {"summary": summary, "tags": ["pages"], "responses": {"200": html}},
        "head": {
            "summary": f"{summary} (headers only)",
            "tags": ["pages"],
            "responses": {"200": {"description": "the page's headers"}},
        },
    }


ERROR_REF = {"$ref": REF.format(name=ErrorReply.__name__)}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_TOKEN = {
    "name": "token",
    "in": "query",
    "required": True,
    "description": "a token from POST /api/ws-token",
    "schema": {"type": "string"},
}


def _static_file(summary: str) -> Json:
    """A file served from memory by ``server/pages.py``, with its 304 and 404."""
    return {
        "get": {
            "summary": summary,
            "tags": ["pages"],
            "parameters": [_NAME],
            "responses": {
                "200": {"description": "the file", "content": {"*/*": {"schema": {}}}},
                "304": {"description": "unchanged since the copy the browser holds"},
                "404": _json(ERROR_REF, ERRORS[404]),
            },
        },
        "head": {
            "summary": summary + ": its headers",
            "tags": ["pages"],
            "parameters": [_NAME],
            "responses": {
                "200": {"description": "the file's headers"},
                "304": {"description": "unchanged"},
                "404": {"description": "no such file"},
            },
        },
    }


# The routes that do not speak JSON: the pages (SPEC §9) and the WebSockets' handshakes (§6, §8).
OTHER: Json = {
    "/api/admin/ws": {
        "get": {
            "summary": "the admin socket (SPEC §8): figures every 5 s and admin events as they "
            "happen, JSON text frames",
            "description": "With the admin token as a bearer header (tools), or with a token "
            "from POST /api/admin/ws-token in the URL (browsers, which cannot set the header). "
            "The admin token itself is never accepted in the URL.",
            "tags": ["websocket"],
            "security": [{"adminAuth": []}, {}],
            "parameters": [
                {
                    **_TOKEN,
                    "required": False,
                    "description": "a token from POST /api/admin/ws-token, for browsers",
                }
            ],
            "responses": {
                "101": {"description": "switched to the WebSocket protocol"},
                **{str(status): _json(ERROR_REF, ERRORS[status]) for status in (401, 429)},
            },
        }
    },
    "/": _page("the game page (SPEC §9)"),
    "/admin": _page("the admin page (SPEC §9)"),
    "/static/{name}": _static_file("a static file of the pages (scripts, styles, images)"),
    "/static/admin/{name}": _static_file("a file of the admin page (its scripts and styles)"),
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (SPEC §10)",
            "tags": ["operations"],
            "responses": {
                "200": {
                    "description": "text exposition format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/ws": {
        "get": {
            "summary": "the WebSocket (SPEC §6); subprotocol ctb.v1.json or ctb.v1.msgpack",
            "tags": ["websocket"],
            "parameters": [_TOKEN],
            "responses": {
                "101": {"description": "switched to the WebSocket protocol"},
                **{
                    str(status): _json(ERROR_REF, ERRORS[status]) for status in (400, 401, 403, 503)
                },
            },
        },
        "head": {
            "summary": "the WebSocket route's headers; no socket is opened",
            "tags": ["websocket"],
            "responses": {
                "200": {"description": "headers only"},
                "400": {"description": "not a WebSocket handshake"},
                "401": {"description": "no valid ws token"},
            },
        },
    },
}
