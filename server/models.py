"""Every HTTP request and reply and every WebSocket message, declared once (SPEC §5, §6).

Validation, encoding and the OpenAPI document (``server/openapi.py``) all read these types, so
a shape or a limit cannot be stated twice and drift. Where the engine already builds a wire
shape (``engine.view``'s board, round and player, ``engine.clicks.PushResult``) the engine's type
is the model and is encoded as it is. The limits come from the engine: the name rule is
``engine.players.clean_name``, the batch id pattern ``engine.clicks.BATCH_ID_PATTERN``, the count
limits ``engine.rules.Rules``; the push models depend on the running rules, so they are built
once per app by ``push_models``.

Requests are decoded by the transport's codec (orjson, msgpack) and then validated into their
model by ``server/validation.py``; replies are encoded straight from these objects with
msgspec's encoders, with no dict in between.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast, get_type_hints

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from engine.clicks import BATCH_ID_PATTERN, PushResult
from engine.players import MAX_NAME_LENGTH, clean_name
from engine.rules import Rules
from engine.view import (
    BoardData,
    LeaderEntry,
    PlanetView,
    PlayerObject,
    RoundSummaryInfo,
    RoundView,
)
from settings import Settings

NAME_FORMAT = "display-name"
NAME_RULE = (
    f"trimmed, then 1-{MAX_NAME_LENGTH} letters (of any script), digits, spaces, _ or -. "
    "José and 名前 are names."
)
# The document gives the rule in words and as the format "display-name": JSON Schema has no
# pattern for "letters of any script" that both ECMA-262 and Python read alike, and a second
# regex would drift from the engine's (see tests/server/test_openapi.py for its strategy).
# No maxLength: the limit counts the trimmed name (SPEC §3), which JSON Schema cannot say, and a
# limit on the raw string refused 24 letters with spaces around them. The body limit (64 KiB)
# bounds the raw string, and ``clean_name`` caps the work it does on one.
Name = Annotated[
    str,
    Meta(
        min_length=1,
        description=NAME_RULE,
        examples=["José", "名前"],
        extra_json_schema={"format": NAME_FORMAT},
    ),
]
BatchId = Annotated[
    str,
    Meta(
        pattern=BATCH_ID_PATTERN,
        description="made by the client; a retry sends the same one",
        examples=["b-1"],
    ),
]


class Request(Struct, forbid_unknown_fields=True):
    """A client's request: a field the model does not know is refused, never ignored."""


# -- HTTP requests ---------------------------------------------------------------------------


class SessionRequest(Request):
    """``POST /api/session``: an optional display name."""

    name: Name | UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.name is not UNSET:
            self.name = clean_name(self.name)  # the engine's rule, the only one


class RenameRequest(Request):
    """``PATCH /api/me``: the new display name."""

    name: Name

    def __post_init__(self) -> None:
        self.name = clean_name(self.name)


class PushFields(Request):
    """What a push carries over either transport; ``push_models`` gives ``clicks`` its limits."""

    batch_id: BatchId
    clicks: list[int]


@dataclass(frozen=True, slots=True)
class PushModels:
    """The push request of both transports, built for the running rules."""

    http: type[PushFields]  # PushRequest: {batch_id, clicks}
    ws: type[PushFields]  # the ``clicks`` message: {type, batch_id, clicks}


@functools.cache
def push_models(max_count: int, max_counts: int) -> PushModels:
    """The push models for these limits: made once per app, never per request."""
    count = Annotated[int, Meta(ge=1, le=max_count)]
    clicks = Annotated[
        list[count],
        Meta(
            min_length=1,
            max_length=max_counts,
            description="accumulated counts, one per push interval, oldest first",
        ),
    ]
    fields = [("batch_id", BatchId), ("clicks", clicks)]
    # defstruct's type says Struct; each is a PushFields (its base) with the limits in ``fields``.
    http = cast(type[PushFields], msgspec.defstruct("PushRequest", fields, bases=(PushFields,)))
    http.__doc__ = "``POST /api/push_clicks``: a batch of clicks (SPEC §4)."
    ws = cast(
        type[PushFields],
        msgspec.defstruct(
            "ClicksMessage", fields, bases=(PushFields,), tag_field="type", tag="clicks"
        ),
    )
    ws.__doc__ = "A push over the socket: the same rules as HTTP (SPEC §6)."
    return PushModels(http, ws)


def push_models_for(rules: Rules) -> PushModels:
    return push_models(rules.max_count, rules.max_counts_per_push)


# -- HTTP replies ----------------------------------------------------------------------------


class ErrorBody(Struct):
    code: Annotated[str, Meta(examples=["invalid_request"])]
    message: str
    details: Annotated[Any, Meta(description="anything that helps; often null")] = None


class ErrorReply(Struct):
    """Every refusal: ``{"error": {"code", "message", "details"}}`` (SPEC §5)."""

    error: ErrorBody


class Session(Struct):
    """A new player and its token."""

    token: Annotated[str, Meta(description="player token (JWT, long-lived)")]
    player: PlayerObject


class WsToken(Struct):
    """A short-lived token for ``GET /ws?token=...``."""

    token: str
    expires_in: Annotated[int, Meta(description="seconds the token is valid")]


