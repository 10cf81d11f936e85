"""The bot detectors' fast path (SPEC §8): an obvious bot flagged within seconds, beside the
two-minute windows, and a fast but irregular player left to the windows."""

from __future__ import annotations

import math
import random

from engine.admin import fast_path
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, add_player, apply_command, push

MAX_CPS = Rules().max_cps


def long_game() -> GameState:
    game = new_state(Rules(round_seconds=3600.0, round_target=10**9), ["earth", "mars"])
    apply_command(game, {"op": "tick", "now": T0})
    return game


def flagged_at(game: GameState, pid: str, pushes: list[tuple[float, int]]) -> float | None:
    """Push each (time, clicks offered) in turn; the time of the push that opened a case."""
    for i, (at, count) in enumerate(pushes):
        push(game, pid, f"b{i}", [count], at)
        if game.interventions:
            return at
    return None


def test_a_bot_at_twice_the_click_limit_with_regular_timing_is_flagged_within_15_s() -> None:
    """Twice MAX_CPS a second, pushed every second with a jitter of 1 %: a machine_rhythm case
    marked fast opens within 15 s, with the figures that tripped it."""
    game = long_game()
    add_player(game, "bot")
    at, pushes = T0, []
    for i in range(60):
        pushes.append((at, 2 * MAX_CPS))
        at += 1.0 + 0.01 * math.sin(i)
    when = flagged_at(game, "bot", pushes)
    assert when is not None and when - T0 <= 15
    (case,) = game.interventions.values()
    assert (case.kind, case.player_id, case.evidence["fast"]) == ("machine_rhythm", "bot", True)
    assert case.evidence["clicks_per_second"] > fast_path.FAST_RATE * MAX_CPS
    assert case.evidence["cv_count"] <= fast_path.CV_COUNT


def test_a_human_like_player_at_the_same_average_is_not_flagged_by_the_fast_path() -> None:
    """Twice MAX_CPS on average, but counts and the page's intervals varying as a person's do:
    no case in the 110 s before the first two-minute window closes."""
    game = long_game()
    add_player(game, "human")
    rng = random.Random(11)
    at, pushes = T0, []
    while at < T0 + 110:
        interval = rng.uniform(0.8, 1.2)
        pushes.append((at, max(1, round(2 * MAX_CPS * interval * rng.uniform(0.5, 1.5)))))
        at += interval
    assert sum(count for _, count in pushes) / (pushes[-1][0] - T0) > 1.8 * MAX_CPS
    assert flagged_at(game, "human", pushes) is None


def test_a_regular_player_at_a_human_pace_is_left_to_the_windows() -> None:
    """The same count every second at MAX_CPS is regular but not fast: the fast path opens
    nothing in the first 110 s."""
    game = long_game()
    add_player(game, "steady")
    pushes = [(T0 + i, MAX_CPS) for i in range(110)]
    assert flagged_at(game, "steady", pushes) is None


def test_a_bot_turning_fast_in_a_later_window_is_flagged_once() -> None:
    """A bot that starts slow with varying counts, then turns fast after its first window
    closed, is flagged within 15 s of turning fast, and only one case is opened for it."""
    game = long_game()
    add_player(game, "bot")
    slow = [(T0 + i, 5 + i % 7) for i in range(125)]
    fast = [(T0 + 125 + i, 3 * MAX_CPS) for i in range(60)]
    assert flagged_at(game, "bot", slow) is None
    when = flagged_at(game, "bot", fast)
    assert when is not None and when - (T0 + 125) <= 15
    for i in range(30):
        push(game, "bot", f"late{i}", [3 * MAX_CPS], T0 + 185 + i)
    assert len(game.interventions) == 1
