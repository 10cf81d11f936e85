"""The whole mutable game state, owned by the actor and nothing else (SPEC §2)."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, TypedDict

from engine.admin.player_index import PlayerIndex
from engine.admin.records import BulkJob, Intervention, PushStats
from engine.leaderboard import Leaderboard, PlayerSlots
from engine.planets import Planet, make_planets
from engine.players import BanRecord, NameChange, Player
from engine.rules import Rules

QUEUED, ACTIVE, FINISHED = "queued", "active", "finished"


@dataclass(slots=True)
class Round:
    id: int
    planets: list[str]
    target: int
    seconds: float
    status: str = QUEUED
    started_at: float | None = None
    ends_at: float | None = None
    finished_at: float | None = None
    winner: str | None = None
    reason: str | None = None  # "target", "time" or "admin" once finished
    totals: dict[str, int] = field(default_factory=dict)
    # The seed's shape: {planet: {player_id: [accepted batch counts, in order]}}
    contributions: dict[str, dict[str, list[int]]] = field(default_factory=dict)


class Contributor(TypedDict):
    """One of a finished round's top contributors; name and planet are null for a lost player."""

    rank: int
    id: str
    name: str | None
    planet: str | None
    score: int


@dataclass(slots=True)
class RoundSummary:
    """What a finished round keeps once its contributions are dropped (SPEC §3)."""

    id: int
    planets: list[str]
    target: int
    started_at: float
    finished_at: float
    winner: str | None  # None is a draw
    reason: str
    totals: dict[str, int]
    top: list[Contributor]
    player_totals: dict[str, int]


@dataclass(slots=True)
class GameState:
    rules: Rules
    planets: dict[str, Planet]
    players: dict[str, Player] = field(default_factory=dict)
    slots: PlayerSlots = field(default_factory=PlayerSlots)  # shared by both boards
    all_board: Leaderboard = field(init=False)
    round_board: Leaderboard = field(init=False)
    current: Round | None = None
    queue: deque[Round] = field(default_factory=deque)
    history: list[RoundSummary] = field(default_factory=list)
    next_round_id: int = 1
    next_round_at: float | None = 0.0  # set during a break; the first tick starts round 1
    seq: int = 0  # bumped on every score change: the leaderboards' tie-break
    version: int = 0  # bumped on every change: snapshots and journal key on it
    audit: list[dict[str, Any]] = field(
        default_factory=list
    )  # engine/admin/audit.py; id = place + 1
    outbox: list[dict[str, Any]] = field(default_factory=list)  # events for the actor to route
    # Admin (SPEC §8): the emergency stop, flagged players, bulk jobs; see engine/admin/commands.py.
    paused: bool = False
    pause_reason: str | None = None
    paused_at: float | None = None
    interventions: dict[int, Intervention] = field(default_factory=dict)
    push_stats: OrderedDict[str, PushStats] = field(default_factory=OrderedDict)  # pushers only
    bulk_jobs: dict[int, BulkJob] = field(default_factory=dict)
    next_intervention_id: int = 1
    next_job_id: int = 1
    bans: dict[str, BanRecord] = field(default_factory=dict)  # banned players: engine/admin/bans.py
    names: dict[str, list[NameChange]] = field(default_factory=dict)  # renamed players' names
    index: PlayerIndex = field(init=False)  # derived from the players: rebuilt, never saved
    # (until, player id) of every timed ban, a heap: the tick looks only at its first entry.
    # Derived from ``bans``; an entry whose ban was lifted or changed is skipped when it comes up.
    ban_expiries: list[tuple[float, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.ban_expiries = sorted((b.until, pid) for pid, b in self.bans.items() if b.until)
        self.all_board = Leaderboard(self.slots)
        self.round_board = Leaderboard(self.slots)
        open_cases = (i.player_id for i in self.interventions.values() if i.status != "resolved")
        self.index = PlayerIndex.build(self.players.values(), list(self.planets), open_cases)


def new_state(rules: Rules, planet_names: list[str]) -> GameState:
    return GameState(rules=rules, planets=make_planets(planet_names))


def active_round(state: GameState) -> Round | None:
    """The round being played, or None before the first round, in a break, or once finished.

    The one test of "is a round active" (SPEC §3): pushes, revokes, the tick and the ranks ask it.
    """
    current = state.current
    return current if current is not None and current.status == ACTIVE else None


def current_round_id(state: GameState) -> int | None:
    """The id of the round a ``round_score`` belongs to now: the current one, active or not."""
    return state.current.id if state.current is not None else None
