"""The bytes on Redis (SPEC §11): commands, replies, board publications and events.

One codec path, msgspec's MessagePack, the journal's: a command is the same tagged map the
journal writes (``engine/command_types.py``), and it is read back through the same tagged union,
so a command that does not fit its model is refused (``InvalidRequest`` naming the field, as the
actor refuses a dict) and never reaches a turn. What one stream entry holds (``bus/redis_io.py``
puts one payload in each entry):

    command entry   [gateway id, [[call id, command], ...]]       call id 0: a cast, no reply
    reply entry     [[call id, outcome], ...]
    outcome         [0, code, message, details, retry_after]       a refusal: the same GameError
                    [1, batch_id, accepted, ...]                   a push's ``PushResult``
                    [2, value]                                     any other result, plain values
    publication     [epoch, version, base, {subprotocol: frame}, board]

Replies carry the engine's results as they are, so a push's result is a ``PushResult`` again on
the other side, a player object the same dict, and the server encodes each exactly as it does
today; a whole reply entry is read in one typed decode.
"""

from __future__ import annotations

import operator
from typing import Any, Union, get_type_hints

import msgspec

from engine import command_types, errors
from engine.admin.query import PlayerQuery
from engine.clicks import PushResult
from engine.command_types import Command
from engine.errors import GameError, InvalidRequest
from engine.view import Board

CAST = 0  # the call id of a command nobody waits for
INTERNAL = "internal_error"  # a command that hit a bug in the engine (not a GameError)

Call = tuple[int, Any]  # a Command, or the bus's own Presence and ListPlayers
Reply = tuple[int, bool, Any]  # (call id, ok, result or exception), as the actor releases them

_encode = msgspec.msgpack.Encoder().encode


class Presence(msgspec.Struct, tag_field="op", tag="presence", frozen=True, kw_only=True):
    """A gateway's players whose first socket opened (``joined``) or last one closed (``left``)
    since its last word; ``whole``: ``joined`` is every player it holds (after a (re)join).

    Also the gateway's heartbeat: sent empty once a second, so the engine can forget the
    players of a gateway it no longer hears (``bus/presence.py``).
    """

    joined: list[str] = []
    left: list[str] = []
    whole: bool = False
    # Open connections per client address, for the addresses holding many (once a second;
    # None: unchanged): the engine sums them so that the per-address cap holds across gateways.
    addresses: dict[str, int] | None = None
    sockets: int | None = None  # the gateway's open WebSockets (once a second; None: unchanged)


class ListPlayers(msgspec.Struct, tag_field="op", tag="list_players", frozen=True):
    """The admin's listing, asked of the engine, which runs it beside its turns."""

    query: PlayerQuery


class AdmitSession(msgspec.Struct, tag_field="op", tag="admit_session", frozen=True):
    """May one more session start from ``address`` (SPEC §5's per-minute limit)? Asked of the
    engine, which counts every gateway's sessions, so the limit holds across them (§11)."""

    address: str


# What a gateway may put on the command stream: the game's commands and the bus's own.
BUS_CALL: Any = Union[
    (*command_types.MUTATIONS, *command_types.QUERIES, Presence, ListPlayers, AdmitSession)
]
_calls = msgspec.msgpack.Decoder(tuple[str, list[tuple[int, BUS_CALL]]])
_raw_calls = msgspec.msgpack.Decoder(tuple[str, list[tuple[int, msgspec.Raw]]])
_any = msgspec.msgpack.Decoder()
_UNENCODABLE = (TypeError, ValueError, OverflowError, msgspec.EncodeError)


class EngineFailure(RuntimeError):
    """A command that hit a bug in the engine process: the server answers it as any bug (500).

    Its message is the engine's generic one; the trace is in the engine's log.
    """


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

# -- commands: gateway -> engine --------------------------------------------------------------


def encode_calls(gateway: str, calls: list[Call]) -> bytes:
    return _encode((gateway, calls))


def decode_calls(payload: bytes) -> tuple[str, list[tuple[int, Any]]]:
    """The gateway and its calls; a call whose command fits no model carries the refusal.

    One bad command refuses that call only, never its neighbours in the entry. Raises
    ``msgspec.DecodeError`` when the payload is not a batch at all (nobody can be answered).
    """
    try:
        return _calls.decode(payload)
    except msgspec.ValidationError:
        pass
    gateway, raw_calls = _raw_calls.decode(payload)
    calls: list[tuple[int, Command | InvalidRequest]] = []
    for call_id, raw in raw_calls:
        try:
            calls.append((call_id, command_types.parse(_any.decode(raw), BUS_CALL)))
        except InvalidRequest as refusal:
            calls.append((call_id, refusal))
    return gateway, calls


