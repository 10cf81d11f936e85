"""Reading what a client sent, refusing anything off before it can reach the actor (SPEC §5).

Bodies are JSON objects of at most 64 KiB, decoded by orjson and validated into the endpoint's
model (``server/models.py``): an unknown field is refused rather than ignored, so a client's
typo never passes silently. Query parameters are checked against their allowed values the same
way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
import orjson
from aiohttp import web
from msgspec import Meta

from engine.errors import InvalidRequest
from server.errors import PayloadTooLarge, UnsupportedMediaType
from server.validation import validate

T = TypeVar("T", bound=msgspec.Struct)
Default = TypeVar("Default", str, None)

BODY_LIMIT = 64 * 1024  # SPEC §5: bodies over 64 KiB get 413


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is over {BODY_LIMIT // 1024} KiB", {"limit": BODY_LIMIT}
    )


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_model(request: web.Request, model: type[T], *, optional: bool = False) -> T:
    """The body validated into ``model``; ``optional`` lets it be empty (all defaults)."""
    return validate(await read_object(request, optional=optional), model)


async def read_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object, not yet validated; ``optional`` lets it be empty."""
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
    return data


@dataclass(frozen=True, slots=True)
class IntParam:
    """An integer query parameter: read here, and stated in the document from the same bounds."""

    name: str
    default: int
    low: int
    high: int
    where = "query"

    def read(self, request: web.Request) -> int:
        raw = request.query.get(self.name)
        if raw is None:
            return self.default
        # Plain ASCII digits only: int() would also take "+5", " 5" and "1_0".
        value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        if value is None or not self.low <= value <= self.high:
            raise InvalidRequest(
                f"{self.name} must be an integer from {self.low} to {self.high}",
                {"field": self.name, "value": raw},
            )
        return value

    def schema(self) -> dict[str, Any]:
        kind = Annotated[int, Meta(ge=self.low, le=self.high)]
        return {**msgspec.json.schema(kind), "default": self.default}


@dataclass(frozen=True, slots=True)
class ChoiceParam(Generic[Default]):
    """A query parameter with a few allowed values; ``default`` is what its absence means."""

    name: str
    choices: tuple[str, ...]
    default: Default  # a choice, or None: then ``read`` may give None
    where = "query"

    def read(self, request: web.Request) -> str | Default:
        raw = request.query.get(self.name)
        if raw is None:
            return self.default
        if raw not in self.choices:
            raise InvalidRequest(
                f"{self.name} must be one of {', '.join(self.choices)}",
                {"field": self.name, "value": raw},
            )
        return raw

    def schema(self) -> dict[str, Any]:
        schema = msgspec.json.schema(Literal[self.choices])
        return schema if self.default is None else {**schema, "default": self.default}


@dataclass(frozen=True, slots=True)
class TextParam:
    """A free-text parameter, such as a header the handler interprets itself."""

    name: str
    where: str = "query"

    def read(self, request: web.Request) -> str | None:
        source = request.headers if self.where == "header" else request.query
        return source.get(self.name)

    def schema(self) -> dict[str, Any]:
        return msgspec.json.schema(str)
