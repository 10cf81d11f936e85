"""The one place that turns domain errors into HTTP replies and WebSocket error messages.

Every error on the wire is ``{"error": {"code", "message", "details"}}`` (SPEC §5) over HTTP and
``{"type": "error", "code", "message"}`` over a WebSocket (SPEC §6).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from msgspec import UNSET

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
from server.models import ErrorBody, ErrorMessage, ErrorReply, encode_json


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


class UriTooLong(GameError):
    """A request line longer than the server reads (server/http_protocol.py)."""

    code = "uri_too_long"


class HeadersTooLarge(GameError):
    """A header longer, or more headers, than the server reads (server/http_protocol.py)."""

    code = "headers_too_large"


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
    UriTooLong: 414,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    HeadersTooLarge: 431,
    InternalError: 500,
    Unavailable: 503,
}


UNAVAILABLE_RETRY = 2.0  # seconds: a game that cannot take a change now, the usual outage


def status_of(error: GameError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(code: str, message: str, details: Any = None) -> ErrorReply:
    return ErrorReply(ErrorBody(code, message, details))


def http_error(error: GameError) -> web.Response:
    """The HTTP reply for a refused request."""
    headers = {}
    retry_after = error.retry_after
    if retry_after is None and isinstance(error, Unavailable):
        retry_after = UNAVAILABLE_RETRY  # SPEC §11: a 503 says when to come back
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(
        status=status_of(error),
        body=encode_json(error_body(error.code, error.message, error.details)),
        content_type="application/json",
        headers=headers,
    )


def ws_error(error: GameError, batch_id: str | None = None) -> ErrorMessage:
    """The WebSocket ``error`` message for a refused client message."""
    return ErrorMessage(
        error.code, error.message, error.details, UNSET if batch_id is None else batch_id
    )
