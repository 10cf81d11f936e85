"""Admin commands: every change an admin makes, each with its audit entry (SPEC §8).

Each command names ``admin`` (the admin token's id, never the token) and a ``reason``, and
writes its audit entry itself, inside the one ``commands.apply``: the journal stores the same
command dict, so a replay rebuilds the entry exactly and no change can go unaudited.

Player actions (``patch``, ``ban``, ``unban``, ``reset_score``, ``kick``) are split into a check
that only reads and an apply that cannot fail once the check passed. A single action is the two
in a row; ``admin_batch`` checks every operation first and applies them all in the same turn only
when every check passed, so a batch is all or nothing and reports a result for each operation.

The table at the end (``MUTATIONS``, ``QUERIES``) is merged into ``engine.commands``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import admin_events, admin_query, audit, bulk, interventions, roster, rounds
from engine import query_params as params
from engine.errors import Conflict, GameError, InvalidRequest
from engine.players import BANNED, STATUSES, Player, clean_name
from engine.state import GameState, active_round
from engine.view import player_dict

Command = dict[str, Any]
MAX_BATCH = 100
SCORE_MAX = 10**12


@dataclass(slots=True, frozen=True)
class Checked:
    """An operation that passed its check: what ``apply`` needs and nothing more."""

    action: str
    player: Player
    reason: str
    values: dict[str, Any]


def _check_patch(state: GameState, player: Player, op: Command) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in op:
        values["name"] = clean_name(op["name"])
    if "planet" in op:
        if op["planet"] not in state.planets:
            raise InvalidRequest(f"unknown planet {op['planet']!r}", {"field": "planet"})
        values["planet"] = op["planet"]
    if "status" in op:
        if op["status"] not in STATUSES:
            raise InvalidRequest(f"status must be one of {list(STATUSES)}", {"field": "status"})
        values["status"] = op["status"]
    for name in ("score", "round_score"):
        if name in op:
            value = op[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SCORE_MAX:
                raise InvalidRequest(f"{name} must be an integer from 0 to 10^12", {"field": name})
            values[name] = value
    if "round_score" in values and active_round(state) is None:
        raise Conflict("no round is active: there is no round score to set")
    if not values:
        raise InvalidRequest("nothing to change: give name, planet, status, score or round_score")
    return values


def _check_ban(state: GameState, player: Player, op: Command) -> dict[str, Any]:
    revoke = op.get("revoke_round_clicks", False)
    if not isinstance(revoke, bool):
        raise InvalidRequest("revoke_round_clicks must be true or false", {"field": "revoke"})
    return {"revoke_round_clicks": revoke}


def _no_values(state: GameState, player: Player, op: Command) -> dict[str, Any]:
    return {}


def _apply_patch(state: GameState, c: Checked) -> dict[str, Any]:
    player, values = c.player, c.values
    before = {name: _read(state, player, name) for name in values}
    if "name" in values:
        roster.rename(state, player.id, values["name"])
    if "planet" in values:
        roster.move_player(state, player.id, values["planet"])
    if "status" in values:
        roster.set_status(state, player.id, values["status"])
    if "score" in values:
        player.score = values["score"]
        state.seq += 1
        state.all_board.set(player.slot, player.score, state.seq)
    if "round_score" in values:
        assert state.current is not None  # checked: a round is active
        player.round_id = state.current.id
        player.round_score = values["round_score"]
        state.seq += 1
        if player.round_score:
            state.round_board.set(player.slot, player.round_score, state.seq)
        else:
            state.round_board.discard(player.slot)
    state.index.sync(player)
    after = {name: _read(state, player, name) for name in values}
    return {"player": player_dict(state, player), "before": before, "after": after}


def _read(state: GameState, player: Player, name: str) -> Any:
    if name == "round_score":
        return player_dict(state, player)["round_score"]
    return getattr(player, name)


def _apply_ban(state: GameState, c: Checked) -> dict[str, Any]:
    before = {"status": c.player.status, "score": c.player.score}
    revoked = roster.ban(state, c.player.id, c.values["revoke_round_clicks"])
    after = {"status": c.player.status, "score": c.player.score, "revoked": revoked}
    return {
        "player": player_dict(state, c.player),
        "revoked": revoked,
        "before": before,
        "after": after,
    }


def _apply_unban(state: GameState, c: Checked) -> dict[str, Any]:
    before = {"status": c.player.status}
    roster.unban(state, c.player.id)
    return {"player": player_dict(state, c.player), "before": before, "after": {"status": "active"}}


def _apply_reset(state: GameState, c: Checked) -> dict[str, Any]:
    shown = player_dict(state, c.player)
    before = {"score": shown["score"], "round_score": shown["round_score"]}
    roster.reset_score(state, c.player.id)
    after = {"score": 0, "round_score": 0}
    return {"player": player_dict(state, c.player), "before": before, "after": after}


def _apply_kick(state: GameState, c: Checked) -> dict[str, Any]:
    """Nothing in the game changes: the server closes the player's sockets (4000)."""
    return {"player": player_dict(state, c.player), "kicked": True, "before": None, "after": None}


