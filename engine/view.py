"""Read-only views of the state: the published board and the player object (SPEC §5, §6).

The board is built by the actor after a turn and never changes afterwards: every field is a
tuple, a frozen dataclass or a number, so handlers and the broadcaster may share one freely.

These types are also the wire shapes: ``server/models.py`` builds its messages from them, the
encoders write them directly and the OpenAPI document is generated from them, so a field is
named in one place. They stay plain dataclasses and TypedDicts: the engine needs no wire library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypedDict

from engine.leaderboard import Entry
from engine.players import BANNED, Player, round_score
from engine.state import QUEUED, Contributor, GameState


@dataclass(frozen=True, slots=True)
class PlanetView:
    """A planet on the board: this round's total, its players and its all-time total."""

    name: str
    total: int
    players: int
    all_time: int


@dataclass(frozen=True, slots=True)
class LeaderEntry:
    """One leaderboard row; rank 1 is best, ties go to who reached the score first.

    ``key`` is the player's board key (``Player.slot``, fixed at creation): boards sent as changes
    name a row by it, so a moved score costs ``[key, score]``, not the id and name again.
    """

    rank: int
    id: str
    name: str
    planet: str
    score: int
    key: int


@dataclass(frozen=True, slots=True)
class RoundView:
    """The round as the board and the ``round`` started event show it; times are Unix seconds.

    Before the first round only ``status`` (queued) and ``next_round_at`` say anything.
    """

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
class Leaderboards:
    """The top of both leaderboards."""

    round: tuple[LeaderEntry, ...]
    all: tuple[LeaderEntry, ...]


@dataclass(frozen=True, slots=True)
class BoardData:
    """The ``board`` message's data (SPEC §6), also the heart of ``/api/snapshot``."""

    round: RoundView
    planets: tuple[PlanetView, ...]
    leaderboard: Leaderboards
    online: int
    players_total: int
    paused: bool  # an admin's emergency stop (SPEC §8): pushes get 409 ``paused``
    pause_reason: str | None
    # When the pause began (Unix seconds): the round's clock stands at ``ends_at - paused_at``
    # (or ``next_round_at - paused_at`` in a break) until the resume moves both by the pause.
    paused_at: float | None


@dataclass(frozen=True, slots=True)
class Board(BoardData):
    """One published state: what clients see, the board's version and the state version it shows.

    A ``BoardData`` plus the versions, so the wire data is the board's own fields, not a copy.
    """

    version: int = 0
    state_version: int = 0

    @property
    def top_round(self) -> tuple[LeaderEntry, ...]:
        return self.leaderboard.round

    @property
    def top_all(self) -> tuple[LeaderEntry, ...]:
        return self.leaderboard.all


BOARD_FIELDS = tuple(f.name for f in fields(BoardData))


class PlayerObject(TypedDict):
    """The SPEC §5 player object; times are ISO 8601 UTC."""

    id: str
    name: str
    planet: str
    score: int
    round_score: int
    rank: int | None  # all-time rank, 1 is best
    round_rank: int | None  # null until the player's first click of the round
    status: str
    created_at: str | None
    last_click_at: str | None
    key: int  # the player's board key: the live board names the player's rows by it (SPEC §6)
    banned_until: float | None  # Unix seconds a timed ban ends; null when not banned or for good
    ban_reason: str | None  # what the admin gave as the ban's reason, told to the player (SPEC §8)


class RoundSummaryInfo(TypedDict):
    """A finished round as ``/api/rounds`` and the ``round`` finished event show it."""

    id: int
    planets: list[str]
    target: int
    started_at: float
    finished_at: float
    duration: float
    winner: str | None  # null for a draw
    draw: bool
    reason: str  # target, time or admin
    totals: dict[str, int]
    top: list[Contributor]


def round_view(state: GameState) -> RoundView:
    current = state.current
    if current is None:
        return RoundView(None, QUEUED, (), None, None, None, None, None, None, state.next_round_at)
    return RoundView(
        id=current.id,
        status=current.status,
        planets=tuple(current.planets),
        target=current.target,
        started_at=current.started_at,
        ends_at=current.ends_at,
        finished_at=current.finished_at,
        winner=current.winner,
        reason=current.reason,
        next_round_at=state.next_round_at,
    )


def build_board(state: GameState, version: int, online: int) -> Board:
    current = state.current
    totals = current.totals if current is not None else {}
    return Board(
        round=round_view(state),
        planets=tuple(
            PlanetView(p.name, totals.get(p.name, 0), p.players, p.all_time)
            for p in state.planets.values()
        ),
        leaderboard=Leaderboards(
            round=_entries(state, state.round_board.top(state.rules.top_n)),
            all=_entries(state, state.all_board.top(state.rules.top_n)),
        ),
        online=online,
        players_total=len(state.players),
        version=version,
        state_version=state.version,
        paused=state.paused,
        pause_reason=state.pause_reason,
        paused_at=state.paused_at,
    )


def _entries(state: GameState, entries: list[Entry]) -> tuple[LeaderEntry, ...]:
    players = state.players
    rows = []
    for rank, pid, score in entries:
        player = players[pid]
        rows.append(LeaderEntry(rank, pid, player.name, player.planet, score, player.slot))
    return tuple(rows)


def entries_view(state: GameState, entries: list[Entry]) -> list[dict[str, Any]]:
    return [asdict(e) for e in _entries(state, entries)]


def board_data(board: Board) -> BoardData:
    """The ``board`` message's data (SPEC §6): the board without its versions."""
    return BoardData(*(getattr(board, name) for name in BOARD_FIELDS))


def board_dict(board: Board) -> dict[str, Any]:
    """``board_data`` as plain values, for callers that edit it."""
    return asdict(board_data(board))


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def player_dict(state: GameState, player: Player) -> PlayerObject:
    """The SPEC §5 player object, with both ranks."""
    current = state.current
    round_id = current.id if current is not None else None
    rs = round_score(player, round_id)
    ban = state.bans.get(player.id) if player.status == BANNED else None
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
        "key": player.slot,
        "banned_until": None if ban is None else ban.until,
        "ban_reason": None if ban is None else ban.reason,
    }