# -- replies: engine -> gateway ---------------------------------------------------------------


class Refused(msgspec.Struct, array_like=True, frozen=True, tag=0):
    """A refusal: the SPEC's ``{code, message, details}`` and a Retry-After, if it has one."""

    code: str
    message: str
    details: Any = None
    retry_after: float | None = None


def _push_reply() -> Any:
    """A push's result as a tagged array of ``PushResult``'s fields, declared from the dataclass
    so a field is named once: the hot reply, a third of the bytes of a map and one decode."""
    hints = get_type_hints(PushResult)
    fields = [(name, hints[name]) for name in PushResult.__dataclass_fields__]
    return msgspec.defstruct("PushReply", fields, array_like=True, frozen=True, tag=1)


PushReply = _push_reply()


class Value(msgspec.Struct, array_like=True, frozen=True, tag=2):
    """Any other result (a player object, a listing, ...): plain values, read back as such."""

    value: Any


_push_fields = operator.attrgetter(*PushResult.__dataclass_fields__)
_replies = msgspec.msgpack.Decoder(list[tuple[int, PushReply | Refused | Value]])  # type: ignore[valid-type]


def refusal(error: BaseException) -> Refused:
    """A refusal as the gateway rebuilds it; a bug becomes ``internal_error`` without its text."""
    if not isinstance(error, GameError):
        return Refused(INTERNAL, "the engine failed on this command")
    return Refused(error.code, error.message, error.details, error.retry_after)


def _outcome(ok: bool, value: Any) -> Any:
    if not ok:
        return refusal(value)
    if type(value) is PushResult:
        return PushReply(*_push_fields(value))
    return Value(value)


def encode_replies(replies: list[Reply]) -> bytes:
    """One reply entry. A result that cannot be encoded fails its own call as a bug, not the
    entry: the other callers of the turn still get their answers."""
    rows = [(call_id, _outcome(ok, value)) for call_id, ok, value in replies]
    try:
        return _encode(rows)
    except _UNENCODABLE:
        pass
    safe = []
    for call_id, outcome in rows:
        try:
            _encode(outcome)
        except _UNENCODABLE as error:
            outcome = refusal(error)
        safe.append((call_id, outcome))
    return _encode(safe)


def decode_replies(payload: bytes) -> list[Reply]:
    """Each reply's call id, and its result or the exception its caller is to raise."""
    replies: list[Reply] = []
    astuple = msgspec.structs.astuple
    for call_id, outcome in _replies.decode(payload):
        if isinstance(outcome, Value):
            replies.append((call_id, True, outcome.value))
        elif isinstance(outcome, Refused):
            replies.append((call_id, False, rebuilt(outcome)))
        else:
            replies.append((call_id, True, PushResult(*astuple(outcome))))
    return replies


ERRORS: dict[str, type[GameError]] = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, GameError) and cls is not GameError
}


def rebuilt(refused: Refused) -> Exception:
    """The refusal as the GameError class of its code, with the same fields.

    A code this side does not know (a newer engine) is a plain ``GameError`` carrying it.
    """
    if refused.code == INTERNAL:
        return EngineFailure(refused.message)
    cls = ERRORS.get(refused.code, GameError)
    error = cls.__new__(cls)
    GameError.__init__(error, refused.message, refused.details)  # RateLimited's init differs
    if cls is GameError:
        error.code = refused.code
    if refused.retry_after is not None:
        error.retry_after = refused.retry_after
    return error


# -- boards and events: engine -> every gateway -----------------------------------------------


def encode_publication(publication: Publication) -> bytes:
    return _encode(publication)


def decode_publication(payload: bytes) -> Publication:
    return _publication.decode(payload)


def encode_events(events: list[dict[str, Any]]) -> bytes:
    """A turn's events (round, admin; ``engine/admin/events.py``), for every gateway."""
    return _encode(events)


def decode_events(payload: bytes) -> list[dict[str, Any]]:
    return _any.decode(payload)


def encode_alive(alive: dict[str, Any]) -> bytes:
    """The engine's heartbeat: its epoch, readiness and figures (``bus/engine_host.py``)."""
    return _encode(alive)


def decode_alive(payload: bytes) -> dict[str, Any]:
    alive: dict[str, Any] = _any.decode(payload)
    return alive
