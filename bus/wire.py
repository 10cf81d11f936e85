"""The bytes on Redis (SPEC §11): commands, replies, board publications and events.

One codec path, msgspec's MessagePack, the journal's: a command is the same tagged map the
journal writes (``engine/command_types.py``), and it is read back through the same tagged union,
so a command that does not fit its model is refused (``InvalidRequest`` naming the field, as the
actor refuses a dict) and never reaches a turn. What one stream entry holds (``bus/redis_io.py``
puts one payload in each entry):

    command entry   [gateway id, [[call id, command], ...]]       call id 0: a cast, no reply
    reply entry     [[call id, ok, value], ...]                    value: the result, or an error
    error value     [code, message, details, retry_after]          rebuilt as the same GameError
    publication     [epoch, version, base, {subprotocol: frame}, board]

Replies carry the engine's results as they are (dicts, ``PushResult``); the gateway reads a
result with the model its command expects (``reply_model``), so a push's result is a
``PushResult`` again on the other side and the server encodes it exactly as it does today.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from engine import command_types, errors
from engine.clicks import PushResult
from engine.command_types import ANY_COMMAND, Command, Push
from engine.errors import GameError, InvalidRequest
from engine.view import Board

CAST = 0  # the call id of a command nobody waits for
INTERNAL = "internal_error"  # a command that hit a bug in the engine (not a GameError)

Call = tuple[int, Command]
Reply = tuple[int, bool, Any]  # (call id, ok, result or exception), as the actor releases them

_encode = msgspec.msgpack.Encoder().encode
_calls = msgspec.msgpack.Decoder(tuple[str, list[tuple[int, ANY_COMMAND]]])
_raw_calls = msgspec.msgpack.Decoder(tuple[str, list[tuple[int, msgspec.Raw]]])
_any = msgspec.msgpack.Decoder()
_replies = msgspec.msgpack.Decoder(list[tuple[int, bool, msgspec.Raw]])
_UNENCODABLE = (TypeError, ValueError, OverflowError, msgspec.EncodeError)


class EngineFailure(RuntimeError):
    """A command that hit a bug in the engine process: the server answers it as any bug (500).

    Its message is the engine's generic one; the trace is in the engine's log.
    """


class ErrorValue(msgspec.Struct, array_like=True, frozen=True):
    """A refusal on the wire: the SPEC's ``{code, message, details}`` and a Retry-After."""

    code: str
    message: str
    details: Any = None
    retry_after: float | None = None


class Publication(msgspec.Struct, array_like=True, frozen=True):
    """One published board (SPEC §11): encoded once by the engine, forwarded as it is.

    ``frames`` are ready WebSocket frames per subprotocol, the board's changes against the
    board of version ``base``; ``board`` is the whole board, for snapshots and for a gateway that
    cannot forward the frames (a gap, a new epoch). ``epoch`` grows at every engine start.
    """

    epoch: int
    version: int
    base: int
    frames: dict[str, bytes]
    board: Board


_publication = msgspec.msgpack.Decoder(Publication)
_error = msgspec.msgpack.Decoder(ErrorValue)

# -- commands: gateway -> engine --------------------------------------------------------------


def encode_calls(gateway: str, calls: list[Call]) -> bytes:
    return _encode((gateway, calls))


def decode_calls(payload: bytes) -> tuple[str, list[tuple[int, Command | InvalidRequest]]]:
    """The gateway and its calls; a call whose command fits no model carries the refusal.

    One bad command refuses that call only, never its neighbours in the entry. Raises
    ``msgspec.DecodeError`` when the payload is not a batch at all (nobody can be answered).
    """
    try:
        return _calls.decode(payload)  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        pass
    gateway, raw_calls = _raw_calls.decode(payload)
    calls: list[tuple[int, Command | InvalidRequest]] = []
    for call_id, raw in raw_calls:
        try:
            calls.append((call_id, command_types.parse(_any.decode(raw))))
        except InvalidRequest as refusal:
            calls.append((call_id, refusal))
    return gateway, calls


# -- replies: engine -> gateway ---------------------------------------------------------------


def error_value(error: BaseException) -> ErrorValue:
    """A refusal as the gateway rebuilds it; a bug becomes ``internal_error`` without its text."""
    if not isinstance(error, GameError):
        return ErrorValue(INTERNAL, "the engine failed on this command")
    return ErrorValue(error.code, error.message, error.details, getattr(error, "retry_after", None))


def encode_replies(replies: list[Reply]) -> bytes:
    """One reply entry. A result that cannot be encoded fails its own call as a bug, not the
    entry: the other callers of the turn still get their answers."""
    rows = [(cid, ok, value if ok else error_value(value)) for cid, ok, value in replies]
    try:
        return _encode(rows)
    except _UNENCODABLE:
        pass
    safe = []
    for cid, ok, value in rows:
        try:
            _encode(value)
        except _UNENCODABLE as error:
            safe.append((cid, False, error_value(error)))
            continue
        safe.append((cid, ok, value))
    return _encode(safe)


def decode_replies(payload: bytes) -> list[tuple[int, bool, msgspec.Raw]]:
    """Each reply's call id, outcome and still-encoded value, read by ``result`` or ``error``."""
    return _replies.decode(payload)  # type: ignore[no-any-return]


REPLY_MODELS: dict[type[Command], Any] = {Push: PushResult}


def reply_model(cmd: Command) -> Any:
    """The type a command's result is read into on the gateway: what the actor returns."""
    return REPLY_MODELS.get(type(cmd), Any)


@cache
def _decoder(model: Any) -> msgspec.msgpack.Decoder[Any]:
    return msgspec.msgpack.Decoder(model)


def result(raw: msgspec.Raw, model: Any = Any) -> Any:
    return _decoder(model).decode(raw)


ERRORS: dict[str, type[GameError]] = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, GameError) and cls is not GameError
}


def error(raw: msgspec.Raw) -> Exception:
    """The refusal rebuilt as the GameError class of its code, with the same fields.

    A code this side does not know (a newer engine) is a plain ``GameError`` carrying it.
    """
    value = _error.decode(raw)
    if value.code == INTERNAL:
        return EngineFailure(value.message)
    cls = ERRORS.get(value.code, GameError)
    rebuilt = cls.__new__(cls)
    GameError.__init__(rebuilt, value.message, value.details)  # RateLimited's own init differs
    if cls is GameError:
        rebuilt.code = value.code
    if value.retry_after is not None:
        rebuilt.retry_after = value.retry_after  # type: ignore[attr-defined]
    return rebuilt


# -- boards and events: engine -> every gateway -----------------------------------------------


def encode_publication(publication: Publication) -> bytes:
    return _encode(publication)


def decode_publication(payload: bytes) -> Publication:
    return _publication.decode(payload)  # type: ignore[no-any-return]


def encode_events(events: list[dict[str, Any]]) -> bytes:
    """A turn's events (round, admin; ``engine/admin_events.py``), for every gateway."""
    return _encode(events)


def decode_events(payload: bytes) -> list[dict[str, Any]]:
    return _any.decode(payload)  # type: ignore[no-any-return]
