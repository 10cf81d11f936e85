"""Idempotent pushes (SPEC §4): a retried batch never counts twice; the last 64 ids are kept."""

from __future__ import annotations

import pytest

from engine.errors import RateLimited
from engine.state import GameState
from tests.conftest import T0, StateFactory, add_player, apply_command, fingerprint, push


def test_a_retried_batch_returns_the_same_numbers_marked_duplicate(state: GameState) -> None:
    """Retrying a batch id returns the first result with duplicate=True and adds nothing."""
    add_player(state, "a")
    first = push(state, "a", "b1", [120, 100], T0)
    before = fingerprint(state)
    again = push(state, "a", "b1", [120, 100], T0 + 5)
    assert again.duplicate is True and first.duplicate is False
    assert {**again.to_dict(), "duplicate": False} == first.to_dict()
    assert (again.accepted, again.throttled) == (200, 20)
    assert fingerprint(state) == before


def test_a_duplicate_is_answered_even_with_an_empty_push_bucket(state: GameState) -> None:
    """A retry while the push bucket is empty is answered as a duplicate, not rate_limited."""
    add_player(state, "a")
    for batch in ("b1", "b2", "b3"):
        push(state, "a", batch, [5], T0)
    assert push(state, "a", "b1", [5], T0 + 0.1).duplicate is True


def test_a_duplicate_reports_the_original_numbers_after_more_pushes(state: GameState) -> None:
    """A late retry reports the numbers of its first application, not the current score."""
    add_player(state, "a")
    push(state, "a", "b1", [5], T0)
    push(state, "a", "b2", [7], T0 + 1)
    again = push(state, "a", "b1", [5], T0 + 2)
    assert (again.accepted, again.score, again.planet_total, again.duplicate) == (5, 5, 5, True)
    assert state.players["a"].score == 12


def test_a_duplicate_is_answered_between_rounds(make_state: StateFactory) -> None:
    """A retry that arrives during the break still gets its result, not round_not_active."""
    game = make_state(round_target=10)
    add_player(game, "a")
    first = push(game, "a", "win", [10], T0)
    assert game.current is not None and game.current.status == "finished"
    again = push(game, "a", "win", [10], T0 + 1)
    assert again.duplicate is True and again.accepted == first.accepted == 10


def test_batch_ids_are_per_player(state: GameState) -> None:
    """Two players may use the same batch id; each push counts for its own player."""
    add_player(state, "a")
    add_player(state, "b")
    push(state, "a", "same", [3], T0)
    result = push(state, "b", "same", [4], T0)
    assert (result.accepted, result.duplicate) == (4, False)


def test_64_newer_batches_forget_the_oldest_id(state: GameState) -> None:
    """After 63 newer batches an id is still a duplicate; after 64 it is applied again."""
    add_player(state, "a")
    push(state, "a", "old", [1], T0)
    for i in range(63):
        push(state, "a", f"n{i}", [1], T0 + 100 + i)
    assert push(state, "a", "old", [1], T0 + 200).duplicate is True
    push(state, "a", "n63", [1], T0 + 300)
    score_before = state.players["a"].score
    again = push(state, "a", "old", [1], T0 + 400)
    assert (again.duplicate, again.accepted) == (False, 1)
    assert state.players["a"].score == score_before + 1


def test_the_batch_memory_size_comes_from_the_rules(make_state: StateFactory) -> None:
    """With batch_memory 2 the third-newest id is forgotten."""
    game = make_state(batch_memory=2)
    add_player(game, "a")
    for i, name in enumerate(["x", "y", "z"]):
        push(game, "a", name, [1], T0 + i)
    assert push(game, "a", "y", [1], T0 + 10).duplicate is True
    assert push(game, "a", "x", [1], T0 + 10).duplicate is False


def test_a_rate_limited_batch_is_not_remembered(state: GameState) -> None:
    """A batch refused as too soon is applied when retried later, not reported as a duplicate."""
    add_player(state, "a")
    for batch in ("b1", "b2", "b3"):
        push(state, "a", batch, [5], T0)
    with pytest.raises(RateLimited):
        push(state, "a", "b4", [5], T0 + 0.1)
    result = push(state, "a", "b4", [5], T0 + 0.5)
    assert (result.duplicate, result.accepted) == (False, 5)


def test_a_fully_throttled_batch_is_remembered(make_state: StateFactory) -> None:
    """A push that got nothing through is still remembered: its retry reports 0 accepted."""
    game = make_state(max_cps=1, burst_seconds=1.0)
    add_player(game, "a")
    push(game, "a", "b1", [1], T0)
    push(game, "a", "b2", [3], T0 + 0.5)
    again = push(game, "a", "b2", [3], T0 + 10)
    assert (again.duplicate, again.accepted, again.throttled) == (True, 0, 3)


def test_a_duplicate_via_the_command_table_bumps_no_version(state: GameState) -> None:
    """A duplicate is a read: the state version stays, so no journal record is needed."""
    add_player(state, "a")
    apply_command(
        state, {"op": "push", "player_id": "a", "batch_id": "b", "clicks": [2], "now": T0}
    )
    version = state.version
    apply_command(
        state, {"op": "push", "player_id": "a", "batch_id": "b", "clicks": [2], "now": T0 + 1}
    )
    assert state.version == version
