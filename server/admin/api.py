"""The admin's HTTP API (SPEC §8): thin handlers over the engine's admin commands.

Each handler admits the request (``server/admin/auth.py``: the admin token, the per-address
lockout, the rate limit), validates the body into its model (``server/admin/models.py``),
builds the engine's typed command from it (``engine/command_types.py``) and hands that to the
actor; the engine's result is read into its reply model (``server/admin/replies.py``), and a
refusal is the engine's ``GameError``, put in the error shape by ``server/errors.py``. Every
change is logged as one JSON line (``admin_action``, SPEC §10), refused or applied, with the
admin's name, never the token.

Routes and the OpenAPI document come from the same ``Operation`` table
(``server/admin/routes.py``), which ``server/http_api.py`` adds to the players' table.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import msgspec
from aiohttp import web
from msgspec import UNSET

from bus.link import GameLink
from engine import command_types as c
from engine.admin import query as admin_query
from engine.errors import GameError, InvalidRequest, NotFound, Unavailable
from server import auth
from server.admin import auth as admin_auth
from server.admin import replies as out
from server.admin import ws as admin_ws
from server.admin.models import (
    AdminWsToken,
    BatchRequest,
    BulkRequest,
    FlagRequest,
    InterventionUpdate,
    PatchPlayer,
    PlayerAction,
    ReasonRequest,
    RoundRequest,
)
from server.admin.replies import typed
from server.admin.ws import ADMIN_HUB
from server.keys import AUTH, CLOCK, GAME
from server.models import encode_json
from server.request_body import read_model

log = logging.getLogger("ctb.admin")
C = TypeVar("C", bound=c.Command)

ACTIONS: dict[str, type[c.AdminCommand]] = {
    "ban": c.AdminBan,
    "unban": c.AdminUnban,
    "reset_score": c.AdminResetScore,
    "kick": c.AdminKick,
}

HISTORY_FLAGS = {"0": False, "1": True, "false": False, "true": True}


def reply(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode_json(data), status=status, content_type="application/json")


def game_of(request: web.Request) -> GameLink:
    game = request.app.get(GAME)
    if game is None or not game.running:
        raise Unavailable("the game is not running")
    return game


def given(body: msgspec.Struct) -> dict[str, Any]:
    """The fields the admin gave; an unset one is left out, so the command's default holds."""
    return {
        name: value
        for name in body.__struct_fields__
        if (value := getattr(body, name)) is not UNSET
    }


def command(kind: type[C], body: msgspec.Struct, **fields: Any) -> C:
    """The engine's command ``kind`` with what the admin gave in ``body`` and ``fields``.

    A field the command does not take (``revoke_round_clicks`` on an unban) is refused here,
    naming it, as an unknown field of a body is.
    """
    values = {**given(body), **fields}
    unknown = sorted(set(values) - set(kind.__struct_fields__))
    if unknown:
        raise InvalidRequest(f"unknown fields: {', '.join(unknown)}", {"fields": unknown})
    return kind(**values)


async def query(request: web.Request, cmd: c.Command, model: type) -> web.Response:
    """Run a read in the actor's turn; ``now`` is the game clock's, for the times it shows."""
    now = request.app[CLOCK].now()
    result = await game_of(request).call(msgspec.structs.replace(cmd, now=now))
    return reply(typed(result, model))


async def mutate(request: web.Request, cmd: c.AdminCommand) -> Any:
    """Apply one admin command and log it, applied or refused (SPEC §10)."""
    line = {
        "event": "admin_action",
        "admin": cmd.admin,
        "op": c.op(cmd),
        "target": _target(request, cmd),
        "reason": cmd.reason,
    }
    try:
        result = await game_of(request).call(cmd)
    except GameError as error:
        log.info("admin action refused", extra={**line, "outcome": error.code})
        raise
    log.info("admin action", extra={**line, "outcome": "ok"})
    return result


def _target(request: web.Request, cmd: c.AdminCommand) -> Any:
    for key in ("player_id", "job_id", "intervention_id"):
        if hasattr(cmd, key):
            return getattr(cmd, key)
    if isinstance(cmd, c.AdminBatch):
        return [op.player_id for op in cmd.operations]
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
    players = game_of(request).board.players_total
    admin_auth.charge(request, admin, admin_query.cost(listing, players))
    return reply(typed(await game_of(request).list_players(listing), out.PlayerListing))


