"""Decoded client data into its model, or an ``invalid_request`` that names the field.

Both transports decode with their own codec (orjson, msgpack) and come here, so a push is
checked by the same model whichever way it arrives. ``msgspec.convert`` does the checking; this
module only words its refusals the SPEC's way (SPEC §5: ``details`` names the field).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from engine.errors import InvalidRequest

T = TypeVar("T", bound=msgspec.Struct)

_PATH = re.compile(r" - at `\$\.?([A-Za-z0-9_]*)([^`]*)`$")
_MISSING = re.compile(r"required field `([^`]+)`")


def validate(data: dict[str, Any], model: type[T]) -> T:
    """``data`` (a decoded JSON object or msgpack map) as a ``model``; raises InvalidRequest."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as error:
        if "got `float`" in str(error):
            # JSON Schema reads 5.0 as the integer 5 (2020-12 validation §6.1.1), and a client
            # may well write a whole number so. Rare, so only a refused push pays for it.
            try:
                return msgspec.convert(_whole_numbers(data), model)
            except msgspec.ValidationError as again:
                error = again
        raise refusal(error, data, model) from None


def refusal(
    error: msgspec.ValidationError, data: dict[str, Any], model: type[msgspec.Struct]
) -> InvalidRequest:
    """An ``invalid_request`` naming the fields: every unknown one, or the one that is wrong."""
    text = str(error)
    if "unknown field" in text:
        config = model.__struct_config__
        known = {*model.__struct_fields__, config.tag_field}
        unknown = sorted(str(key) for key in data if key not in known)
        return InvalidRequest(f"unknown fields: {', '.join(unknown)}", {"fields": unknown})
    missing = _MISSING.search(text)
    if missing:
        return InvalidRequest(f"{missing[1]} is required", {"field": missing[1]})
    at = _PATH.search(text)
    if at and at[1]:
        reason = text[: at.start()]
        details = {"field": at[1]} if not at[2] else {"field": at[1], "at": at[1] + at[2]}
        return InvalidRequest(f"{at[1]}: {reason}", details)
    return InvalidRequest(text)


def _whole_numbers(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is list:
        return [_whole_numbers(item) for item in value]
    if type(value) is dict:
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value
