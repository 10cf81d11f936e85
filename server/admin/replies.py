"""The admin API's replies (SPEC §8), one model each, as the OpenAPI document states them.

The engine builds each reply as plain data in its turn (``engine/admin/commands.py``); the
handler reads it into its model here (``typed``) before it is encoded, so what the admin gets is
what the document says, field for field. The models refuse a field they do not declare: a reply
the engine grew without its model is an error in the tests, never a field that silently
disappears. Fields marked "when given" are left out of some replies: ``target_name`` where the
target is not a player, ``banned_until`` where no ban runs, ``history`` unless it was asked for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar, cast, get_type_hints

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from engine.admin import query as admin_query
from engine.view import PlayerObject, RoundSummaryInfo

T = TypeVar("T")

Seconds = Annotated[float, Meta(description="Unix seconds")]
Maybe = Annotated[Any, Meta(description="what the change touched; null when nothing")]


class Reply(Struct, forbid_unknown_fields=True):
    """An admin reply: every field declared, none dropped or invented on the way out."""


def typed(data: Any, model: type[T]) -> T:
    """The engine's plain reply read into its model (a reply that does not fit is a bug: 500)."""
    return msgspec.convert(data, model)


def _player_model() -> type[Reply]:
    """The SPEC §5 player object as the engine declares it, with what a timed ban adds."""
    fields: list[Any] = list(get_type_hints(PlayerObject).items())
    if "banned_until" not in dict(fields):
        fields.append(("banned_until", Seconds | None | UnsetType, UNSET))
    model = msgspec.defstruct("AdminPlayer", fields, bases=(Reply,))
    model.__doc__ = "A player object (SPEC §5); banned_until: when a timed ban ends (when given)."
    return cast(type[Reply], model)


AdminPlayer = _player_model()


# AdminPlayer is made at run time (defstruct), which a type checker cannot follow as a base.
class ListedPlayer(AdminPlayer, kw_only=True):  # type: ignore[misc, valid-type, call-arg]
    """A row of the listing: the player object, its throttle violations, whether flagged."""

    violations: int
    flagged: bool


class PlayerListing(Reply, kw_only=True):
    """``GET /api/admin/players``: one page, the total, what was asked, how long it took."""

    players: list[ListedPlayer]
    total_count: int
    page: int
    page_size: int
    filters_applied: admin_query.PlayerFilter
    # A Literal made from the engine's tuple: msgspec reads it at run time, a type checker cannot.
    sort: Literal[admin_query.SORTS]  # type: ignore[valid-type]
    order: Literal[admin_query.ORDERS]  # type: ignore[valid-type]
    query_time_ms: float


class AuditEntry(Reply, kw_only=True):
    """One admin change: who, what, whom, why, before → after, when (SPEC §8)."""

    id: int
    at: Seconds
    admin: Annotated[str, Meta(description="the admin's name (older entries: a token id)")]
    action: str
    target: Annotated[str, Meta(description="a player id, game, round:<id>, bulk:<id>")]
    reason: str
    before: Maybe = None
    after: Maybe = None
    target_name: (
        Annotated[str | None, Meta(description="the target player's name now (when given)")]
        | UnsetType
    ) = UNSET


class AuditPage(Reply, kw_only=True):
    """``GET /api/admin/audit`` and a player's actions: newest first, one page."""

    entries: list[AuditEntry]
    total_count: int
    page: int
    page_size: int


class Note(Reply, kw_only=True):
    at: Seconds
    admin: str
    text: str


class Intervention(Reply, kw_only=True):
    """A case of the queue of flagged players, with its evidence and notes."""

    id: int
    player_id: str
    kind: Annotated[str, Meta(examples=["throttling", "machine_rhythm", "manual"])]
    status: Literal["open", "assigned", "resolved"]
    created_at: Seconds
    updated_at: Seconds
    evidence: dict[str, Any]
    flagged_by: str | None
    assignee: str | None
    notes: list[Note]
    resolution: str | None
    resolved_at: Seconds | None
    resolved_by: str | None
    player_name: Annotated[str | None, Meta(description="when given")] | UnsetType = UNSET


class FlaggedCase(Intervention, kw_only=True):
    """``POST /api/admin/interventions``: the case; ``existing``: it was already open."""

    existing: bool


class InterventionPage(Reply, kw_only=True):
    interventions: list[Intervention]
    total_count: int
    page: int
    page_size: int


class PushFigures(Reply, kw_only=True):
    """How a player's pushes looked over the detector's window."""

    window_seconds: float
    pushes: int
    throttled_pushes: int
    throttled_clicks: int
    mean_interval: float
    cv_interval: float | None
    mean_count: float
    cv_count: float | None


