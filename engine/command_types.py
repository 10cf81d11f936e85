"""Every command the actor takes, declared once as a typed model (msgspec ``Struct``s).

A command is a frozen struct tagged by ``op``: ``Push(player_id=..., batch_id=..., clicks=[5])``
is the msgpack map ``{"op": "push", "player_id": ..., "batch_id": ..., "clicks": [5], "now": t}``
in the journal, the same map the journal held when commands were plain dicts, so a segment
written before the models replays unchanged. Mutations change the state and are journaled;
queries only read it. The actor stamps each mutation's ``now`` (``stamped``) as it journals it:
time is in the record, never read by the engine.

Where a field's values are limited (a status, a score, how many operations a batch holds), the
limit is in its type here, so it is checked once wherever a command is read: by the server's
request models, which use these types, by the journal's decoder, and by ``parse``. The engine
then checks only what depends on the state (does the player exist, is a round active).

The server builds the models directly. ``parse`` turns a plain dict into its model (the
transition for code that still speaks dicts, and the tests' shorthand); a dict that does not fit
its model is an ``InvalidRequest`` naming the field, before anything is journaled. The journal
decodes records with ``MUTATION`` (``persistence/journal.py``): a record that does not fit its
model, or names an op no model has, is refused as corrupt.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeAlias, Union, cast, dataclass_transform

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from engine.admin.bulk import ACTIONS as BULK_ACTIONS
from engine.admin.bulk import SCAN, STEP
from engine.admin.interventions import MAX_NOTE, TEMPLATES
from engine.admin.query import PlayerFilter
from engine.errors import InvalidRequest
from engine.players import STATUSES

SCORE_MAX = 10**12
MAX_BATCH = 100
MAX_BAN_SECONDS = 31_536_000  # a year
Score = Annotated[int, Meta(ge=0, le=SCORE_MAX)]
# Literals made from the engine's tuples, so the values are written once; msgspec reads them at
# run time, a type checker cannot (it sees Any here and wherever they are used).
Status = Literal[STATUSES]  # type: ignore[valid-type]
AdminName = Annotated[str, Meta(min_length=1, max_length=64)]
Note = Annotated[str, Meta(min_length=1, max_length=MAX_NOTE)]
Template: TypeAlias = Literal[tuple(TEMPLATES)]  # type: ignore[valid-type]
BulkAction = Literal[BULK_ACTIONS]  # type: ignore[valid-type]
BanSeconds = Annotated[
    float, Meta(ge=1, le=MAX_BAN_SECONDS, description="a timed ban lifts itself after this")
]


# msgspec's subclasses inherit ``frozen`` and ``kw_only``; the decorator tells type checkers so.
@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(msgspec.field,))
class Command(Struct, tag_field="op", kw_only=True, frozen=True, forbid_unknown_fields=True):
    """What every command carries: the time the actor applied it (0 until it is stamped)."""

    now: float = 0.0


class AdminCommand(Command, kw_only=True, frozen=True):
    """An admin change: ``admin`` is the admin token's id, never the token (SPEC §8)."""

    admin: str | None = None
    reason: str | None = None


# -- the game's own mutations ------------------------------------------------------------------


class Tick(Command, tag="tick"):
    """Finish a round whose time ran out, start one whose break is over."""


class CreatePlayer(Command, tag="create_player"):
    player_id: str
    name: str | None = None


class Rename(Command, tag="rename"):
    player_id: str
    name: str


class Push(Command, tag="push"):
    player_id: str
    batch_id: str
    clicks: list[int]


class CheckedPush(Push):
    """A push whose shape the server's request model has already checked (``server/models.py``).

    The engine applies it without checking the shape again. It is journaled as a plain
    ``push`` (the same tag and fields), so a record read back from disk is a ``Push``, checked.
    """


class MovePlayer(Command, tag="move_player"):
    player_id: str
    planet: str


class SetStatus(Command, tag="set_status"):
    player_id: str
    status: str


class Ban(Command, tag="ban"):
    player_id: str
    revoke_round_clicks: bool = False