async def get_player(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    cmd = c.AdminGetPlayer(player_id=request.match_info["id"])
    return await query(request, cmd, out.PlayerDetail)


async def patch_player(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, PatchPlayer)
    player_id = request.match_info["id"]
    cmd = command(c.AdminPatchPlayer, body, admin=admin, player_id=player_id)
    return reply(typed(await mutate(request, cmd), out.PlayerChange))


async def player_action(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    action = request.match_info["action"]
    kind = ACTIONS.get(action)
    if kind is None:
        raise NotFound(f"no such action: {action[:32]!r}", {"actions": list(ACTIONS)})
    body = await read_model(request, PlayerAction)
    cmd = command(kind, body, admin=admin, player_id=request.match_info["id"])
    return reply(typed(await mutate(request, cmd), out.PlayerChange))


async def player_actions(request: web.Request) -> web.Response:
    """The audit entries about one player, newest first, paged like the audit log."""
    admin_auth.admit(request)
    player_id = request.match_info["id"]
    unknown = sorted(set(request.query) - {"page", "limit"})
    if unknown:
        raise InvalidRequest(f"unknown parameters: {unknown}", {"fields": unknown})
    await game_of(request).call(c.GetMe(player_id=player_id))  # 404: no such player
    params = {k: v for k, v in request.query.items() if k in ("page", "limit")}
    cmd = c.AdminGetAudit(query={**params, "target": player_id})
    return await query(request, cmd, out.AuditPage)


async def batch(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, BatchRequest)
    operations = [c.PlayerOperation(**given(op)) for op in body.operations]
    result = await mutate(request, c.AdminBatch(admin=admin, operations=operations))
    return reply(typed(result, out.BatchReply))


# -- bulk jobs ---------------------------------------------------------------------------------


async def create_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, BulkRequest)
    if body.dry_run is True:  # count what the job would reach; create nothing
        asked = msgspec.structs.replace(body, dry_run=UNSET, reason=UNSET)
        return await query(request, command(c.AdminBulkPreview, asked), out.BulkDryRun)
    if body.reason is UNSET:
        raise InvalidRequest("a reason is required", {"field": "reason"})
    asked = msgspec.structs.replace(body, dry_run=UNSET)
    job = await mutate(request, command(c.AdminBulkCreate, asked, admin=admin))
    return reply(typed(job, out.BulkJob), status=201)


async def list_bulk(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, c.AdminListBulkJobs(), out.BulkJobs)


async def get_bulk(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    cmd = c.AdminGetBulkJob(job_id=_number(request, "bulk job"))
    return await query(request, cmd, out.BulkJob)


async def cancel_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    job_id = _number(request, "bulk job")
    body = await read_model(request, ReasonRequest)
    cmd = command(c.AdminBulkCancel, body, admin=admin, job_id=job_id)
    return reply(typed(await mutate(request, cmd), out.BulkJob))


async def resume_bulk(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    job_id = _number(request, "bulk job")
    body = await read_model(request, ReasonRequest)
    job = await mutate(request, command(c.AdminBulkResume, body, admin=admin, job_id=job_id))
    return reply(typed(job, out.BulkJob))


# -- interventions, audit ----------------------------------------------------------------------


async def list_interventions(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    cmd = c.AdminListInterventions(query=dict(request.query))
    return await query(request, cmd, out.InterventionPage)


async def flag_player(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, FlagRequest)
    case = await mutate(request, command(c.AdminFlag, body, admin=admin))
    return reply(typed(case, out.FlaggedCase), status=200 if case["existing"] else 201)


async def update_intervention(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    case_id = _number(request, "intervention")
    body = await read_model(request, InterventionUpdate)
    cmd = command(c.AdminIntervention, body, admin=admin, intervention_id=case_id)
    return reply(typed(await mutate(request, cmd), out.Intervention))


async def get_audit(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, c.AdminGetAudit(query=dict(request.query)), out.AuditPage)


# -- the game: rounds, pause, figures ------------------------------------------------------------


async def queue_round(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, RoundRequest)
    cmd = command(c.AdminQueueRound, body, admin=admin)
    return reply(typed(await mutate(request, cmd), out.QueuedRound), status=201)


async def reasoned(kind: type[c.AdminCommand], request: web.Request, model: type) -> web.Response:
    admin = admin_auth.admit(request)
    body = await read_model(request, ReasonRequest)
    return reply(typed(await mutate(request, command(kind, body, admin=admin)), model))


async def end_round(request: web.Request) -> web.Response:
    return await reasoned(c.AdminEndRound, request, out.RoundEnded)


async def pause(request: web.Request) -> web.Response:
    return await reasoned(c.AdminPause, request, out.GameStatus)


async def resume(request: web.Request) -> web.Response:
    return await reasoned(c.AdminResume, request, out.GameStatus)


async def get_game(request: web.Request) -> web.Response:
    admin_auth.admit(request)
    return await query(request, c.AdminGetGame(), out.GameStatus)


async def get_metrics(request: web.Request) -> web.Response:
    """The figures now; with ``?history=1`` also the last 10 minutes of them, oldest first."""
    admin_auth.admit(request)
    hub = request.app[ADMIN_HUB]
    figures = hub.metrics_message(close_window=False)["data"]
    wanted = request.query.get("history", "0")
    if wanted not in HISTORY_FLAGS:
        raise InvalidRequest("history is 1 or 0", {"field": "history"})
    if HISTORY_FLAGS[wanted]:
        figures["history"] = hub.history_message()["data"]["points"]
    return reply(typed(figures, out.MetricsReply))


async def admin_me(request: web.Request) -> web.Response:
    """Who the token is: the console shows the admin's name."""
    return reply(out.AdminIdentity(name=admin_auth.admit(request)))


async def ws_token(request: web.Request) -> web.Response:
    admin = admin_auth.admit(request)
    token = auth.issue(request.app[AUTH], admin, auth.ADMIN_WS)
    return reply(AdminWsToken(token, auth.WS_TTL))


def setup(app: web.Application) -> None:
    """The admin's guard, socket and hub; the JSON routes come with http_api's."""
    admin_auth.setup(app)
    app.router.add_get("/api/admin/ws", admin_ws.handle, allow_head=False)
    app.cleanup_ctx.append(admin_ws.admin_hub_ctx)
    app.on_shutdown.append(admin_ws.close_admin_sockets)
