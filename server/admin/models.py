"""The admin API's request bodies (SPEC §8), typed like the players' (``server/models.py``).

The models check shapes and limits at the edge, so a wrong type or an unknown field never
reaches the actor; what depends on the state (does the planet exist, is a round active) is the
engine's check, inside the turn. A limit the engine's commands also carry (a status, a score,
a batch's length) is the engine's type, used here (``engine/command_types.py``). The handlers
build the engine's typed command from the model (``server/admin/api.py``); the replies are in
``server/admin/replies.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from engine.admin import actions as admin_actions
from engine.admin import audit
from engine.admin.query import PlayerFilter
from engine.command_types import (
    MAX_BATCH,
    AdminName,
    BanSeconds,
    BulkAction,
    Note,
    Score,
    Status,
    Template,
)
from engine.rules import MAX_ROUND_SECONDS, MAX_ROUND_TARGET
from server.models import Name, Request

Reason = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=audit.MAX_REASON,
        description="why: required for every admin change, kept in the audit log",
        examples=["cheating"],
    ),
]
PlayerId = Annotated[str, Meta(min_length=1, max_length=64)]
PlanetName = Annotated[str, Meta(min_length=1, max_length=24)]


class ReasonRequest(Request):
    """An admin change that needs nothing but its reason (pause, resume, end a round, cancel)."""

    reason: Reason


class PatchPlayer(Request):
    """``PATCH /api/admin/players/{id}``: any of name, planet, status, scores."""

    reason: Reason
    name: Name | UnsetType = UNSET
    planet: PlanetName | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    score: Score | UnsetType = UNSET
    round_score: Score | UnsetType = UNSET


class PlayerAction(Request):
    """``POST /api/admin/players/{id}/actions/{action}``; only ``ban`` takes the other fields."""

    reason: Reason
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET


class BatchOperation(PatchPlayer, kw_only=True):
    """One operation of a batch: a player action, or a patch with ``PatchPlayer``'s fields."""

    # The engine's tuple as a Literal (see Status above).
    # A Literal made from the engine's tuple: msgspec reads it at run time, a type checker cannot.
    action: Literal[tuple(admin_actions.ACTIONS)]  # type: ignore[valid-type]
    player_id: PlayerId
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET


class BatchRequest(Request):
    """``POST /api/admin/batch``: all or nothing, a result for each operation."""

    operations: Annotated[list[BatchOperation], Meta(min_length=1, max_length=MAX_BATCH)]


class BulkRequest(Request):
    """``POST /api/admin/bulk``: an action over a filter or a list of ids (one of the two).

    With ``dry_run``, nothing is created: the reply counts the players the job would reach
    and names the first ten; a dry run needs no reason, a job does.
    """

    action: BulkAction
    reason: Reason | UnsetType = UNSET
    filter: PlayerFilter | UnsetType = UNSET  # the listing's filters, declared by the engine
    player_ids: Annotated[list[PlayerId], Meta(min_length=1)] | UnsetType = UNSET
    planet: PlanetName | UnsetType = UNSET
    revoke_round_clicks: bool | UnsetType = UNSET
    dry_run: bool | UnsetType = UNSET


class FlagRequest(Request):
    """``POST /api/admin/interventions``: flag a player by hand; the reason is the evidence."""

    player_id: PlayerId
    reason: Reason


class InterventionUpdate(Request):
    """``PATCH /api/admin/interventions/{id}``: assign, note, resolve with a template."""

    reason: Reason
    assignee: AdminName | UnsetType = UNSET
    note: Note | UnsetType = UNSET
    resolve: Template | UnsetType = UNSET
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET  # with resolve: ban


class RoundRequest(Request):
    """``POST /api/admin/rounds``: queue a round; unset settings take the game's defaults."""

    reason: Reason
    target: Annotated[int, Meta(ge=1, le=MAX_ROUND_TARGET)] | UnsetType = UNSET
    seconds: Annotated[float, Meta(ge=1, le=MAX_ROUND_SECONDS)] | UnsetType = UNSET
    planets: Annotated[list[PlanetName], Meta(min_length=2)] | UnsetType = UNSET


class AdminWsToken(msgspec.Struct):
    """A short-lived token for ``GET /api/admin/ws?token=...``."""

    token: str
    expires_in: Annotated[int, Meta(description="seconds the token is valid")]
