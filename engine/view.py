"""Read-only views of the state: the published board and the player object (SPEC §5, §6).

The board is built by the actor after a turn and never changes afterwards: every field is a
tuple, a frozen dataclass or a number, so handlers and the broadcaster may share one freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine import rounds
from engine.leaderboard import Entry
from engine.players import Player, round_score
from engine.state import ACTIVE, GameState


@dataclass(frozen=True, slots=True)
class PlanetView:
    name: str
    total: int
    players: int
    all_time: int


@dataclass(frozen=True, slots=True)
class LeaderEntry:
    rank: int
    id: str
    name: str
    planet: str
    score: int


@dataclass(frozen=True, slots=True)
class RoundView:
    id: int | None
    status: str
    planets: tuple[str, ...]
    target: int | None
    started_at: float | None
    ends_at: float | None
    finished_at: float | None
    winner: str | None
    reason: str | None
    next_round_at: float | None


@dataclass(frozen=True, slots=True)
class Board:
    version: int
    state_version: int
    round: RoundView
    planets: tuple[PlanetView, ...]
    top_round: tuple[LeaderEntry, ...]
    top_all: tuple[LeaderEntry, ...]
    online: int
    players_total: int
    paused: bool = False  # an admin's emergency stop (SPEC §8): pushes get 409 ``paused``
    pause_reason: str | None = None


def build_board(state: GameState, version: int, online: int) -> Board:
    info = rounds.round_info(state)
    current = state.current
    totals = current.totals if current is not None else {}
    return Board(
        version=version,
        state_version=state.version,
        round=RoundView(
            id=info["id"],
            status=info["status"],
            planets=tuple(info.get("planets", ())),
            target=info.get("target"),
            started_at=info.get("started_at"),
            ends_at=info.get("ends_at"),
            finished_at=info.get("finished_at"),
            winner=info.get("winner"),
            reason=info.get("reason"),
            next_round_at=info.get("next_round_at"),
        ),
        planets=tuple(
            PlanetView(p.name, totals.get(p.name, 0), p.players, p.all_time)
            for p in state.planets.values()
        ),
        top_round=_entries(state, state.round_board.top(state.rules.top_n)),
        top_all=_entries(state, state.all_board.top(state.rules.top_n)),
        online=online,
        players_total=len(state.players),
        paused=state.paused,
        pause_reason=state.pause_reason,
    )


def _entries(state: GameState, entries: list[Entry]) -> tuple[LeaderEntry, ...]:
    players = state.players
    return tuple(
        LeaderEntry(rank, pid, players[pid].name, players[pid].planet, score)
        for rank, pid, score in entries
    )


def entries_view(state: GameState, entries: list[Entry]) -> list[dict[str, Any]]:
    return [entry_dict(e) for e in _entries(state, entries)]


def entry_dict(entry: LeaderEntry) -> dict[str, Any]:
    return {
        "rank": entry.rank,
        "id": entry.id,
        "name": entry.name,
        "planet": entry.planet,
        "score": entry.score,
    }


def board_dict(board: Board) -> dict[str, Any]:
    """The ``board`` message's data (SPEC §6): planets, leaderboard, online, round."""
    r = board.round
    return {
        "round": {
            "id": r.id,
            "status": r.status,
            "planets": list(r.planets),
            "target": r.target,
            "started_at": r.started_at,
            "ends_at": r.ends_at,
            "finished_at": r.finished_at,
            "winner": r.winner,
            "reason": r.reason,
            "next_round_at": r.next_round_at,
        },
        "planets": [
            {"name": p.name, "total": p.total, "players": p.players, "all_time": p.all_time}
            for p in board.planets
        ],
        "leaderboard": {
            "round": [entry_dict(e) for e in board.top_round],
            "all": [entry_dict(e) for e in board.top_all],
        },
        "online": board.online,
        "players_total": board.players_total,
        "paused": board.paused,
        "pause_reason": board.pause_reason,
    }


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def player_dict(state: GameState, player: Player) -> dict[str, Any]:
    """The SPEC §5 player object, with both ranks."""
    current = state.current
    round_id = current.id if current is not None else None
    rs = round_score(player, round_id)
    return {
        "id": player.id,
        "name": player.name,
        "planet": player.planet,
        "score": player.score,
        "round_score": rs,
        "rank": state.all_board.rank(player.slot),
        "round_rank": state.round_board.rank(player.slot) if rs else None,
        "status": player.status,
        "created_at": iso(player.created_at),
        "last_click_at": iso(player.last_click_at),
    }


def is_round_active(state: GameState) -> bool:
    return state.current is not None and state.current.status == ACTIVE
