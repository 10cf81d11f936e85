"""A small model of the rules, independent of the engine, driven beside it (SPEC §3, §4).

``Game`` holds the engine's state and the model side by side; each public method is one random
operation of ``tests/engine/test_properties.py``, applied to both, and ``check`` compares them.
It drives the engine as the actor does: a tick first whenever a round is due, then the command
stamped with the game's ``now``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import OrderedDict
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from engine import commands, players, rounds
from engine.clicks import PushResult
from engine.command_types import (
    Ban,
    Command,
    CreatePlayer,
    EndRound,
    MovePlayer,
    Push,
    ResetScore,
    Tick,
    Unban,
    stamped,
)
from engine.errors import (
    Banned,
    Conflict,
    GameError,
    InvalidRequest,
    RateLimited,
    RoundNotActive,
)
from engine.rules import Rules
from engine.state import ACTIVE, new_state
from tests.conftest import T0, fingerprint

RULES = Rules(
    max_cps=5,
    burst_seconds=2.0,
    round_target=60,
    round_seconds=40.0,
    round_break_seconds=3.0,
    batch_memory=8,
)
PLANETS = ["earth", "mars", "venus"]
EPSILON = 1e-6  # float slack in the window bound; a real excess is at least one whole click
PUSH_SLACK = 1e-6  # the engine lets a push a microsecond early pass (engine/throttle.py)

SHORT_STEPS = st.one_of(st.just(0.0), st.floats(1e-6, 0.01), st.floats(0.01, 1.5))
LONG_STEPS = st.floats(1.5, 40.0)
VALID_CLICKS = st.lists(st.integers(1, RULES.max_count), min_size=1, max_size=4)
BAD_CLICKS = st.sampled_from([[], [0], [RULES.max_count + 1], [True], [2.0], [3, -1], [1] * 33])
BATCH_IDS = st.one_of(st.sampled_from(["r0", "r1", "r2"]), st.none())  # None: a fresh id


@dataclasses.dataclass
class ModelPlayer:
    planet: str
    reached: int
    banned: bool = False
    score: int = 0
    round_id: int | None = None
    round_score: int = 0
    round_reached: int = 0
    on_round_board: bool = False
    contrib: dict[int, dict[str, int]] = dataclasses.field(default_factory=dict)
    batches: OrderedDict[str, PushResult] = dataclasses.field(default_factory=OrderedDict)
    pushes: list[tuple[float, int]] = dataclasses.field(default_factory=list)


Operation = tuple[str, dict[str, Any]]


class Game:
    """The engine and the model side by side; each public method is one random operation."""

    def __init__(self) -> None:
        self.state = new_state(RULES, PLANETS)
        self.now = T0
        self.model: dict[str, ModelPlayer] = {}
        self.counter = itertools.count(1)
        self.fresh = itertools.count()
        self.planet_players = dict.fromkeys(PLANETS, 0)
        self.all_time = dict.fromkeys(PLANETS, 0)
        self.round_id: int | None = None
        self.totals: dict[str, int] = {}
        self.finished_seen: set[int] = set()
        self.run(Tick())
        self.create(named=False)
        self.create(named=True)

    # -- driving the engine the way the actor does ----------------------------------------

    def tick_if_due(self) -> None:
        if rounds.is_due(self.state, self.now):
            commands.apply(self.state, Tick(now=self.now))
        self.sync_round()

    def run(self, cmd: Command) -> Any:
        """Tick first when a round is due, then apply ``cmd`` stamped with ``now``."""
        self.tick_if_due()
        return commands.apply(self.state, stamped(cmd, self.now))

    def refused(self, cmd: Command, error: type[GameError]) -> None:
        """Run ``cmd`` expecting ``error`` and no change at all to the state."""
        self.tick_if_due()
        before = fingerprint(self.state)
        try:
            commands.apply(self.state, stamped(cmd, self.now))
        except error:
            pass
        else:
            raise AssertionError(f"{cmd} was not refused with {error.__name__}")
        assert fingerprint(self.state) == before

    def sync_round(self) -> None:
        current = self.state.current
        if current is None:
            return
        if current.id != self.round_id:
            self.round_id = current.id
            self.totals = dict.fromkeys(current.planets, 0)
            for player in self.model.values():
                player.on_round_board = False
        if current.status != ACTIVE and current.id not in self.finished_seen:
            self.finished_seen.add(current.id)
            self.check_summary()

    def check_summary(self) -> None:
        summary = self.state.history[-1]
        assert summary.id == self.round_id
        assert summary.totals == self.totals
        expected = {}
        for pid, player in self.model.items():
            clicks = sum(player.contrib.get(summary.id, {}).values())
            if clicks:
                expected[pid] = clicks
        assert summary.player_totals == expected
        best = max(self.totals.values())
        leaders = [p for p, total in self.totals.items() if total == best]
        if summary.reason == "target":
            assert best >= RULES.round_target and summary.winner == leaders[0]
        else:
            assert best < RULES.round_target
            assert summary.winner == (leaders[0] if len(leaders) == 1 else None)

    def active(self) -> bool:
        current = self.state.current
        return current is not None and current.status == ACTIVE

    def pick(self, index: int) -> str:
        return sorted(self.model)[index % len(self.model)]

    def stamp(self) -> int:
        return next(self.counter)

    # -- rules ---------------------------------------------------------------------------

    def tick(self, step: float) -> None:
        self.now += step
        self.run(Tick())
        self.sync_round()

    def create(self, named: bool) -> None:
        if len(self.model) >= 5:
            return
        pid = f"p{len(self.model)}"
        cmd = CreatePlayer(player_id=pid, name=f" name {pid} " if named else None)
        expected_planet = min(PLANETS, key=lambda p: (self.planet_players[p], self.all_time[p], p))
        result = self.run(cmd)
        assert result["planet"] == expected_planet
        assert result["name"] == (f"name {pid}" if named else f"player-{pid}")
        self.planet_players[expected_planet] += 1
        self.model[pid] = ModelPlayer(planet=expected_planet, reached=self.stamp())

    def push(self, index: int, batch: str | None, clicks: list[Any], step: float) -> None:
        self.try_push(index, batch, clicks, step)

    def push_invalid(self, index: int, clicks: list[Any], step: float) -> None:
        self.try_push(index, None, clicks, step)

    def try_push(self, index: int, batch: str | None, clicks: list[Any], step: float) -> None:
        self.now += step
        pid = self.pick(index)
        player = self.model[pid]
        batch_id = batch if batch is not None else f"f{next(self.fresh)}"
        cmd = Push(player_id=pid, batch_id=batch_id, clicks=clicks)
        self.tick_if_due()
        current = self.state.current
        valid = 1 <= len(clicks) <= RULES.max_counts_per_push and all(
            type(c) is int and 1 <= c <= RULES.max_count for c in clicks
        )
        if not valid:
            event("push: invalid")
            self.refused(cmd, InvalidRequest)
        elif player.banned:
            event("push: banned")
            self.refused(cmd, Banned)
        elif batch_id in player.batches:
            event("push: duplicate")
            version = self.state.version
            again = self.run(cmd)
            assert again.to_dict() == {**player.batches[batch_id].to_dict(), "duplicate": True}
            assert self.state.version == version
        elif not self.active() or player.planet not in self.totals:
            event("push: round not active")
            self.refused(cmd, RoundNotActive)
        elif not self.push_allowed(player):
            event("push: rate limited")
            self.refused(cmd, RateLimited)
        else:
            assert current is not None
            event("push: applied")
            result = self.run(cmd)
            self.applied(pid, player, result, clicks, current.id)

    def applied(
        self, pid: str, player: ModelPlayer, result: PushResult, clicks: list[int], round_id: int
    ) -> None:
        accepted = result.accepted
        assert accepted >= 0 and accepted + result.throttled == sum(clicks)
        assert not result.duplicate
        player.pushes.append((self.now, accepted))
        self.check_window(player)
        if accepted:
            if player.round_id != round_id:
                player.round_id, player.round_score = round_id, 0
            player.score += accepted
            player.round_score += accepted
            player.reached = player.round_reached = self.stamp()
            player.on_round_board = True
            by_planet = player.contrib.setdefault(round_id, {})
            by_planet[player.planet] = by_planet.get(player.planet, 0) + accepted
            self.totals[player.planet] += accepted
            self.all_time[player.planet] += accepted
        assert result.score == player.score
        assert result.round_score == (player.round_score if player.round_id == round_id else 0)
        assert result.planet_total == self.totals[player.planet]
        all_order, round_order = self.expected_all(), self.expected_round()
        assert result.rank == (all_order.index(pid) + 1 if pid in all_order else None)
        assert result.round_rank == (round_order.index(pid) + 1 if pid in round_order else None)
        player.batches[result.batch_id] = result
        if len(player.batches) > RULES.batch_memory:
            player.batches.popitem(last=False)
        self.sync_round()
        if self.totals[player.planet] >= RULES.round_target:
            assert not self.active()

    def push_allowed(self, player: ModelPlayer) -> bool:
        """A push fits when no window ending now would hold more than 3 + elapsed / 0.5 pushes.

        SPEC §4's bucket of 3 pushes refilled one per CLICK_PUSH_RATE * 0.5, stated over windows
        of the applied pushes instead of the engine's one stored time.
        """
        interval = RULES.click_push_rate * 0.5
        count = 1  # the push being made
        for at, _ in reversed(player.pushes):
            count += 1
            if (count - 3) * interval - (self.now - at) > PUSH_SLACK:
                return False
        return True

    def check_window(self, player: ModelPlayer) -> None:
        """Accepted clicks in every window ending now stay within burst + max_cps * elapsed."""
        end, total = player.pushes[-1][0], 0
        for at, accepted in reversed(player.pushes):
            total += accepted
            assert total <= RULES.burst + RULES.max_cps * (end - at) + EPSILON

    def move(self, index: int, planet: str) -> None:
        pid = self.pick(index)
        if planet == "pluto":
            self.refused(MovePlayer(player_id=pid, planet=planet), InvalidRequest)
            return
        self.run(MovePlayer(player_id=pid, planet=planet))
        player = self.model[pid]
        self.planet_players[player.planet] -= 1
        self.planet_players[planet] += 1
        player.planet = planet

    def ban(self, index: int, revoke: bool) -> None:
        pid = self.pick(index)
        player = self.model[pid]
        result = self.run(Ban(player_id=pid, revoke_round_clicks=revoke))
        player.banned = True
        expected = 0
        if revoke and self.active() and self.round_id is not None:
            taken = player.contrib.pop(self.round_id, {})
            expected = sum(taken.values())
            for planet, clicks in taken.items():
                self.totals[planet] -= clicks
                self.all_time[planet] -= clicks
            if expected:
                live = player.round_score if player.round_id == self.round_id else 0
                player.score -= live  # clicks since the last reset; older ones are gone already
                player.round_score = 0
                player.on_round_board = False
                player.reached = self.stamp()
        event(f"ban: revoke={revoke} revoked>0={expected > 0}")
        assert result["revoked"] == expected
        assert result["player"]["score"] == player.score

    def unban(self, index: int) -> None:
        pid = self.pick(index)
        assert self.run(Unban(player_id=pid))["status"] == "active"
        self.model[pid].banned = False

    def reset_score(self, index: int) -> None:
        pid = self.pick(index)
        self.run(ResetScore(player_id=pid))
        player = self.model[pid]
        player.score = player.round_score = 0
        player.on_round_board = False
        player.reached = self.stamp()

    def end_round(self, step: float) -> None:
        self.now += step
        self.tick_if_due()
        if not self.active():
            self.refused(EndRound(), Conflict)
            return
        summary = self.run(EndRound())
        assert summary["reason"] == "admin" and summary["finished_at"] == self.now
        self.sync_round()

    # -- invariants ----------------------------------------------------------------------

    def check(self) -> None:
        self.totals_equal_contributions_and_the_model()
        self.nothing_is_negative_and_scores_match()
        self.leaderboards_match_a_brute_force_sort()

    def expected_all(self) -> list[str]:
        scored = [p for p, m in self.model.items() if m.score > 0]  # no clicks, no rank
        return sorted(scored, key=lambda p: (-self.model[p].score, self.model[p].reached))

    def expected_round(self) -> list[str]:
        members = [p for p, m in self.model.items() if m.on_round_board]
        return sorted(
            members, key=lambda p: (-self.model[p].round_score, self.model[p].round_reached)
        )

    def totals_equal_contributions_and_the_model(self) -> None:
        current = self.state.current
        if current is None or current.status != ACTIVE:
            return
        assert current.totals == self.totals
        for planet, by_player in current.contributions.items():
            assert current.totals[planet] == sum(sum(b) for b in by_player.values())
            for pid, batches in by_player.items():
                assert batches and all(count > 0 for count in batches)
                assert sum(batches) == self.model[pid].contrib[current.id][planet]

    def nothing_is_negative_and_scores_match(self) -> None:
        state = self.state
        round_id = state.current.id if state.current is not None else None
        for pid, player in state.players.items():
            model = self.model[pid]
            assert player.score == model.score >= 0
            assert player.round_score >= 0
            expected_round = model.round_score if model.round_id == round_id else 0
            assert players.round_score(player, round_id) == expected_round
            assert player.planet == model.planet
            assert player.status == ("banned" if model.banned else "active")
        for name, planet in state.planets.items():
            assert planet.all_time == self.all_time[name] >= 0
            assert planet.players == self.planet_players[name]
        if state.current is not None:
            assert all(total >= 0 for total in state.current.totals.values())

    def leaderboards_match_a_brute_force_sort(self) -> None:
        state = self.state
        for board, expected in (
            (state.all_board, self.expected_all()),
            (state.round_board, self.expected_round()),
        ):
            assert [pid for pid, _, _ in board] == expected
            assert len(board) == len(expected)
            for rank, pid in enumerate(expected, start=1):
                assert board.rank(state.players[pid].slot) == rank
            top = board.top(3)
            assert [(r, p) for r, p, _ in top] == list(enumerate(expected[:3], start=1))
            if expected:
                middle = expected[len(expected) // 2]
                position = expected.index(middle)
                start = max(0, position - 1)
                around = [p for _, p, _ in board.around(state.players[middle].slot, 1)]
                assert around == expected[start : position + 2]
        for pid, score, _ in state.all_board:
            assert score == self.model[pid].score
        for pid, score, _ in state.round_board:
            assert score == self.model[pid].round_score