class Leaderboard(Struct):
    """A leaderboard's entries, best first, and how many players it holds."""

    scope: Literal["round", "all"]
    entries: list[LeaderEntry]
    total: Annotated[int, Meta(ge=0)]


class Rounds(Struct):
    """Finished rounds, newest first."""

    rounds: list[RoundSummaryInfo]


class Status(Struct):
    status: str


class ClientSettings(Struct):
    """What a client needs to follow the rules (SPEC §5), the limits of a push included."""

    click_push_rate: float
    max_cps: int
    burst_seconds: float
    broadcast_interval: float
    max_count: Annotated[int, Meta(description="the largest count in a push")]
    max_counts_per_push: int
    batch_id_pattern: str
    name_max_length: int

    @classmethod
    def of(cls, settings: Settings) -> ClientSettings:
        rules = settings.rules
        return cls(
            click_push_rate=settings.click_push_rate,
            max_cps=settings.max_cps,
            burst_seconds=settings.burst_seconds,
            broadcast_interval=settings.broadcast_interval,
            max_count=rules.max_count,
            max_counts_per_push=rules.max_counts_per_push,
            batch_id_pattern=BATCH_ID_PATTERN,
            name_max_length=MAX_NAME_LENGTH,
        )


@dataclass(frozen=True, slots=True)
class Snapshot(BoardData):
    """``GET /api/snapshot``: the board, its version and the settings a client needs."""

    version: int
    settings: ClientSettings


@dataclass(frozen=True, slots=True)
class SnapshotData(Snapshot):
    """The WebSocket snapshot's data: ``/api/snapshot`` and your player."""

    me: PlayerObject


# -- WebSocket messages, client to server ----------------------------------------------------


class Ping(Request, tag_field="type", tag="ping"):
    """Answered with ``pong``."""


class Resync(Request, tag_field="type", tag="resync"):
    """Asks for the whole state again: answered with ``snapshot``."""


# -- WebSocket messages, server to client ----------------------------------------------------


class Message(Struct, tag_field="type"):
    """A server message; ``type`` names it."""


class SnapshotMessage(Message, tag="snapshot"):
    version: Literal[1]
    data: SnapshotData


class RowChanges(Struct):
    """One leaderboard's changes against the base board; rank is the place in ``top``."""

    top: (
        Annotated[list[int], Meta(description="every row's board key, best first, when moved")]
        | UnsetType
    ) = UNSET
    scores: (
        Annotated[list[tuple[int, int]], Meta(description="[key, score] of rows with a new score")]
        | UnsetType
    ) = UNSET


class LeaderboardChanges(Struct):
    """The leaderboards that changed; an unchanged one is left out."""

    round: RowChanges | UnsetType = UNSET
    all: (
        RowChanges
        | Annotated[Literal["round"], Meta(description="the same changes as ``round``'s")]
        | UnsetType
    ) = UNSET


# [key, name, planet]: a player the base board's rows did not hold, or held otherwise.
RowPlayer = tuple[int, str, str]


class BoardChanges(Struct):
    """The ``board`` message's data (SPEC §6): every planet's total, and what else changed.

    A part left out is as the base board had it. ``players`` introduces the rows' players by
    board key; a row's player not in the new rows is forgotten.
    """

    planets: tuple[PlanetView, ...]
    round: RoundView | UnsetType = UNSET
    leaderboard: LeaderboardChanges | UnsetType = UNSET
    players: list[RowPlayer] | UnsetType = UNSET
    online: int | UnsetType = UNSET
    players_total: int | UnsetType = UNSET
    paused: bool | UnsetType = UNSET
    pause_reason: str | UnsetType | None = UNSET
    paused_at: float | UnsetType | None = UNSET


class BoardMessage(Message, tag="board"):
    v: Annotated[int, Meta(description="the board's version")]
    base: Annotated[int, Meta(description="the version these changes apply to")]
    data: BoardChanges


class RoundMessage(Message, tag="round"):
    event: Literal["started", "finished"]
    data: RoundView | RoundSummaryInfo


class MeMessage(Message, tag="me"):
    """Your player object, sent when an admin changed it (a rename, a move, a reset, a ban)."""

    data: PlayerObject


class ErrorMessage(Message, tag="error", omit_defaults=True):
    code: str
    message: str
    details: Any = None
    batch_id: str | UnsetType = UNSET


class Pong(Message, tag="pong"):
    pass


def _ack_model() -> type[Message]:
    """``ack``: the push result without ``next_push_after`` (SPEC §6 lists its fields)."""
    hints = get_type_hints(PushResult)
    fields = [(name, hints[name]) for name in PushResult.__dataclass_fields__]
    fields = [(name, kind) for name, kind in fields if name != "next_push_after"]
    model = cast(type[Message], msgspec.defstruct("Ack", fields, bases=(Message,), tag="ack"))
    model.__doc__ = "What a push did and where the player now stands."
    return model


Ack = _ack_model()
_ack_values = operator.attrgetter(*Ack.__struct_fields__)


def ack(result: PushResult) -> Message:
    return Ack(*_ack_values(result))


PONG = Pong()

# The encoders of every reply and server message: they write models, the engine's dataclasses
# and plain values directly. Built once; an Encoder reuses its buffer.
encode_json = msgspec.json.Encoder().encode
encode_msgpack = msgspec.msgpack.Encoder().encode