Check = Callable[[GameState, Player, Command], dict[str, Any]]
Apply = Callable[[GameState, Checked], dict[str, Any]]
ACTIONS: dict[str, tuple[Check, Apply, tuple[str, ...]]] = {
    "patch": (_check_patch, _apply_patch, ("name", "planet", "status", "score", "round_score")),
    "ban": (_check_ban, _apply_ban, ("revoke_round_clicks",)),
    "unban": (_no_values, _apply_unban, ()),
    "reset_score": (_no_values, _apply_reset, ()),
    "kick": (_no_values, _apply_kick, ()),
}
COMMON = ("action", "player_id", "reason")


def check(state: GameState, op: object) -> Checked:
    """Validate one player operation against the state; changes nothing."""
    if not isinstance(op, dict):
        raise InvalidRequest("an operation must be an object")
    action = op.get("action")
    if action not in ACTIONS:
        raise InvalidRequest(f"action must be one of {list(ACTIONS)}", {"field": "action"})
    check_values, _, fields = ACTIONS[action]
    params.refuse_unknown(op, COMMON + fields)
    reason = audit.clean_reason(op.get("reason"))
    player_id = op.get("player_id")
    if not isinstance(player_id, str):
        raise InvalidRequest("player_id must be a string", {"field": "player_id"})
    player = roster.get_player(state, player_id)
    return Checked(action, player, reason, check_values(state, player, op))


