"""The one place that turns domain errors into HTTP replies and WebSocket error messages.

Every error on the wire is ``{"error": {"code", "message", "details"}}`` (SPEC §5) over HTTP and
``{"type": "error", "code", "message"}`` over a WebSocket (SPEC §6).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from engine.errors import (
    Banned,
    Conflict,
    GameError,
    InvalidRequest,
    NotFound,
    Paused,
    RateLimited,
    RoundNotActive,
    Unavailable,
)


class Unauthorized(GameError):
    code = "unauthorized"


class Forbidden(GameError):
    code = "forbidden"


class PayloadTooLarge(GameError):
    code = "payload_too_large"


class UnsupportedMediaType(GameError):
    code = "unsupported_media_type"


class MethodNotAllowed(GameError):
    code = "method_not_allowed"


class InternalError(GameError):
    """A bug on our side; the reply names no detail of it (the log does)."""

    code = "internal_error"


STATUS: dict[type[GameError], int] = {
    InvalidRequest: 400,
    Unauthorized: 401,
    Banned: 403,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    RoundNotActive: 409,
    Paused: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    InternalError: 500,
    Unavailable: 503,
}


def status_of(error: GameError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def http_error(error: GameError) -> web.Response:
    """The HTTP reply for a refused request."""
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, int(error.retry_after + 0.999)))
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(
        status=status_of(error),
        body=orjson.dumps(error_body(error.code, error.message, error.details)),
        content_type="application/json",
        headers=headers,
    )


def ws_error(error: GameError, batch_id: str | None = None) -> dict[str, Any]:
    """The WebSocket ``error`` message for a refused client message."""
    message: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message}
    if error.details is not None:
        message["details"] = error.details
    if batch_id is not None:
        message["batch_id"] = batch_id
    return message
