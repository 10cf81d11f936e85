"""Admin player actions (SPEC §8): ``patch``, ``ban``, ``unban``, ``reset_score``, ``kick``.

Each is split into a check that only reads and an apply that cannot fail once the check passed.
A single action (``admin_ban``, ...) is the two in a row; ``admin_batch`` checks every operation
first and applies them all in the same turn only when every check passed, so a batch is all or
nothing (``engine/admin/commands.py``). An operation is a ``PlayerOperation``
(``engine/command_types.py``), whose types have already bounded its values; the check here is
what the types cannot say (the action and the fields it takes, the reason once trimmed, the
player, the planet, the round), so a batch reports which of its operations is wrong and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from msgspec import UNSET

from engine import roster
from engine.admin import audit, bans
from engine.admin import events as admin_events
from engine.command_types import SCORE_MAX, PlayerOperation
from engine.errors import Conflict, InvalidRequest
from engine.players import BANNED, Player, clean_name
from engine.state import GameState, active_round
from engine.view import player_dict

__all__ = ["SCORE_MAX", "Checked", "apply_checked", "check"]
Given = dict[str, Any]  # the operation's fields that were given, past the common ones


@dataclass(slots=True, frozen=True)
class Checked:
    """An operation that passed its check: what ``apply`` needs and nothing more."""

    action: str
    player: Player
    reason: str
    values: dict[str, Any]


def _check_patch(state: GameState, player: Player, op: Given) -> dict[str, Any]:
    values = dict(op)  # status and scores: their types bounded them (``command_types``)
    if "name" in op:
        values["name"] = clean_name(op["name"])
    if "planet" in op and op["planet"] not in state.planets:
        raise InvalidRequest(f"unknown planet {op['planet']!r}", {"field": "planet"})
    if "round_score" in values and active_round(state) is None:
        raise Conflict("no round is active: there is no round score to set")
    if not values:
        raise InvalidRequest("nothing to change: give name, planet, status, score or round_score")
    return values


def _check_ban(state: GameState, player: Player, op: Given) -> dict[str, Any]:
    return {
        "revoke_round_clicks": op.get("revoke_round_clicks", False),
        "duration": bans.check_duration(op.get("duration_seconds")),
    }


def _no_values(state: GameState, player: Player, op: Given) -> dict[str, Any]:
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


Check = Callable[[GameState, Player, Given], dict[str, Any]]
Apply = Callable[[GameState, Checked, str, float], dict[str, Any]]
ACTIONS: dict[str, tuple[Check, Apply, tuple[str, ...]]] = {
    "patch": (_check_patch, _apply_patch, ("name", "planet", "status", "score", "round_score")),
    "ban": (_check_ban, _apply_ban, ("revoke_round_clicks", "duration_seconds")),
    "unban": (_no_values, _apply_unban, ()),
    "reset_score": (_no_values, _apply_reset, ()),
    "kick": (_no_values, _apply_kick, ()),
}
COMMON = ("action", "player_id", "reason")
_FIELDS = tuple(name for name in PlayerOperation.__struct_fields__ if name not in COMMON)


def check(state: GameState, op: PlayerOperation) -> Checked:
    """Validate one player operation against the state; changes nothing."""
    action = op.action
    if action not in ACTIONS:
        raise InvalidRequest(f"action must be one of {list(ACTIONS)}", {"field": "action"})
    check_values, _, fields = ACTIONS[action]
    given = {name: value for name in _FIELDS if (value := getattr(op, name)) is not UNSET}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise InvalidRequest(f"unknown parameters: {unknown}", {"fields": unknown})
    reason = audit.clean_reason(op.reason)
    player = roster.get_player(state, op.player_id)
    return Checked(action, player, reason, check_values(state, player, given))


def operation(action: str, cmd: Any) -> PlayerOperation:
    """A single action's command (``AdminBan``, ...) as the operation of a batch it equals."""
    fields = {name: getattr(cmd, name) for name in ACTIONS[action][2]}
    return PlayerOperation(action=action, player_id=cmd.player_id, reason=cmd.reason, **fields)


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
