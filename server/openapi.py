"""The OpenAPI 3.1 document of every HTTP endpoint (SPEC §5), served at ``/api/openapi.json``.

Written as plain Python data rather than YAML so it needs no parser and can take its limits
(the largest click count, the session rate) from the running settings: the document states the
rules this server enforces, not the defaults. ``tests/server/test_openapi.py`` keeps it true: every
route the app registers must be here, the document must validate, and Schemathesis checks real
responses against it.
"""

from __future__ import annotations

from typing import Any

from engine.clicks import BATCH_ID
from server.auth import WS_TTL
from settings import Settings

Json = dict[str, Any]

NAME_PATTERN = r"^[A-Za-z0-9_-]([A-Za-z0-9_ -]{0,22}[A-Za-z0-9_-])?$"


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Json, description: str, headers: Json | None = None) -> Json:
    response: Json = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: Json | None = None) -> Json:
    return _json(_ref("Error"), description, headers)


RETRY_AFTER = {
    "Retry-After": {
        "description": "whole seconds to wait before trying again",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}

ERRORS: dict[str, Json] = {
    "400": _error("invalid_request: malformed JSON, a wrong type, an unknown field, a bad value"),
    "401": _error("unauthorized: no token, or a forged, expired or wrong-kind token"),
    "403": _error("banned: the player is banned"),
    "404": _error("not_found"),
    "409": _error("round_not_active: clicks between rounds"),
    "413": _error("payload_too_large: the body is over 64 KiB"),
    "415": _error("unsupported_media_type: the body is not application/json"),
    "429": _error("rate_limited: too soon; see Retry-After", RETRY_AFTER),
    "503": _error("unavailable: the game is not ready or cannot make the change durable"),
}


def _errors(*codes: str) -> Json:
    return {code: ERRORS[code] for code in codes}


def _body(schema: Json, required: bool = True) -> Json:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


BEARER = [{"bearerAuth": []}]


def schemas(settings: Settings) -> Json:
    max_count = settings.rules.max_count
    max_counts = settings.rules.max_counts_per_push
    nullable_int = {"type": ["integer", "null"], "minimum": 1}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "details"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "string", "examples": ["invalid_request"]},
                        "message": {"type": "string"},
                        "details": {"description": "anything that helps; often null"},
                    },
                }
            },
        },
        "Player": {
            "type": "object",
            "required": [
                "id",
                "name",
                "planet",
                "score",
                "round_score",
                "rank",
                "round_rank",
                "status",
                "created_at",
                "last_click_at",
            ],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "planet": {"type": "string"},
                "score": {"type": "integer", "minimum": 0},
                "round_score": {"type": "integer", "minimum": 0},
                "rank": {**nullable_int, "description": "all-time rank, 1 is best"},
                "round_rank": {**nullable_int, "description": "null until a click this round"},
                "status": {"enum": ["active", "banned"]},
                "created_at": {"type": "string", "format": "date-time"},
                "last_click_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "Name": {
            "type": "string",
            "description": "1-24 letters, digits, spaces, _ or -; trimmed",
            "pattern": NAME_PATTERN,
        },
        "SessionRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": _ref("Name")},
        },
        "Session": {
            "type": "object",
            "required": ["token", "player"],
            "properties": {
                "token": {"type": "string", "description": "player token (JWT, long-lived)"},
                "player": _ref("Player"),
            },
        },
        "RenameRequest": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": _ref("Name")},
        },
        "WsToken": {
            "type": "object",
            "required": ["token", "expires_in"],
            "properties": {
                "token": {"type": "string", "description": "for GET /ws?token=..."},
                "expires_in": {"type": "integer", "const": WS_TTL},
            },
        },
        "PushRequest": {
            "type": "object",
            "required": ["batch_id", "clicks"],
            "additionalProperties": False,
            "properties": {
                "batch_id": {
                    "type": "string",
                    "pattern": f"^{BATCH_ID.pattern}$",
                    "description": "made by the client; a retry sends the same one",
                },
                "clicks": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_counts,
                    "items": {"type": "integer", "minimum": 1, "maximum": max_count},
                    "description": "accumulated counts, one per push interval, oldest first",
                },
            },
        },
        "PushResult": {
            "type": "object",
            "required": [
                "batch_id",
                "accepted",
                "throttled",
                "duplicate",
                "score",
                "round_score",
                "rank",
                "round_rank",
                "planet_total",
                "next_push_after",
            ],
            "properties": {
                "batch_id": {"type": "string"},
                "accepted": {"type": "integer", "minimum": 0},
                "throttled": {"type": "integer", "minimum": 0},
                "duplicate": {"type": "boolean"},
                "score": {"type": "integer"},
                "round_score": {"type": "integer"},
                "rank": nullable_int,
                "round_rank": nullable_int,
                "planet_total": {"type": "integer"},
                "next_push_after": {
                    "type": "number",
                    "description": "seconds the page should wait before its next push",
                },
            },
        },
        "LeaderEntry": {
            "type": "object",
            "required": ["rank", "id", "name", "planet", "score"],
            "properties": {
                "rank": {"type": "integer", "minimum": 1},
                "id": {"type": "string"},
                "name": {"type": "string"},
                "planet": {"type": "string"},
                "score": {"type": "integer"},
            },
        },
        "Leaderboard": {
            "type": "object",
            "required": ["scope", "entries", "total"],
            "properties": {
                "scope": {"enum": ["round", "all"]},
                "entries": {"type": "array", "items": _ref("LeaderEntry")},
                "total": {"type": "integer", "minimum": 0},
            },
        },
        "Round": {
            "type": "object",
            "required": ["id", "status", "next_round_at"],
            "description": "times are Unix seconds",
            "properties": {
                "id": {"type": ["integer", "null"]},
                "status": {"enum": ["queued", "active", "finished"]},
                "planets": {"type": "array", "items": {"type": "string"}},
                "target": {"type": ["integer", "null"]},
                "started_at": {"type": ["number", "null"]},
                "ends_at": {"type": ["number", "null"]},
                "finished_at": {"type": ["number", "null"]},
                "winner": {"type": ["string", "null"]},
                "reason": {"type": ["string", "null"]},
                "next_round_at": {"type": ["number", "null"]},
            },
        },
        "Snapshot": {
            "type": "object",
            "required": [
                "round",
                "planets",
                "leaderboard",
                "online",
                "players_total",
                "version",
                "settings",
            ],
            "properties": {
                "round": _ref("Round"),
                "planets": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "total", "players", "all_time"],
                        "properties": {
                            "name": {"type": "string"},
                            "total": {"type": "integer"},
                            "players": {"type": "integer"},
                            "all_time": {"type": "integer"},
                        },
                    },
                },
                "leaderboard": {
                    "type": "object",
                    "required": ["round", "all"],
                    "properties": {
                        "round": {"type": "array", "items": _ref("LeaderEntry")},
                        "all": {"type": "array", "items": _ref("LeaderEntry")},
                    },
                },
                "online": {"type": "integer", "minimum": 0},
                "players_total": {"type": "integer", "minimum": 0},
                "version": {"type": "integer"},
                "settings": {
                    "type": "object",
                    "required": [
                        "click_push_rate",
                        "max_cps",
                        "burst_seconds",
                        "broadcast_interval",
                    ],
                    "properties": {
                        "click_push_rate": {"type": "number"},
                        "max_cps": {"type": "integer"},
                        "burst_seconds": {"type": "number"},
                        "broadcast_interval": {"type": "number"},
                    },
                },
            },
        },
        "RoundSummary": {
            "type": "object",
            "required": ["id", "planets", "target", "winner", "draw", "reason", "totals", "top"],
            "properties": {
                "id": {"type": "integer"},
                "planets": {"type": "array", "items": {"type": "string"}},
                "target": {"type": "integer"},
                "started_at": {"type": "number"},
                "finished_at": {"type": "number"},
                "duration": {"type": "number"},
                "winner": {"type": ["string", "null"]},
                "draw": {"type": "boolean"},
                "reason": {"enum": ["target", "time", "admin"]},
                "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
                "top": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
    }


def _pages() -> Json:
    html = {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}

    def page(summary: str) -> Json:
        get = {"summary": summary, "tags": ["pages"], "responses": {"200": html}}
        head = {
            "summary": f"{summary} (headers only)",
            "tags": ["pages"],
            "responses": {"200": {"description": "the page's headers"}},
        }
        return {"get": get, "head": head}

    static_get = {
        "summary": "a static file of the pages (scripts, styles, images)",
        "tags": ["pages"],
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {"description": "the file", "content": {"*/*": {"schema": {}}}},
            "304": {"description": "unchanged since the copy the browser holds"},
            "404": ERRORS["404"],
        },
    }
    static_head = {**static_get, "summary": "a static file's headers"}
    static_head["responses"] = {
        "200": {"description": "the file's headers"},
        "304": {"description": "unchanged"},
        "404": {"description": "no such file"},
    }
    return {
        "/": page("the game page (SPEC §9)"),
        "/admin": page("the admin page (SPEC §9)"),
        "/static/{name}": {"get": static_get, "head": static_head},
    }


