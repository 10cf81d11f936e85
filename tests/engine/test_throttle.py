"""The token bucket and the push-frequency limit (SPEC §4), driven by explicit times."""

from __future__ import annotations

import pytest

from engine.errors import RateLimited
from engine.rules import Rules
from engine.state import GameState
from tests.conftest import T0, StateFactory, add_player, fingerprint, push


def test_burst_is_max_cps_times_burst_seconds() -> None:
    """The bucket's capacity is MAX_CPS * BURST_SECONDS (200 with the defaults)."""
    assert Rules().burst == 200
    assert Rules(max_cps=7, burst_seconds=3.0).burst == 21


def test_a_new_player_starts_with_a_full_bucket(state: GameState) -> None:
    """A first push of a full burst is accepted whole and one click more is throttled."""
    add_player(state, "a")
    result = push(state, "a", "b1", [200, 1], T0)
    assert (result.accepted, result.throttled) == (200, 1)


def test_throttling_counts_a_violation_and_clean_pushes_do_not(state: GameState) -> None:
    """A push with throttled clicks grows the violation counter by one; a clean push does not."""
    add_player(state, "a")
    push(state, "a", "b1", [150], T0)
    assert state.players["a"].violations == 0
    push(state, "a", "b2", [100], T0 + 1)
    assert state.players["a"].violations == 1


def test_the_bucket_refills_at_max_cps_after_idle(state: GameState) -> None:
    """After draining the bucket, 3 idle seconds give exactly 60 more clicks."""
    add_player(state, "a")
    push(state, "a", "drain", [200], T0)
    result = push(state, "a", "later", [100], T0 + 3)
    assert (result.accepted, result.throttled) == (60, 40)


def test_the_bucket_never_holds_more_than_the_burst(state: GameState) -> None:
    """After an hour idle a push of two full counts gets exactly one burst through."""
    add_player(state, "a")
    push(state, "a", "drain", [200], T0)
    result = push(state, "a", "late", [200, 200], T0 + 3600)
    assert (result.accepted, result.throttled) == (200, 200)


def test_long_run_rate_stays_max_cps(state: GameState) -> None:
    """Pushing the largest count every half second for 60 s yields burst + 20/s * 60 s."""
    add_player(state, "a")
    accepted = 0
    for step in range(121):
        accepted += push(state, "a", f"b{step}", [200], T0 + step * 0.5).accepted
    assert accepted == state.rules.burst + state.rules.max_cps * 60


def test_a_larger_burst_does_not_raise_the_long_run_rate(make_state: StateFactory) -> None:
    """With a 100 s burst, once the saved clicks are spent each half second yields 10 clicks."""
    game = make_state(burst_seconds=100.0, round_target=10**9)
    add_player(game, "a")
    accepted = [push(game, "a", f"b{i}", [200], T0 + i * 0.5).accepted for i in range(121)]
    assert sum(accepted) == 2000 + 20 * 60
    assert accepted[60:] == [10] * 61


def test_counts_are_clipped_in_order_and_recorded_as_batches(state: GameState) -> None:
    """With 10 tokens left, counts [4, 8, 3] are granted [4, 6, 0] and recorded as [4, 6]."""
    add_player(state, "a")
    push(state, "a", "drain", [200], T0)
    result = push(state, "a", "clip", [4, 8, 3], T0 + 0.5)
    assert (result.accepted, result.throttled) == (10, 5)
    assert state.current is not None
    assert state.current.contributions["earth"]["a"] == [200, 4, 6]


def test_a_fully_throttled_push_changes_no_score(make_state: StateFactory) -> None:
    """A push with less than one token left accepts nothing and leaves score and totals alone."""
    game = make_state(max_cps=1, burst_seconds=1.0)
    add_player(game, "a")
    push(game, "a", "b1", [10], T0)
    result = push(game, "a", "b2", [3], T0 + 0.5)
    assert (result.accepted, result.throttled, result.score, result.planet_total) == (0, 3, 1, 1)
    assert result.rank == 1 and result.round_rank == 1
    assert game.current is not None
    assert game.current.contributions["earth"]["a"] == [1]
    assert game.players["a"].violations == 2
    assert game.players["a"].last_click_at == T0