class PlayedRound(Reply, kw_only=True):
    round: int
    total: int
    winner: str | None
    at: Seconds


class NameChange(Reply, kw_only=True):
    at: Seconds
    name: str
    by: Annotated[str, Meta(description="player, or the admin's name")]


History = Annotated[list[NameChange], Meta(description="oldest first, the last 20 (when given)")]


class PlayerDetail(Reply, kw_only=True):
    """``GET /api/admin/players/{id}``: everything about one player."""

    # AdminPlayer is made at run time (defstruct): a type checker cannot use it as a type.
    player: AdminPlayer  # type: ignore[valid-type]
    round_id: int | None
    round_score: int
    round_batches: Annotated[
        dict[str, list[int]], Meta(description="planet → this round's batches (clicks)")
    ]
    rounds: list[PlayedRound]
    violations: int
    tokens: Annotated[float, Meta(description="push tokens available now")]
    flagged: bool
    push_stats: PushFigures | None
    interventions: list[Intervention]
    actions: list[AuditEntry]
    audit: list[AuditEntry]
    names: History | UnsetType = UNSET
    banned_until: Seconds | UnsetType | None = UNSET
    ban_reason: str | UnsetType | None = UNSET


class PlayerChange(Reply, kw_only=True):
    """A player action or patch: the player now and the audit entry it wrote."""

    # AdminPlayer is made at run time (defstruct): a type checker cannot use it as a type.
    player: AdminPlayer  # type: ignore[valid-type]
    audit_id: int
    revoked: Annotated[int, Meta(description="ban: clicks taken back out")] | UnsetType = UNSET
    kicked: bool | UnsetType = UNSET


class BatchResult(Reply, kw_only=True):
    index: int
    ok: Literal[True]
    action: str
    result: PlayerChange


class BatchReply(Reply, kw_only=True):
    """``POST /api/admin/batch``: every operation applied, a result for each."""

    results: list[BatchResult]
    applied: int


class BulkJob(Reply, kw_only=True):
    """A bulk job's progress; ``remaining`` is what the count at creation leaves."""

    id: int
    action: str
    status: str
    params: dict[str, Any]
    selection: dict[str, Any]
    total: int
    processed: int
    done: int
    skipped: int
    remaining: int
    progress: Annotated[float, Meta(ge=0, le=1)]
    admin: str
    reason: str
    created_at: Seconds
    updated_at: Seconds
    finished_at: Seconds | None


class BulkJobs(Reply, kw_only=True):
    jobs: list[BulkJob]


class Sampled(Reply, kw_only=True):
    id: str
    name: str


class BulkDryRun(Reply, kw_only=True):
    """``POST /api/admin/bulk`` with ``dry_run``: whom the job would touch; nothing made."""

    dry_run: Literal[True]
    total: int
    sample: Annotated[list[Sampled], Meta(max_length=10)]


class QueuedRound(Reply, kw_only=True):
    id: int
    target: int
    seconds: float
    planets: list[str]


class GameStatus(Reply, kw_only=True):
    """Whether the game is paused, why, and since when."""

    paused: bool
    reason: str | None
    since: Seconds | None


class AdminIdentity(Reply, kw_only=True):
    """``GET /api/admin/me``: who is signed in."""

    name: str


class AdminMetrics(Reply, kw_only=True):
    """The live figures (SPEC §8); the socket sends the same object every 5 s."""

    at: float  # the game-clock time of the sample (unix seconds)
    players: int
    online: int
    connections: int
    clicks_per_second: float
    pushes_per_second: float
    throttled_per_second: float
    window_seconds: float
    round_id: int | None
    round_status: str | None
    round_ends_at: float | None
    paused: bool
    pause_reason: str | None
    actor_queue_depth: int
    actor_turn_ms: float
    actor_turn_ms_max: float
    actor_turns: int
    admin_sockets: int | UnsetType = UNSET
    journal: str
    snapshot_age_seconds: float | UnsetType | None = UNSET
    snapshot_bytes: int | UnsetType | None = UNSET
    snapshot_ms: float | UnsetType | None = UNSET
    snapshot_status: str | UnsetType | None = UNSET
    journal_writable: bool | UnsetType = UNSET
    data_dir: str | UnsetType = UNSET


class MetricsReply(AdminMetrics, kw_only=True):
    """``GET /api/admin/metrics``; ``?history=1`` adds the last 10 minutes (when given)."""

    history: list[AdminMetrics] | UnsetType = UNSET


RoundEnded = RoundSummaryInfo