class Unban(Command, tag="unban"):
    player_id: str


class ResetScore(Command, tag="reset_score"):
    player_id: str


class QueueRound(Command, tag="queue_round"):
    target: int | None = None
    seconds: float | None = None
    planets: list[str] | None = None


class EndRound(Command, tag="end_round"):
    pass


# -- admin mutations, each audited (engine/admin/commands.py) ---------------------------------


class AdminPatchPlayer(AdminCommand, tag="admin_patch_player"):
    player_id: str
    name: str | UnsetType = UNSET
    planet: str | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    score: Score | UnsetType = UNSET
    round_score: Score | UnsetType = UNSET


class AdminBan(AdminCommand, tag="admin_ban"):
    player_id: str
    revoke_round_clicks: bool = False
    duration_seconds: BanSeconds | UnsetType = (
        UNSET  # a ban that lifts itself (engine/admin/bans.py)
    )


class AdminUnban(AdminCommand, tag="admin_unban"):
    player_id: str


class AdminResetScore(AdminCommand, tag="admin_reset_score"):
    player_id: str


class AdminKick(AdminCommand, tag="admin_kick"):
    player_id: str


class PlayerOperation(Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One operation of a batch, ``{"action": "ban", "player_id": ..., "reason": ...}``.

    ``action`` is any string and every action's fields are here: which action exists and which
    fields it takes is ``engine.admin.actions.check``'s, so a batch's refusal names the
    operation that is wrong instead of refusing the whole command unread.
    """

    action: str
    player_id: str
    reason: str | None = None
    name: str | UnsetType = UNSET
    planet: str | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    score: Score | UnsetType = UNSET
    round_score: Score | UnsetType = UNSET
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET


class AdminBatch(AdminCommand, tag="admin_batch"):
    """Player operations, all or none; each is checked by ``engine.admin.actions.check``."""

    operations: Annotated[list[PlayerOperation], Meta(min_length=1, max_length=MAX_BATCH)]


class AdminPause(AdminCommand, tag="admin_pause"):
    pass


class AdminResume(AdminCommand, tag="admin_resume"):
    pass


class AdminQueueRound(AdminCommand, tag="admin_queue_round"):
    target: int | None = None
    seconds: float | None = None
    planets: list[str] | None = None


class AdminEndRound(AdminCommand, tag="admin_end_round"):
    pass


class AdminBulkCreate(AdminCommand, tag="admin_bulk_create"):
    """A job over the players ``filter`` matches, or over ``player_ids`` (one of the two).

    ``walk``: the filter is tested on each player as the job's cursor reaches it
    (``engine/admin/bulk.py``). False is what a record of a journal written before that means (the
    journal sets it when it reads one): the ids the filter matched at creation are the targets.
    """

    action: BulkAction
    filter: PlayerFilter | UnsetType = UNSET
    player_ids: list[str] | UnsetType = UNSET
    planet: str | UnsetType = UNSET  # move_planet
    revoke_round_clicks: bool = False  # ban
    walk: bool = True


class AdminBulkStep(AdminCommand, tag="admin_bulk_step"):
    """One step: at most ``limit`` players reached, among at most ``scan`` slots over a filter.

    Both are in the record, so a replay walks exactly as the live step did.
    """

    job_id: int
    limit: int = STEP
    scan: int = SCAN


class AdminBulkCancel(AdminCommand, tag="admin_bulk_cancel"):
    job_id: int


class AdminBulkResume(AdminCommand, tag="admin_bulk_resume"):
    job_id: int


class AdminFlag(AdminCommand, tag="admin_flag"):
    player_id: str


class AdminIntervention(AdminCommand, tag="admin_intervention"):
    """Assign, note, or resolve with a template (``warn``, ``ban``, ``dismiss``, ``other``)."""

    intervention_id: int
    assignee: AdminName | None = None
    note: Note | None = None
    resolve: Template | None = None
    revoke_round_clicks: bool = False
    duration_seconds: BanSeconds | UnsetType = UNSET  # with ``resolve: ban``


# -- queries: read in a turn, never journaled ------------------------------------------------


class GetMe(Command, tag="me"):
    player_id: str


class GetLeaderboard(Command, tag="leaderboard"):
    scope: str = "round"
    limit: int = 10
    around: str | None = None  # a player id: the entries on each side of theirs


class GetRounds(Command, tag="rounds"):
    limit: int = 50


class AdminListPlayers(Command, tag="admin_players"):
    query: dict[str, Any] = msgspec.field(default_factory=dict)  # the URL's parameters


class AdminGetPlayer(Command, tag="admin_player"):
    player_id: str


class AdminGetAudit(Command, tag="admin_audit"):
    query: dict[str, Any] = msgspec.field(default_factory=dict)


class AdminListInterventions(Command, tag="admin_interventions"):
    query: dict[str, Any] = msgspec.field(default_factory=dict)


class AdminGetBulkJob(Command, tag="admin_bulk_job"):
    job_id: int


class AdminListBulkJobs(Command, tag="admin_bulk_jobs"):
    pass


class AdminBulkPreview(Command, tag="admin_bulk_preview"):
    """A bulk job's dry run: what ``AdminBulkCreate`` with these fields would reach."""

    action: BulkAction
    filter: PlayerFilter | UnsetType = UNSET
    player_ids: list[str] | UnsetType = UNSET
    planet: str | UnsetType = UNSET
    revoke_round_clicks: bool = False


class AdminGetGame(Command, tag="admin_game"):
    pass


MUTATIONS: tuple[type[Command], ...] = (
    Tick,
    CreatePlayer,
    Rename,
    Push,
    MovePlayer,
    SetStatus,
    Ban,
    Unban,
    ResetScore,
    QueueRound,
    EndRound,
    AdminPatchPlayer,
    AdminBan,
    AdminUnban,
    AdminResetScore,
    AdminKick,
    AdminBatch,
    AdminPause,
    AdminResume,
    AdminQueueRound,
    AdminEndRound,
    AdminBulkCreate,
    AdminBulkStep,
    AdminBulkCancel,
    AdminBulkResume,
    AdminFlag,
    AdminIntervention,
)
QUERIES: tuple[type[Command], ...] = (
    GetMe,
    GetLeaderboard,
    GetRounds,
    AdminListPlayers,
    AdminGetPlayer,
    AdminGetAudit,
    AdminListInterventions,
    AdminGetBulkJob,
    AdminListBulkJobs,
    AdminBulkPreview,
    AdminGetGame,
)
MUTATION: Any = Union[MUTATIONS]  # noqa: UP007 - a union built from the tuple, for msgspec
ANY_COMMAND: Any = Union[MUTATIONS + QUERIES]  # noqa: UP007
_NAMED_FIELD = re.compile(r"Object (contains unknown|missing required) field `(.+)`")


def op(cmd: Command) -> str:
    """The command's ``op``, as the journal writes it."""
    return cast(str, type(cmd).__struct_config__.tag)  # every command is declared with a str tag


def parse(raw: Any, model: Any = ANY_COMMAND) -> Any:
    """The typed command a plain dict describes; InvalidRequest naming the field if none fits
    (``{"field": "clicks", "at": "clicks[0]"}``; an unknown field: ``{"fields": ["colour"]}``,
    as the engine's own checks name them)."""
    try:
        return msgspec.convert(raw, model)
    except msgspec.ValidationError as error:
        message, _, where = str(error).partition(" - at `$")
        path = where.rstrip("`").lstrip(".")
        field = path.split("[")[0].split(".")[0]
        named = _NAMED_FIELD.fullmatch(message)
        details: dict[str, Any] = {}
        if named and not path:
            kind, name = named.groups()
            details = {"fields": [name]} if kind == "contains unknown" else {"field": name}
        elif field:
            details = {"field": field} if path == field else {"field": field, "at": path}
        raise InvalidRequest(f"not a valid command: {message}", details) from None


def stamped(cmd: Command, now: float) -> Any:
    """The same command at ``now``: what the actor journals and applies."""
    return msgspec.structs.replace(cmd, now=now)