def test_three_pushes_back_to_back_pass_and_a_fourth_is_rate_limited(state: GameState) -> None:
    """Three pushes at one instant pass; a fourth gets retry_after and changes nothing."""
    add_player(state, "a")
    for batch in ("b1", "b2", "b3"):
        assert push(state, "a", batch, [5], T0).accepted == 5
    before = fingerprint(state)
    with pytest.raises(RateLimited) as caught:
        push(state, "a", "b4", [5], T0)
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == pytest.approx(0.5)
    assert caught.value.details == {"retry_after": 0.5}
    assert fingerprint(state) == before


def test_a_refused_push_passes_after_retry_after(state: GameState) -> None:
    """A push made exactly retry_after seconds after its refusal is accepted."""
    add_player(state, "a")
    for step, batch in enumerate(("b1", "b2", "b3")):
        push(state, "a", batch, [5], T0 + step * 0.1)
    with pytest.raises(RateLimited) as caught:
        push(state, "a", "b4", [5], T0 + 0.3)
    assert caught.value.retry_after == pytest.approx(0.2)
    with pytest.raises(RateLimited):
        push(state, "a", "b4", [5], T0 + 0.3 + caught.value.retry_after - 0.001)
    result = push(state, "a", "b4", [5], T0 + 0.3 + caught.value.retry_after)
    assert (result.accepted, result.duplicate) == (5, False)


def test_pushes_bunched_by_a_pause_pass(state: GameState) -> None:
    """A page on its 1 s cadence whose pushes arrive in bunches of 2 and 3 is never refused."""
    add_player(state, "a")
    arrivals = [0.0, 1.0, 2.9, 2.95, 3.0, 5.0, 5.02, 6.0, 7.0]  # a stall, then a catch-up
    for i, at in enumerate(arrivals):
        assert push(state, "a", f"b{i}", [1], T0 + at).accepted == 1


def test_the_long_run_push_rate_is_at_most_twice_the_protocols(state: GameState) -> None:
    """Pushing every 0.1 s for 60 s gets at most 3 + 60 / (CLICK_PUSH_RATE * 0.5) pushes through."""
    add_player(state, "a")
    passed = 0
    for step in range(601):
        try:
            push(state, "a", f"b{step}", [1], T0 + step * 0.1)
            passed += 1
        except RateLimited:
            pass
    interval = state.rules.click_push_rate * 0.5
    assert passed == 3 + int(60 / interval)
    assert passed <= 3 + 60 * 2 / state.rules.click_push_rate


def test_a_rate_limited_push_does_not_use_up_the_bucket(state: GameState) -> None:
    """Refused pushes spend nothing: the next push is allowed as if they never came."""
    add_player(state, "a")
    for batch in ("b1", "b2", "b3"):
        push(state, "a", batch, [5], T0)
    for _ in range(5):
        with pytest.raises(RateLimited):
            push(state, "a", "b4", [5], T0 + 0.4)
    assert push(state, "a", "b4", [5], T0 + 0.5).accepted == 5


def test_the_push_bucket_is_per_player(state: GameState) -> None:
    """One player's empty push bucket does not refuse another player's push."""
    add_player(state, "a")
    add_player(state, "b")
    for batch in ("x1", "x2", "x3"):
        push(state, "a", batch, [3], T0)
    assert push(state, "b", "x", [4], T0).accepted == 4


def test_the_push_bucket_follows_the_push_rate(make_state: StateFactory) -> None:
    """With CLICK_PUSH_RATE 2 s a push comes back every 1 s and retry_after counts from it."""
    game = make_state(click_push_rate=2.0)
    add_player(game, "a")
    for batch in ("b1", "b2", "b3"):
        push(game, "a", batch, [5], T0)
    with pytest.raises(RateLimited) as caught:
        push(game, "a", "b4", [5], T0 + 0.75)
    assert caught.value.retry_after == pytest.approx(0.25)
    assert push(game, "a", "b4", [5], T0 + 1.0).next_push_after == 2.0
