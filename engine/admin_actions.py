"""Admin player actions (SPEC §8): ``patch``, ``ban``, ``unban``, ``reset_score``, ``kick``.

Each is split into a check that only reads and an apply that cannot fail once the check passed.
A single action (``admin_ban``, ...) is the two in a row; ``admin_batch`` checks every operation
first and applies them all in the same turn only when every check passed, so a batch is all or
nothing (``engine/admin.py``). An operation is a plain dict, ``{"action": "ban", "player_id":
..., "reason": ...}``, so a batch reports which of its operations is wrong and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import admin_events, audit, bans, roster
from engine import query_params as params
from engine.errors import Conflict, InvalidRequest
from engine.players import BANNED, STATUSES, Player, clean_name
from engine.state import GameState, active_round
from engine.view import player_dict

Operation = dict[str, Any]
SCORE_MAX = 10**12


@dataclass(slots=True, frozen=True)
class Checked:
    """An operation that passed its check: what ``apply`` needs and nothing more."""

    action: str
    player: Player
    reason: str
    values: dict[str, Any]


def _check_patch(state: GameState, player: Player, op: Operation) -> dict[str, Any]:
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


def _check_ban(state: GameState, player: Player, op: Operation) -> dict[str, Any]:
    revoke = op.get("revoke_round_clicks", False)
    if not isinstance(revoke, bool):
        raise InvalidRequest("revoke_round_clicks must be true or false", {"field": "revoke"})
    return {
        "revoke_round_clicks": revoke,
        "duration": bans.check_duration(op.get("duration_seconds")),
    }


def _no_values(state: GameState, player: Player, op: Operation) -> dict[str, Any]:
    return {}


def _apply_patch(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    player, values = c.player, c.values
    before = {name: _read(state, player, name) for name in values}
    if "name" in values:
        roster.set_name(state, player, values["name"], now, admin)
    if "planet" in values:
        roster.move_player(state, player.id, values["planet"])
    if "status" in values:
        was = player.status
        roster.set_status(state, player.id, values["status"])
        if values["status"] == BANNED and was != BANNED:
            roster.record_ban(state, player.id, now, c.reason, None, admin)
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


def _apply_ban(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    before = {"status": c.player.status, "score": c.player.score}
    revoke, duration = c.values["revoke_round_clicks"], c.values["duration"]
    revoked = roster.ban(
        state, c.player.id, revoke, now=now, reason=c.reason, duration=duration, by=admin
    )
    after = {"status": c.player.status, "score": c.player.score, "revoked": revoked}
    if duration is not None:  # a ban without end keeps the entry it always had
        after["banned_until"] = bans.until(state, c.player.id)
    return {
        "player": player_dict(state, c.player),
        "revoked": revoked,
        "before": before,
        "after": after,
    }


def _apply_unban(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    before = {"status": c.player.status}
    roster.unban(state, c.player.id)
    return {"player": player_dict(state, c.player), "before": before, "after": {"status": "active"}}


def _apply_reset(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    shown = player_dict(state, c.player)
    before = {"score": shown["score"], "round_score": shown["round_score"]}
    roster.reset_score(state, c.player.id)
    after = {"score": 0, "round_score": 0}
    return {"player": player_dict(state, c.player), "before": before, "after": after}


def _apply_kick(state: GameState, c: Checked, admin: str, now: float) -> dict[str, Any]:
    """Nothing in the game changes: the server closes the player's sockets (4000)."""
    return {"player": player_dict(state, c.player), "kicked": True, "before": None, "after": None}


Check = Callable[[GameState, Player, Operation], dict[str, Any]]
Apply = Callable[[GameState, Checked, str, float], dict[str, Any]]
ACTIONS: dict[str, tuple[Check, Apply, tuple[str, ...]]] = {
    "patch": (_check_patch, _apply_patch, ("name", "planet", "status", "score", "round_score")),
    "ban": (_check_ban, _apply_ban, ("revoke_round_clicks", "duration_seconds")),
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
    result = ACTIONS[c.action][1](state, c, admin, now)
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
        changed=[c.player.id] if c.action != "kick" else (),
        player_id=c.player.id,
        player_name=c.player.name,
        admin=admin,
        reason=c.reason,
        audit_id=result["audit_id"],
    )
    return result
