"""Reading what a client sent, refusing anything off before it can reach the actor (SPEC §5).

Bodies are JSON objects of at most 64 KiB with only the fields an endpoint knows: an unknown
field is refused rather than ignored, so a client's typo never passes silently. Query
parameters are checked against their allowed values the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson
from aiohttp import web

from engine.errors import InvalidRequest
from server.errors import PayloadTooLarge, UnsupportedMediaType

BODY_LIMIT = 64 * 1024  # SPEC §5: bodies over 64 KiB get 413


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is over {BODY_LIMIT // 1024} KiB", {"limit": BODY_LIMIT}
    )


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_object(
    request: web.Request, fields: Collection[str], *, optional: bool = False
) -> dict[str, Any]:
    """The body as a JSON object holding only ``fields``; ``optional`` lets it be empty."""
    length = request.content_length
    if length is not None and length > BODY_LIMIT:
        raise too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    if not raw and optional:
        return {}
    if not is_json(request.content_type):
        raise UnsupportedMediaType(
            "send the body as application/json", {"content_type": request.content_type}
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest("the body is not valid JSON", {"reason": str(error)}) from None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(key for key in data if key not in fields)
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(unknown)}", {"fields": unknown})
    return data


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    # Plain ASCII digits only: int() would also take "+5", " 5" and "1_0".
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    if value is None or not low <= value <= high:
        raise InvalidRequest(
            f"{name} must be an integer from {low} to {high}", {"field": name, "value": raw}
        )
    return value


def query_choice(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if raw is not None and raw not in choices:
        raise InvalidRequest(
            f"{name} must be one of {', '.join(choices)}", {"field": name, "value": raw}
        )
    return raw
