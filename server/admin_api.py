"""The admin's HTTP API (SPEC §8): thin handlers over the engine's admin commands.

Each handler admits the request (``server/admin_auth.py``: the admin token, the per-address
lockout, the rate limit), validates the body into its model (``server/admin_models.py``) and
sends one command to the actor; the reply is the engine's result as it is
(``engine/admin.py``), and a refusal is the engine's ``GameError`` in the error shape. Every
change is logged as one JSON line (``admin_action``, SPEC §10), refused or applied, with the
admin's name, never the token.

Routes and the OpenAPI document come from the same ``Operation`` table
(``server/admin_routes.py``), which ``server/http_api.py`` adds to the players' table.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from actor.actor import Actor
from engine import admin_query
from engine.command_types import GetMe
from engine.errors import GameError, InvalidRequest, NotFound, Unavailable
from server import admin_auth, admin_ws, auth
from server.admin_listing import ADMIN_LISTING, admin_listing_ctx
from server.admin_models import (
    AdminMe,
    AdminWsToken,
    BatchRequest,
    BulkRequest,
    FlagRequest,
    InterventionUpdate,
    PatchPlayer,
    PlayerAction,
    ReasonRequest,
    RoundRequest,
    command_fields,
)
from server.admin_ws import ADMIN_HUB
from server.bulk_runner import BULK_RUNNER, bulk_runner_ctx
from server.keys import ACTOR, AUTH, CLOCK
from server.models import encode_json
from server.request_body import read_model

log = logging.getLogger("ctb.admin")

ACTIONS = {
    "ban": "admin_ban",
    "unban": "admin_unban",
    "reset_score": "admin_reset_score",
    "kick": "admin_kick",
}


def reply(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode_json(data), status=status, content_type="application/json")


def actor_of(request: web.Request) -> Actor:
    actor = request.app.get(ACTOR)
    if actor is None or not actor.running:
        raise Unavailable("the game is not running")
    return actor


async def query(request: web.Request, cmd: dict[str, Any]) -> web.Response:
    """Run a read in the actor's turn; ``now`` is the game clock's, for the times it shows."""
    return reply(await actor_of(request).call({**cmd, "now": request.app[CLOCK].now()}))


async def mutate(request: web.Request, admin: str, cmd: dict[str, Any], status: int = 200) -> Any:
    """Apply one admin command and log it, applied or refused (SPEC §10)."""
    line = {
        "event": "admin_action",
        "admin": admin,
        "op": cmd["op"],
        "target": _target(request, cmd),
        "reason": cmd.get("reason"),
    }
    try:
        result = await actor_of(request).call(cmd)
    except GameError as error:
        log.info("admin action refused", extra={**line, "outcome": error.code})
        raise
    log.info("admin action", extra={**line, "outcome": "ok"})
    return result


def _target(request: web.Request, cmd: dict[str, Any]) -> Any:
    for key in ("player_id", "job_id", "intervention_id"):
        if key in cmd:
            return cmd[key]
    if cmd["op"] == "admin_batch":
        return [op.get("player_id") for op in cmd["operations"]]
    return request.match_info.get("id")


def _number(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
        raise NotFound(f"no such {what}", {"id": raw})
    return int(raw)


# -- players -----------------------------------------------------------------------------------


async def list_players(request: web.Request) -> web.Response:
    """The listing, charged to the admin's read budget and run beside the game's turns."""
    admin = admin_auth.admit(request)
    listing = admin_query.parse_query(dict(request.query))
    players = actor_of(request).board.players_total
    admin_auth.charge(request, admin, admin_query.cost(listing, players))
    return reply(await request.app[ADMIN_LISTING].run(listing))


async def get_player(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_player", "player_id": request.match_info["id"]})


async def patch_player(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = command_fields(await read_model(request, PatchPlayer))
    cmd = {"op": "admin_patch_player", "admin": admin, "player_id": request.match_info["id"]}
    return reply(await mutate(request, admin, {**cmd, **body}))


async def player_action(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    action = request.match_info["action"]
    op = ACTIONS.get(action)
    if op is None:
        raise NotFound(f"no such action: {action[:32]!r}", {"actions": list(ACTIONS)})
    body = command_fields(await read_model(request, PlayerAction))
    cmd = {"op": op, "admin": admin, "player_id": request.match_info["id"], **body}
    return reply(await mutate(request, admin, cmd))


async def player_actions(request: web.Request) -> web.Response:
    """The audit entries about one player, newest first, paged like the audit log."""
    admin_auth.admit(request)
    player_id = request.match_info["id"]
    unknown = sorted(set(request.query) - {"page", "limit"})
    if unknown:
        raise InvalidRequest(f"unknown parameters: {unknown}", {"fields": unknown})
    await actor_of(request).call(GetMe(player_id=player_id))  # 404: no such player
    params = {k: v for k, v in request.query.items() if k in ("page", "limit")}
    return await query(request, {"op": "admin_audit", "query": {**params, "target": player_id}})


async def batch(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = command_fields(await read_model(request, BatchRequest))
    return reply(await mutate(request, admin, {"op": "admin_batch", "admin": admin, **body}))


# -- bulk jobs ---------------------------------------------------------------------------------


async def create_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = command_fields(await read_model(request, BulkRequest))
    if body.pop("dry_run", False):  # count what the job would reach; create nothing
        body.pop("reason", None)
        return await query(request, {"op": "admin_bulk_preview", **body})
    if "reason" not in body:
        raise InvalidRequest("a reason is required", {"field": "reason"})
    job = await mutate(request, admin, {"op": "admin_bulk_create", "admin": admin, **body})
    request.app[BULK_RUNNER].follow(job)
    return reply(job, status=201)


async def list_bulk(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_bulk_jobs"})


async def get_bulk(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_bulk_job", "job_id": _number(request, "bulk job")})


async def cancel_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    job_id = _number(request, "bulk job")
    reason = (await read_model(request, ReasonRequest)).reason
    cmd = {"op": "admin_bulk_cancel", "admin": admin, "job_id": job_id, "reason": reason}
    return reply(await mutate(request, admin, cmd))


async def resume_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    job_id = _number(request, "bulk job")
    reason = (await read_model(request, ReasonRequest)).reason
    cmd = {"op": "admin_bulk_resume", "admin": admin, "job_id": job_id, "reason": reason}
    job = await mutate(request, admin, cmd)
    request.app[BULK_RUNNER].follow(job)
    return reply(job)


# -- interventions, audit ----------------------------------------------------------------------


async def list_interventions(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_interventions", "query": dict(request.query)})


async def flag_player(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = command_fields(await read_model(request, FlagRequest))
    case = await mutate(request, admin, {"op": "admin_flag", "admin": admin, **body})
    return reply(case, status=200 if case["existing"] else 201)


async def update_intervention(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    case_id = _number(request, "intervention")
    body = command_fields(await read_model(request, InterventionUpdate))
    cmd = {"op": "admin_intervention", "admin": admin, "intervention_id": case_id, **body}
    return reply(await mutate(request, admin, cmd))


async def get_audit(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_audit", "query": dict(request.query)})


# -- the game: rounds, pause, figures ------------------------------------------------------------


async def queue_round(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = command_fields(await read_model(request, RoundRequest))
    cmd = {"op": "admin_queue_round", "admin": admin, **body}
    return reply(await mutate(request, admin, cmd), status=201)


async def reasoned(op: str, request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    reason = (await read_model(request, ReasonRequest)).reason
    return reply(await mutate(request, admin, {"op": op, "admin": admin, "reason": reason}))


async def end_round(request: web.Request) -> web.Response:
    return await reasoned("admin_end_round", request)


async def pause(request: web.Request) -> web.Response:
    return await reasoned("admin_pause", request)


async def resume(request: web.Request) -> web.Response:
    return await reasoned("admin_resume", request)


async def get_game(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, {"op": "admin_game"})


async def get_metrics(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    hub = request.app[ADMIN_HUB]
    return reply(hub.metrics_message(close_window=False)["data"])


async def admin_me(request: web.Request) -> web.Response:
    """Who the token is: the console shows the admin's name."""
    return reply(AdminMe(admin_auth.admit(request)))


async def ws_token(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    token = auth.issue(request.app[AUTH], admin, auth.ADMIN_WS)
    return reply(AdminWsToken(token, auth.WS_TTL))


def setup(app: web.Application) -> None:
    """The admin's guard, socket, hub and bulk runner; the JSON routes come with http_api's."""
    admin_auth.setup(app)
    app.router.add_get("/api/admin/ws", admin_ws.handle, allow_head=False)
    app.cleanup_ctx.append(admin_ws.admin_hub_ctx)
    app.cleanup_ctx.append(bulk_runner_ctx)
    app.cleanup_ctx.append(admin_listing_ctx)
    app.on_shutdown.append(admin_ws.close_admin_sockets)
