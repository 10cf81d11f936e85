"""Every change to the game as a typed command, and one table that applies them.

Commands are declared once, in ``engine/command_types.py`` (msgspec structs tagged by ``op``,
each with its ``now``). The actor applies commands from its mailbox with ``apply`` and the
journal stores the very same commands, so replaying a journal after a crash runs the same code
with the same ``now`` and rebuilds the same state. Handlers return plain values (dicts, frozen
results), never a mutable object of the state.
Queries read the state without changing it; they go through the actor too, because only its task
may look at mutable state, but they are never journaled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import clicks, roster, rounds
from engine import command_types as c
from engine.admin import bans
from engine.admin import commands as admin
from engine.errors import InvalidRequest
from engine.state import GameState
from engine.view import PlayerObject, RoundSummaryInfo, entries_view, player_dict

Handler = Callable[[GameState, Any], Any]


def _tick(state: GameState, cmd: c.Tick) -> None:
    rounds.advance(state, cmd.now)
    bans.lift_expired(state, cmd.now)


def is_due(state: GameState, now: float) -> bool:
    """Whether a tick at ``now`` would change anything: a round's time, a timed ban's end."""
    return rounds.is_due(state, now) or bans.is_due(state, now)


def _create_player(state: GameState, cmd: c.CreatePlayer) -> PlayerObject:
    player = roster.create_player(state, cmd.player_id, cmd.name, cmd.now)
    return player_dict(state, player)


def _rename(state: GameState, cmd: c.Rename) -> PlayerObject:
    return player_dict(state, roster.rename(state, cmd.player_id, cmd.name, cmd.now))


def _push(state: GameState, cmd: c.Push) -> clicks.PushResult:
    clicks.validate_push(cmd.batch_id, cmd.clicks, state.rules)  # from disk, a test, a tool
    return clicks.push(state, cmd.player_id, cmd.batch_id, cmd.clicks, cmd.now)


def _checked_push(state: GameState, cmd: c.CheckedPush) -> clicks.PushResult:
    return clicks.push(state, cmd.player_id, cmd.batch_id, cmd.clicks, cmd.now)


def _move_player(state: GameState, cmd: c.MovePlayer) -> PlayerObject:
    return player_dict(state, roster.move_player(state, cmd.player_id, cmd.planet))


def _set_status(state: GameState, cmd: c.SetStatus) -> PlayerObject:
    return player_dict(state, roster.set_status(state, cmd.player_id, cmd.status))


def _ban(state: GameState, cmd: c.Ban) -> dict[str, Any]:
    revoked = roster.ban(state, cmd.player_id, bool(cmd.revoke_round_clicks), now=cmd.now)
    return {"player": player_dict(state, state.players[cmd.player_id]), "revoked": revoked}


def _unban(state: GameState, cmd: c.Unban) -> PlayerObject:
    return player_dict(state, roster.unban(state, cmd.player_id))


def _reset_score(state: GameState, cmd: c.ResetScore) -> PlayerObject:
    return player_dict(state, roster.reset_score(state, cmd.player_id))


def _queue_round(state: GameState, cmd: c.QueueRound) -> dict[str, Any]:
    return rounds.queued_info(rounds.queue_round(state, cmd.target, cmd.seconds, cmd.planets))


def _end_round(state: GameState, cmd: c.EndRound) -> RoundSummaryInfo:
    return rounds.summary_info(rounds.end_current(state, cmd.now))


MUTATIONS: dict[type[c.Command], Handler] = {
    c.Tick: _tick,
    c.CreatePlayer: _create_player,
    c.Rename: _rename,
    c.Push: _push,
    c.CheckedPush: _checked_push,
    c.MovePlayer: _move_player,
    c.SetStatus: _set_status,
    c.Ban: _ban,
    c.Unban: _unban,
    c.ResetScore: _reset_score,
    c.QueueRound: _queue_round,
    c.EndRound: _end_round,
    **admin.MUTATIONS,  # each with its audit entry: engine/admin/commands.py
}


def _me(state: GameState, cmd: c.GetMe) -> PlayerObject:
    return player_dict(state, roster.get_player(state, cmd.player_id))


def _leaderboard(state: GameState, cmd: c.GetLeaderboard) -> dict[str, Any]:
    board = state.round_board if cmd.scope == "round" else state.all_board
    if cmd.around is not None:
        entries = board.around(roster.get_player(state, cmd.around).slot, cmd.limit)
    else:
        entries = board.top(cmd.limit)
    return {"scope": cmd.scope, "entries": entries_view(state, entries), "total": len(board)}


def _rounds(state: GameState, cmd: c.GetRounds) -> list[RoundSummaryInfo]:
    return [rounds.summary_info(s) for s in reversed(state.history[-cmd.limit :])]


QUERIES: dict[type[c.Command], Handler] = {
    c.GetMe: _me,
    c.GetLeaderboard: _leaderboard,
    c.GetRounds: _rounds,
    **admin.QUERIES,
}


def apply(state: GameState, cmd: c.Command) -> Any:
    """Apply one mutation; raises a GameError (state unchanged) when it is refused."""
    handler = MUTATIONS.get(type(cmd))
    if handler is None:
        raise InvalidRequest(f"unknown command {cmd!r}")
    return handler(state, cmd)


def query(state: GameState, cmd: c.Command) -> Any:
    handler = QUERIES.get(type(cmd))
    if handler is None:
        raise InvalidRequest(f"unknown query {cmd!r}")
    return handler(state, cmd)
