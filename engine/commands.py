"""Every change to the game as a plain command dict, and one table that applies them.

A command is ``{"op": name, "now": seconds, ...}``. The actor applies commands from its mailbox
with ``apply`` and the journal stores the very same dicts, so replaying a journal after a crash
runs the same code with the same ``now`` and rebuilds the same state. Handlers return plain
values (dicts, frozen results), never a mutable object of the state.
Queries read the state without changing it; they go through the actor too, because only its task
may look at mutable state, but they are never journaled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import admin, clicks, roster, rounds
from engine.errors import InvalidRequest
from engine.state import GameState
from engine.view import entries_view, player_dict

Command = dict[str, Any]
Handler = Callable[[GameState, Command], Any]


def _tick(state: GameState, cmd: Command) -> None:
    rounds.advance(state, cmd["now"])


def _create_player(state: GameState, cmd: Command) -> dict[str, Any]:
    player = roster.create_player(state, cmd["player_id"], cmd.get("name"), cmd["now"])
    return player_dict(state, player)


def _rename(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.rename(state, cmd["player_id"], cmd["name"]))


def _push(state: GameState, cmd: Command) -> clicks.PushResult:
    return clicks.push(state, cmd["player_id"], cmd["batch_id"], cmd["clicks"], cmd["now"])


def _move_player(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.move_player(state, cmd["player_id"], cmd["planet"]))


def _set_status(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.set_status(state, cmd["player_id"], cmd["status"]))


def _ban(state: GameState, cmd: Command) -> dict[str, Any]:
    revoked = roster.ban(state, cmd["player_id"], bool(cmd.get("revoke_round_clicks")))
    return {"player": player_dict(state, state.players[cmd["player_id"]]), "revoked": revoked}


def _unban(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.unban(state, cmd["player_id"]))


def _reset_score(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.reset_score(state, cmd["player_id"]))


def _queue_round(state: GameState, cmd: Command) -> dict[str, Any]:
    round_ = rounds.queue_round(state, cmd.get("target"), cmd.get("seconds"), cmd.get("planets"))
    return {
        "id": round_.id,
        "target": round_.target,
        "seconds": round_.seconds,
        "planets": round_.planets,
    }


def _end_round(state: GameState, cmd: Command) -> dict[str, Any]:
    return rounds.summary_info(rounds.end_current(state, cmd["now"]))


MUTATIONS: dict[str, Handler] = {
    "tick": _tick,
    "create_player": _create_player,
    "rename": _rename,
    "push": _push,
    "move_player": _move_player,
    "set_status": _set_status,
    "ban": _ban,
    "unban": _unban,
    "reset_score": _reset_score,
    "queue_round": _queue_round,
    "end_round": _end_round,
    **admin.MUTATIONS,  # each with its audit entry: engine/admin.py
}


def _me(state: GameState, cmd: Command) -> dict[str, Any]:
    return player_dict(state, roster.get_player(state, cmd["player_id"]))


def _leaderboard(state: GameState, cmd: Command) -> dict[str, Any]:
    board = state.round_board if cmd.get("scope", "round") == "round" else state.all_board
    limit = cmd.get("limit", 10)
    around = cmd.get("around")
    if around is not None:
        entries = board.around(roster.get_player(state, around).slot, limit)
    else:
        entries = board.top(limit)
    return {
        "scope": cmd.get("scope", "round"),
        "entries": entries_view(state, entries),
        "total": len(board),
    }


def _rounds(state: GameState, cmd: Command) -> list[dict[str, Any]]:
    limit = cmd.get("limit", 50)
    return [rounds.summary_info(s) for s in reversed(state.history[-limit:])]


QUERIES: dict[str, Handler] = {
    "me": _me,
    "leaderboard": _leaderboard,
    "rounds": _rounds,
    **admin.QUERIES,
}


def apply(state: GameState, cmd: Command) -> Any:
    """Apply one mutation; raises a GameError (state unchanged) when it is refused."""
    handler = MUTATIONS.get(cmd.get("op", ""))
    if handler is None:
        raise InvalidRequest(f"unknown command {cmd.get('op')!r}")
    return handler(state, cmd)


def query(state: GameState, cmd: Command) -> Any:
    handler = QUERIES.get(cmd.get("op", ""))
    if handler is None:
        raise InvalidRequest(f"unknown query {cmd.get('op')!r}")
    return handler(state, cmd)