def _ws() -> Json:
    head = {
        "summary": "the WebSocket route's headers; no socket is opened",
        "tags": ["websocket"],
        "responses": {
            "200": {"description": "headers only"},
            "400": {"description": "not a WebSocket handshake"},
            "401": {"description": "no valid ws token"},
        },
    }
    return {
        "/ws": {
            "head": head,
            "get": {
                "summary": "the WebSocket (SPEC §6); subprotocol ctb.v1.json or ctb.v1.msgpack",
                "tags": ["websocket"],
                "parameters": [
                    {
                        "name": "token",
                        "in": "query",
                        "required": True,
                        "description": "a token from POST /api/ws-token",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "101": {"description": "switched to the WebSocket protocol"},
                    "400": ERRORS["400"],
                    "401": ERRORS["401"],
                    "403": ERRORS["403"],
                    "503": ERRORS["503"],
                },
            },
        }
    }


def _api(settings: Settings) -> Json:
    session_limit = settings.sessions_per_minute
    return {
        "/api/session": {
            "post": {
                "summary": "create a player; returns its token (SPEC §3, §5)",
                "description": f"At most {session_limit} a minute per client address.",
                "tags": ["players"],
                "requestBody": _body(_ref("SessionRequest"), required=False),
                "responses": {
                    "201": _json(_ref("Session"), "the new player and its token"),
                    **_errors("400", "413", "415", "429", "503"),
                },
            }
        },
        "/api/me": {
            "get": {
                "summary": "your player, with both ranks",
                "tags": ["players"],
                "security": BEARER,
                "responses": {
                    "200": _json(_ref("Player"), "your player"),
                    **_errors("401", "503"),
                },
            },
            "patch": {
                "summary": "rename yourself",
                "tags": ["players"],
                "security": BEARER,
                "requestBody": _body(_ref("RenameRequest")),
                "responses": {
                    "200": _json(_ref("Player"), "your renamed player"),
                    **_errors("400", "401", "403", "413", "415", "503"),
                },
            },
        },
        "/api/ws-token": {
            "post": {
                "summary": f"a token for the WebSocket handshake, valid {WS_TTL} s",
                "tags": ["players"],
                "security": BEARER,
                "responses": {
                    "200": _json(_ref("WsToken"), "the short-lived token"),
                    **_errors("401", "403", "503"),
                },
            }
        },
        "/api/push_clicks": {
            "post": {
                "summary": "add a batch of clicks (SPEC §4)",
                "description": "A batch_id already applied returns its first result with "
                "duplicate: true. Pushes closer than half the push interval get 429.",
                "tags": ["clicks"],
                "security": BEARER,
                "requestBody": _body(_ref("PushRequest")),
                "responses": {
                    "200": _json(_ref("PushResult"), "what was accepted and where you stand"),
                    **_errors("400", "401", "403", "409", "413", "415", "429", "503"),
                },
            }
        },
        "/api/snapshot": {
            "get": {
                "summary": "the public state and the settings a client needs",
                "tags": ["game"],
                "parameters": [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        _ref("Snapshot"),
                        "the state",
                        {
                            "ETag": {
                                "description": "the state version",
                                "schema": {"type": "string"},
                            }
                        },
                    ),
                    "304": {
                        "description": "unchanged since the ETag given",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                    },
                    **_errors("503"),
                },
            }
        },
        "/api/leaderboard": {
            "get": {
                "summary": "a leaderboard: the top, or the entries around you",
                "description": "With around=me (bearer token needed), limit counts the "
                "entries on each side of yours.",
                "tags": ["game"],
                "security": [{}, *BEARER],
                "parameters": [
                    {
                        "name": "scope",
                        "in": "query",
                        "schema": {"enum": ["round", "all"], "default": "round"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                    },
                    {"name": "around", "in": "query", "schema": {"enum": ["me"]}},
                ],
                "responses": {
                    "200": _json(_ref("Leaderboard"), "the entries, best first"),
                    **_errors("400", "401", "503"),
                },
            }
        },
        "/api/rounds": {
            "get": {
                "summary": "finished rounds, newest first, with summaries",
                "tags": ["game"],
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["rounds"],
                            "properties": {
                                "rounds": {"type": "array", "items": _ref("RoundSummary")}
                            },
                        },
                        "the rounds",
                    ),
                    **_errors("400", "503"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "this document",
                "tags": ["operations"],
                "responses": {"200": _json({"type": "object"}, "the OpenAPI 3.1 document")},
            }
        },
    }


def _operations() -> Json:
    return {
        "/healthz": {
            "get": {
                "summary": "liveness: the process answers",
                "tags": ["operations"],
                "responses": {"200": _json(_ref("Status"), "alive")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "readiness: the state is loaded and the actor running",
                "tags": ["operations"],
                "responses": {
                    "200": _json(_ref("Status"), "ready"),
                    "503": ERRORS["503"],
                },
            }
        },
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
    }


def document(settings: Settings) -> Json:
    """The whole document for a server running with ``settings``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Click the Button",
            "version": "1",
            "description": "A real-time multiplayer click game. Every error is "
            '{"error": {"code", "message", "details"}}.',
        },
        "paths": {**_pages(), **_ws(), **_api(settings), **_operations()},
        "components": {
            "schemas": schemas(settings),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "the player token from POST /api/session",
                }
            },
        },
    }
