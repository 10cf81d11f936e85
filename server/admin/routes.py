"""The admin API's route table (SPEC §8): the router registers it, the OpenAPI document
describes it (``server/openapi.py``), and ``server/http_api.py`` adds it to the players' table.

The handlers are in ``server/admin/api.py``. Parameters the engine reads itself (the listing's
query, the audit's filters) are stated here with ``Doc`` for the document only; the listing's
come from the engine's own declaration of them (``engine.admin.query.PlayerQuery``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from engine.admin import audit, interventions
from engine.admin import query as admin_query
from server import auth
from server.admin import models as model
from server.admin import replies as out
from server.admin.api import (
    ACTIONS,
    admin_me,
    batch,
    cancel_bulk,
    create_bulk,
    end_round,
    flag_player,
    get_audit,
    get_bulk,
    get_game,
    get_metrics,
    get_player,
    list_bulk,
    list_interventions,
    list_players,
    patch_player,
    pause,
    player_action,
    player_actions,
    queue_round,
    resume,
    resume_bulk,
    update_intervention,
    ws_token,
)
from server.openapi import Operation


@dataclass(frozen=True, slots=True)
class Doc:
    """A parameter the engine reads itself, stated here for the document only."""

    name: str
    where: str
    kind: dict[str, Any]

    def schema(self) -> dict[str, Any]:
        return self.kind


STRING = {"type": "string"}
PLAYER_ID = Doc("id", "path", {"type": "string", "minLength": 1})
NUMBER_ID = Doc("id", "path", {"type": "integer", "minimum": 1})
PAGE = Doc("page", "query", {"type": "integer", "minimum": 1, "default": 1})
LIMIT = Doc("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50})
TIME = {"type": "string", "description": "Unix seconds, or ISO 8601 with a zone"}


def query_params(model: type[msgspec.Struct]) -> tuple[Doc, ...]:
    """A model's fields as query parameters, each with its type's schema and default.

    An optional field is one the URL may leave out (never null), and a time (a number in the
    model) is a string in the URL: Unix seconds, or ISO 8601 with a zone.
    """
    properties = msgspec.json.schema(model)["$defs"][model.__name__]["properties"]
    docs = []
    for name, declared in properties.items():
        kind = dict(declared)
        default = kind.pop("default", None)
        if "anyOf" in kind:
            (kind,) = [one for one in kind.pop("anyOf") if one != {"type": "null"}]
        if kind.get("type") == "number":
            kind = {**TIME, "description": kind.get("description", TIME["description"])}
        docs.append(Doc(name, "query", kind if default is None else {**kind, "default": default}))
    return tuple(docs)


PLAYER_PARAMS = query_params(admin_query.PlayerQuery)
AUDIT_PARAMS = query_params(audit.AuditQuery)
CASE_PARAMS = query_params(interventions.CaseQuery)
READ_ERRORS = (400, 401, 429, 503)
CHANGE_ERRORS = (400, 401, 404, 409, 413, 415, 429, 503)


def operations() -> list[Operation]:
    """Every admin route: the router registers them and the document describes them."""
    players, jobs = ("admin: players",), ("admin: bulk",)
    cases, game = ("admin: interventions",), ("admin: game",)

    def op(method: str, path: str, handler: Any, name: str, summary: str, **kw: Any) -> Operation:
        kw.setdefault("errors", CHANGE_ERRORS if method != "GET" else READ_ERRORS)
        return Operation(method, path, handler, name, summary, admin=True, **kw)

    return [
        op("GET", "/api/admin/players", list_players, "admin_players",
           "search, filter, sort and page the players (query_time_ms says how long it took)",
           params=PLAYER_PARAMS, reply=out.PlayerListing, tags=players),
        op("GET", "/api/admin/players/{id}", get_player, "admin_player",
           "everything about one player", params=(PLAYER_ID,), reply=out.PlayerDetail,
           errors=(401, 404, 429, 503), tags=players),
        op("PATCH", "/api/admin/players/{id}", patch_player, "admin_patch_player",
           "change a player's name, planet, status or scores", params=(PLAYER_ID,),
           request=model.PatchPlayer, reply=out.PlayerChange, tags=players),
        op("POST", "/api/admin/players/{id}/actions/{action}", player_action, "admin_action",
           "ban (optionally revoking the round's clicks), unban, reset_score or kick",
           params=(PLAYER_ID, Doc("action", "path", {"enum": list(ACTIONS)})),
           request=model.PlayerAction, reply=out.PlayerChange, tags=players),
        op("GET", "/api/admin/players/{id}/actions", player_actions, "admin_player_actions",
           "the audit entries about one player, newest first", params=(PLAYER_ID, PAGE, LIMIT),
           reply=out.AuditPage, errors=(400, 401, 404, 429, 503), tags=players),
        op("POST", "/api/admin/batch", batch, "admin_batch",
           "several player operations, all or nothing, with a result for each",
           request=model.BatchRequest, reply=out.BatchReply, tags=players),
        op("POST", "/api/admin/bulk", create_bulk, "admin_bulk_create",
           "a bulk job over a filter or a list of ids, run in steps", request=model.BulkRequest,
           reply=out.BulkJob, status=201,
           also=((200, "dry_run: whom the job would touch; nothing is made", out.BulkDryRun),),
           tags=jobs),
        op("GET", "/api/admin/bulk", list_bulk, "admin_bulk_jobs", "every bulk job, newest first",
           reply=out.BulkJobs, errors=(401, 429, 503), tags=jobs),
        op("GET", "/api/admin/bulk/{id}", get_bulk, "admin_bulk_job", "one bulk job's progress",
           params=(NUMBER_ID,), reply=out.BulkJob, errors=(401, 404, 429, 503), tags=jobs),
        op("POST", "/api/admin/bulk/{id}/cancel", cancel_bulk, "admin_bulk_cancel",
           "stop a job; what it did stays done", params=(NUMBER_ID,), request=model.ReasonRequest,
           reply=out.BulkJob, tags=jobs),
        op("POST", "/api/admin/bulk/{id}/resume", resume_bulk, "admin_bulk_resume",
           "go on with a job a restart interrupted", params=(NUMBER_ID,),
           request=model.ReasonRequest, reply=out.BulkJob, tags=jobs),
        op("GET", "/api/admin/interventions", list_interventions, "admin_interventions",
           "the queue of flagged players, newest first", params=CASE_PARAMS,
           reply=out.InterventionPage, tags=cases),
        op("POST", "/api/admin/interventions", flag_player, "admin_flag",
           "flag a player by hand (201: a new case)", request=model.FlagRequest, status=201,
           reply=out.FlaggedCase,
           also=((200, "the player's case already open, with the reason added to its notes"),),
           tags=cases),
        op("PATCH", "/api/admin/interventions/{id}", update_intervention, "admin_intervention",
           "assign, add a note, or resolve with a template (warn, ban, dismiss, other)",
           params=(NUMBER_ID,), request=model.InterventionUpdate, reply=out.Intervention,
           tags=cases),
        op("GET", "/api/admin/audit", get_audit, "admin_audit",
           "the audit log, newest first, filtered and paged", params=AUDIT_PARAMS,
           reply=out.AuditPage, tags=game),
        op("GET", "/api/admin/metrics", get_metrics, "admin_metrics",
           "live figures: players, online, rates, connections, round, actor, snapshot, journal",
           params=(Doc("history", "query", {"enum": ["0", "1", "false", "true"]}),),
           reply=out.MetricsReply, errors=(400, 401, 429, 503), tags=game),
        op("GET", "/api/admin/me", admin_me, "admin_me", "who the token is: the admin's name",
           reply=out.AdminIdentity, errors=(401, 429), tags=game),
        op("POST", "/api/admin/ws-token", ws_token, "admin_ws_token",
           f"a token for GET /api/admin/ws?token=..., valid {auth.WS_TTL} s",
           reply=model.AdminWsToken, errors=(401, 429), tags=game),
        op("POST", "/api/admin/rounds", queue_round, "admin_queue_round",
           "queue a round with its target, length and planets", request=model.RoundRequest,
           reply=out.QueuedRound, status=201, tags=game),
        op("POST", "/api/admin/rounds/current/end", end_round, "admin_end_round",
           "end the active round now", request=model.ReasonRequest, reply=out.RoundEnded,
           tags=game),
        op("POST", "/api/admin/game/pause", pause, "admin_pause",
           "emergency stop: pushes get 409 paused, boards say so", request=model.ReasonRequest,
           reply=out.GameStatus, tags=game),
        op("POST", "/api/admin/game/resume", resume, "admin_resume",
           "play on; the round's end moves by the pause's length", request=model.ReasonRequest,
           reply=out.GameStatus, tags=game),
        op("GET", "/api/admin/game", get_game, "admin_game", "whether the game is paused, and why",
           reply=out.GameStatus, errors=(401, 429, 503), tags=game),
    ]  # fmt: skip
