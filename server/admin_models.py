"""The admin API's request bodies (SPEC §8), typed like the players' (``server/models.py``).

The models check shapes and limits at the edge, so a wrong type or an unknown field never
reaches the actor; what depends on the state (does the planet exist, is a round active) is the
engine's check, inside the turn. A model is turned into the engine's command with
``command_fields``: unset fields are left out, so the engine sees only what the admin gave.
Replies are the engine's own results, encoded as they are (``engine/admin.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from engine import admin, admin_actions, audit, bans, bulk, interventions
from engine.players import STATUSES
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
Score = Annotated[int, Meta(ge=0, le=admin_actions.SCORE_MAX)]
PlayerId = Annotated[str, Meta(min_length=1, max_length=64)]
PlanetName = Annotated[str, Meta(min_length=1, max_length=24)]
Status = Literal[STATUSES]  # type: ignore[valid-type]
AdminName = Annotated[str, Meta(min_length=1, max_length=64)]
BanSeconds = Annotated[
    float,
    Meta(ge=1, le=bans.MAX_DURATION, description="a ban that lifts itself after this many seconds"),
]


def command_fields(model: msgspec.Struct) -> dict[str, Any]:
    """The fields the admin gave, as plain values for a command dict."""
    fields: dict[str, Any] = msgspec.to_builtins(model)
    return fields


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
    """``POST /api/admin/players/{id}/actions/{action}``; only ``ban`` reads the flag."""

    reason: Reason
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET


class BatchOperation(PatchPlayer, kw_only=True):
    """One operation of a batch: a player action, or a patch with ``PatchPlayer``'s fields."""

    action: Literal[tuple(admin_actions.ACTIONS)]  # type: ignore[valid-type]
    player_id: PlayerId
    revoke_round_clicks: bool | UnsetType = UNSET
    duration_seconds: BanSeconds | UnsetType = UNSET


class BatchRequest(Request):
    """``POST /api/admin/batch``: all or nothing, a result for each operation."""

    operations: Annotated[list[BatchOperation], Meta(min_length=1, max_length=admin.MAX_BATCH)]


class PlayerFilter(Request):
    """The listing's filters, for a bulk job: tested on each player as the job reaches them."""

    search: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    planet: PlanetName | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    score_min: Score | UnsetType = UNSET
    score_max: Score | UnsetType = UNSET
    round_score_min: Score | UnsetType = UNSET
    round_score_max: Score | UnsetType = UNSET
    active_since: Annotated[float, Meta(description="Unix seconds")] | UnsetType = UNSET
    created_since: Annotated[float, Meta(description="Unix seconds")] | UnsetType = UNSET
    flagged: bool | UnsetType = UNSET


class BulkRequest(Request):
    """``POST /api/admin/bulk``: an action over a filter or a list of ids (one of the two).

    With ``dry_run``, nothing is created: the reply counts the players the job would reach
    and names the first ten; a dry run needs no reason, a job does.
    """

    action: Literal[bulk.ACTIONS]  # type: ignore[valid-type]
    reason: Reason | UnsetType = UNSET
    filter: PlayerFilter | UnsetType = UNSET
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
    note: Annotated[str, Meta(min_length=1, max_length=interventions.MAX_NOTE)] | UnsetType = UNSET
    resolve: Literal[tuple(interventions.TEMPLATES)] | UnsetType = UNSET  # type: ignore[valid-type]
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


class AdminMe(msgspec.Struct):
    """``GET /api/admin/me``: who is signed in, as the audit names them."""

    name: Annotated[str, Meta(description="the admin's name: admin for ADMIN_TOKEN")]
