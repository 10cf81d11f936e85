"""Reading the admin queries' parameters: numbers may come as strings from a query string.

The HTTP layer passes ``request.query`` (all strings) or a JSON body (typed values) straight
through; each reader accepts both and refuses anything else with ``InvalidRequest`` naming the
field, so the listing, the audit log and the bulk filter validate in one way. ``read`` reads a
whole typed model (``engine.admin.query.PlayerQuery``) field by field, each with the reader its
type calls for and the bounds its type gives, so the model stays the one declaration.

Numbers in strings are read strictly, as ASCII digits: Python's ``int`` and ``float`` also take
other scripts' digits, ``NaN`` and ``inf``, and a NaN compares false with everything, so a filter
given one would quietly match nothing (or, as a bound, everything).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from msgspec import inspect

from engine.errors import InvalidRequest

S = TypeVar("S", bound=msgspec.Struct)

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
INTEGER = re.compile(r"-?[0-9]{1,20}")
DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")


def refuse_unknown(raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InvalidRequest(f"unknown parameters: {unknown}", {"fields": unknown})


def text(raw: Mapping[str, Any], name: str, longest: int = 200) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise InvalidRequest(f"{name} must be a string of 1-{longest} characters", {"field": name})
    return value


def time(raw: Mapping[str, Any], name: str) -> float | None:
    """A time: Unix seconds (a number or a string of one) or an ISO 8601 string with a zone."""
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        if DECIMAL.fullmatch(value):
            return float(value)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            message = f"{name} must be Unix seconds or ISO 8601"
            raise InvalidRequest(message, {"field": name}) from None
        if parsed.tzinfo is None:
            raise InvalidRequest(f"{name} needs a time zone (Z for UTC)", {"field": name})
        return parsed.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequest(f"{name} must be Unix seconds or ISO 8601", {"field": name})
    return float(value)


def integer(
    raw: Mapping[str, Any], name: str, default: int | None, low: int, high: int
) -> int | None:
    value = raw.get(name, default)
    if value is None:
        return None
    if isinstance(value, str) and INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be an integer from {low} to {high}", {"field": name})
    return value


def flag(raw: Mapping[str, Any], name: str) -> bool | None:
    value = raw.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    raise InvalidRequest(f"{name} must be true or false", {"field": name})


def choice(raw: Mapping[str, Any], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = raw.get(name, default)
    if value not in allowed:
        raise InvalidRequest(f"{name} must be one of {list(allowed)}", {"field": name})
    return value


def read(raw: Mapping[str, Any], model: type[S]) -> S:
    """``raw`` as ``model``: each field given is read by its declared type and bounds (a string,
    an integer, a time, a flag or one of a few values); an unknown one is refused."""
    # type_info gives a StructType for a Struct, which alone has ``fields``; the caller passes one.
    fields = inspect.type_info(model).fields  # type: ignore[attr-defined]
    refuse_unknown(raw, tuple(field.name for field in fields))
    values = {field.name: _value(raw, field.name, field.type) for field in fields}
    return model(**{name: value for name, value in values.items() if value is not None})


def _value(raw: Mapping[str, Any], name: str, kind: inspect.Type) -> Any:
    if name not in raw:
        return None
    if isinstance(kind, inspect.UnionType):  # X | None: the parameter is optional
        (kind,) = [one for one in kind.types if not isinstance(one, inspect.NoneType)]
    if isinstance(kind, inspect.Metadata):
        kind = kind.type
    if isinstance(kind, inspect.IntType):
        low, high = 0 if kind.ge is None else kind.ge, 10**15 if kind.le is None else kind.le
        return integer(raw, name, None, low, high)
    if isinstance(kind, inspect.FloatType):
        value = time(raw, name)
        least = -math.inf if kind.ge is None else kind.ge
        most = math.inf if kind.le is None else kind.le
        if value is not None and not least <= value <= most:
            raise InvalidRequest(f"{name} must be from {least} to {most}", {"field": name})
        return value
    if isinstance(kind, inspect.BoolType):
        return flag(raw, name)
    if isinstance(kind, inspect.StrType):
        return text(raw, name, kind.max_length or 200)
    if isinstance(kind, inspect.LiteralType):
        names = tuple(value for value in kind.values if isinstance(value, str))
        if len(names) == len(kind.values):  # a choice among words; other literals are not read
            return choice(raw, name, "", names)
    raise TypeError(f"no query reader for {name}: {kind}")