def apply_checked(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    result = ACTIONS[c.action][1](state, c)
    before, after = result.pop("before"), result.pop("after")
    result["audit_id"] = audit.record(
        state, now, admin, c.action, c.player.id, c.reason, before, after
    )["id"]
    banned = c.action == "ban" or (c.action == "patch" and c.values.get("status") == BANNED)
    admin_events.emit(
        state,
        c.action,
        now,
        banned=[c.player.id] if banned else (),
        kicked=[c.player.id] if c.action == "kick" else (),
        player_id=c.player.id,
        admin=admin,
        reason=c.reason,
        audit_id=result["audit_id"],
    )
    return result


# -- command handlers -------------------------------------------------------------------------


def _action(name: str) -> Callable[[GameState, Command], dict[str, Any]]:
    def handler(state: GameState, cmd: Command) -> dict[str, Any]:
        admin = audit.clean_admin(cmd.get("admin"))
        fields = {k: v for k, v in cmd.items() if k not in ("op", "now", "admin")}
        checked = check(state, {**fields, "action": name})
        return apply_checked(state, checked, admin, cmd["now"])

    return handler


def _batch(state: GameState, cmd: Command) -> dict[str, Any]:
    """Check every operation, then apply them all; a refused one refuses the batch."""
    admin = audit.clean_admin(cmd.get("admin"))
    operations = cmd.get("operations")
    if not isinstance(operations, list) or not 1 <= len(operations) <= MAX_BATCH:
        raise InvalidRequest(f"operations must list 1-{MAX_BATCH} operations", {"field": "ops"})
    checked: list[Checked] = []
    problems: list[dict[str, Any]] = []
    for i, op in enumerate(operations):
        try:
            checked.append(check(state, op))
            problems.append({"index": i, "ok": True})
        except GameError as error:
            problems.append({"index": i, "ok": False, "error": _error(error)})
    if len(checked) != len(operations):
        raise InvalidRequest("the batch was refused: nothing was applied", {"results": problems})
    results = []
    for i, c in enumerate(checked):
        outcome = apply_checked(state, c, admin, cmd["now"])
        results.append({"index": i, "ok": True, "action": c.action, "result": outcome})
    return {"results": results, "applied": len(results)}


def _error(error: GameError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "details": error.details}


def _pause(state: GameState, cmd: Command) -> dict[str, Any]:
    """Emergency stop: pushes are refused with ``paused`` and the round clock stands still."""
    admin, reason, now = (
        audit.clean_admin(cmd.get("admin")),
        audit.clean_reason(cmd.get("reason")),
        cmd["now"],
    )
    if state.paused:
        raise Conflict("the game is already paused")
    state.paused, state.pause_reason, state.paused_at = True, reason, now
    audit.record(state, now, admin, "pause", "game", reason, {"paused": False}, {"paused": True})
    admin_events.emit(state, "pause", now, admin=admin, reason=reason)
    return pause_info(state)


def _resume(state: GameState, cmd: Command) -> dict[str, Any]:
    """Play on; the active round's end and the next round's start move by the pause's length."""
    admin, reason, now = (
        audit.clean_admin(cmd.get("admin")),
        audit.clean_reason(cmd.get("reason")),
        cmd["now"],
    )
    if not state.paused:
        raise Conflict("the game is not paused")
    stood = max(0.0, now - (state.paused_at or now))
    current = state.current
    if current is not None and active_round(state) is not None and current.ends_at is not None:
        current.ends_at += stood
    if state.next_round_at is not None:
        state.next_round_at += stood
    state.paused, state.pause_reason, state.paused_at = False, None, None
    after = {"paused": False, "paused_seconds": stood}
    audit.record(state, now, admin, "resume", "game", reason, {"paused": True}, after)
    admin_events.emit(state, "resume", now, admin=admin, reason=reason, paused_seconds=stood)
    return pause_info(state)


def pause_info(state: GameState) -> dict[str, Any]:
    return {"paused": state.paused, "reason": state.pause_reason, "since": state.paused_at}


def _queue_round(state: GameState, cmd: Command) -> dict[str, Any]:
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    round_ = rounds.queue_round(state, cmd.get("target"), cmd.get("seconds"), cmd.get("planets"))
    after = {"target": round_.target, "seconds": round_.seconds, "planets": round_.planets}
    audit.record(state, cmd["now"], admin, "queue_round", f"round:{round_.id}", reason, None, after)
    admin_events.emit(state, "queue_round", cmd["now"], admin=admin, round_id=round_.id, **after)
    return {"id": round_.id, **after}


def _end_round(state: GameState, cmd: Command) -> dict[str, Any]:
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    summary = rounds.end_current(state, cmd["now"])
    info = rounds.summary_info(summary)
    after = {"winner": summary.winner, "totals": summary.totals}
    audit.record(state, cmd["now"], admin, "end_round", f"round:{summary.id}", reason, None, after)
    admin_events.emit(state, "end_round", cmd["now"], admin=admin, round_id=summary.id, **after)
    return info


def _bulk_create(state: GameState, cmd: Command) -> dict[str, Any]:
    """A job over the players a filter matches now, or over a list of ids."""
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    action = cmd.get("action")
    job_params = bulk.check_params(state, action, cmd)
    if ("filter" in cmd) == ("player_ids" in cmd):
        raise InvalidRequest("give either filter or player_ids", {"field": "filter"})
    if "filter" in cmd:
        raw = cmd["filter"]
        if not isinstance(raw, dict):
            raise InvalidRequest("filter must be an object", {"field": "filter"})
        query = admin_query.parse_query({k: v for k, v in raw.items()})
        slots = admin_query.matching_slots(state, query)
        by_slot = state.index.by_slot
        targets = [by_slot[s].id for s in slots.tolist()]
        selection = {"filter": admin_query.filters_applied(query)}
    else:
        targets = bulk.check_ids(cmd["player_ids"])
        selection = {"player_ids": len(targets)}
    job = bulk.create(state, str(action), job_params, targets, selection, admin, reason, cmd["now"])
    return _bulk_event(state, bulk.job_dict(job), cmd["now"])


def _bulk_event(
    state: GameState, job: dict[str, Any], now: float, banned: list[str] | None = None
) -> dict[str, Any]:
    """Tell admins how a job stands; a step of a ban names whom it reached."""
    admin_events.emit(state, "bulk", now, banned=banned or (), job=job)
    return job


def _bulk_step(state: GameState, cmd: Command) -> dict[str, Any]:
    job = bulk.get_job(state, cmd.get("job_id"))
    start = job.cursor
    result = bulk.step(state, job.id, cmd.get("limit", bulk.STEP), cmd["now"])
    # Targets skipped as already banned are named too: closing a socket that is already gone
    # (a banned player's socket closes at once) costs nothing.
    reached = job.targets[start : job.cursor] if job.action == "ban" else None
    return _bulk_event(state, result, cmd["now"], reached)


def _bulk_cancel(state: GameState, cmd: Command) -> dict[str, Any]:
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    job = bulk.cancel(state, cmd.get("job_id"), admin, reason, cmd["now"])
    return _bulk_event(state, job, cmd["now"])


def _bulk_resume(state: GameState, cmd: Command) -> dict[str, Any]:
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    job = bulk.resume(state, cmd.get("job_id"), admin, reason, cmd["now"])
    return _bulk_event(state, job, cmd["now"])


def _flag(state: GameState, cmd: Command) -> dict[str, Any]:
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    player_id = cmd.get("player_id")
    if not isinstance(player_id, str):
        raise InvalidRequest("player_id must be a string", {"field": "player_id"})
    return interventions.case_dict(interventions.flag(state, player_id, admin, reason, cmd["now"]))


def _intervention(state: GameState, cmd: Command) -> dict[str, Any]:
    """Assign, note, or resolve with a template (``warn``, ``ban``, ``dismiss``, ``other``)."""
    admin, reason = audit.clean_admin(cmd.get("admin")), audit.clean_reason(cmd.get("reason"))
    assignee, note, resolution = cmd.get("assignee"), cmd.get("note"), cmd.get("resolve")
    revoke = cmd.get("revoke_round_clicks", False)
    if not isinstance(revoke, bool):
        raise InvalidRequest("revoke_round_clicks must be true or false", {"field": "revoke"})
    case = interventions.check_update(state, cmd.get("intervention_id"), assignee, note, resolution)
    return interventions.update(
        state, case, admin, reason, cmd["now"], assignee, note, resolution, revoke
    )


MUTATIONS: dict[str, Callable[[GameState, Command], Any]] = {
    "admin_patch_player": _action("patch"),
    "admin_ban": _action("ban"),
    "admin_unban": _action("unban"),
    "admin_reset_score": _action("reset_score"),
    "admin_kick": _action("kick"),
    "admin_batch": _batch,
    "admin_pause": _pause,
    "admin_resume": _resume,
    "admin_queue_round": _queue_round,
    "admin_end_round": _end_round,
    "admin_bulk_create": _bulk_create,
    "admin_bulk_step": _bulk_step,
    "admin_bulk_cancel": _bulk_cancel,
    "admin_bulk_resume": _bulk_resume,
    "admin_flag": _flag,
    "admin_intervention": _intervention,
}


# -- queries: read the live state in a turn, never journaled -----------------------------------


def _players(state: GameState, cmd: Command) -> dict[str, Any]:
    query = admin_query.parse_query(cmd.get("query") or {})
    return admin_query.list_players(state, query, cmd.get("now", 0.0))


def _player(state: GameState, cmd: Command) -> dict[str, Any]:
    return admin_query.player_detail(state, cmd["player_id"], cmd.get("now", 0.0))


def _audit(state: GameState, cmd: Command) -> dict[str, Any]:
    return audit.query(state, audit.parse_query(cmd.get("query") or {}))


def _interventions(state: GameState, cmd: Command) -> dict[str, Any]:
    raw = cmd.get("query") or {}
    params.refuse_unknown(raw, ("status", "player_id", "page", "limit"))
    status = raw.get("status")
    if status is not None and status not in (
        interventions.OPEN,
        interventions.ASSIGNED,
        interventions.RESOLVED,
    ):
        raise InvalidRequest("status must be open, assigned or resolved", {"field": "status"})
    return interventions.listing(
        state,
        status,
        params.text(raw, "player_id"),
        params.integer(raw, "page", 1, 1, 10**9) or 1,
        params.integer(raw, "limit", 50, 1, admin_query.MAX_LIMIT) or 50,
    )


def _bulk_job(state: GameState, cmd: Command) -> dict[str, Any]:
    return bulk.job_dict(bulk.get_job(state, cmd.get("job_id")))


def _bulk_jobs(state: GameState, cmd: Command) -> dict[str, Any]:
    return {"jobs": [bulk.job_dict(job) for job in reversed(state.bulk_jobs.values())]}


def _game(state: GameState, cmd: Command) -> dict[str, Any]:
    return pause_info(state)


QUERIES: dict[str, Callable[[GameState, Command], Any]] = {
    "admin_players": _players,
    "admin_player": _player,
    "admin_audit": _audit,
    "admin_interventions": _interventions,
    "admin_bulk_job": _bulk_job,
    "admin_bulk_jobs": _bulk_jobs,
    "admin_game": _game,
}
