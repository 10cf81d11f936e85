"""The listing's copy of the index (SPEC §8): prepared in bounded steps, equal to the index once
prepared, and unchanged by the game until it is prepared again."""

from __future__ import annotations

import contextlib
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.admin import index_copy
from engine.admin.index_copy import IndexCopy, prepare_step
from engine.admin.player_index import COLUMNS, PlayerIndex
from engine.admin.query import parse_query, select
from engine.errors import GameError
from engine.state import GameState, current_round_id
from tests.conftest import T0, apply_command
from tests.engine.admin.listing_games import NAMES, PLANETS, build_game, players, queries


def prepare(state: GameState, copy: IndexCopy, names: bool = True) -> int:
    """Run ``prepare_step`` until the copy is ready; the number of steps it took."""
    steps = 1
    while not prepare_step(state, copy, names):
        steps += 1
    return steps


def more_moves(state: GameState, moves: list[tuple[int, int, int]], first: int = 0) -> None:
    """Changes after a preparation: pushes, renames, bans and flags of players, new players."""
    ids = list(state.players)
    now = T0 + 5000 + first
    for i, (who, clicks, what) in enumerate(moves, first):
        now += 1
        if not ids or what == 0:
            pid = f"late-{i}"
            apply_command(state, {"op": "create_player", "player_id": pid, "now": now})
            ids.append(pid)
            continue
        pid = ids[who % len(ids)]
        admin = {"admin": "t", "reason": "r", "player_id": pid, "now": now}
        push = {"op": "push", "player_id": pid, "batch_id": f"m{i}", "clicks": [clicks or 1]}
        rename = {"op": "rename", "player_id": pid, "name": NAMES[who % 8]}
        change = [push, rename, {**admin, "op": "admin_ban"}, {**admin, "op": "admin_flag"}]
        with contextlib.suppress(GameError):  # a banned player's push or rename, a second ban
            apply_command(state, {**change[what - 1], "now": now})


later = st.lists(st.tuples(st.integers(0, 40), st.sampled_from([0, 1, 7]), st.integers(0, 4)))


@settings(max_examples=50, deadline=None)
@given(players, later, later, st.lists(queries, min_size=1, max_size=4), st.booleans())
def test_a_prepared_copy_lists_what_the_live_index_lists(
    moves, changes, during, raws: list[dict[str, Any]], loaded: bool
) -> None:
    """After changes since its last preparation and between its steps, a prepared copy gives
    every query the same page and total as the live index, and holds the same columns."""
    state = build_game(moves)
    if loaded:  # as a start-up builds it: keys deferred, blocks not joined
        flagged = [c.player_id for c in state.interventions.values() if c.status != "resolved"]
        state.index = PlayerIndex.build(state.players.values(), PLANETS, flagged)
    copy = IndexCopy()
    with (
        mock.patch.object(index_copy, "KEY_STEP", 3),
        mock.patch.object(index_copy, "COPY_STEP", 4),
        mock.patch.object(index_copy, "BLOCK_STEP", 1),
    ):
        prepare(state, copy)
        more_moves(state, changes)
        for i, change in enumerate(during):  # a change after each step, as turns come between
            if prepare_step(state, copy, True):
                break
            more_moves(state, [change], 100 + i)
        prepare(state, copy)
    for name in COLUMNS:
        np.testing.assert_array_equal(copy.column(name), state.index.column(name), name)
    round_id = current_round_id(state)
    for raw in raws:
        query = parse_query(raw)
        assert select(copy, copy.round_id, query) == select(state.index, round_id, query)


def test_the_copy_keeps_what_it_took_until_it_is_prepared_again(state: GameState) -> None:
    """Pushes, renames and bans after a preparation change neither the copy's columns nor its
    names; the next preparation takes them."""
    apply_command(state, {"op": "create_player", "player_id": "a", "name": "Ann", "now": T0})
    apply_command(state, {"op": "create_player", "player_id": "b", "name": "Bob", "now": T0})
    copy = IndexCopy()
    prepare(state, copy)
    taken = {name: copy.column(name).copy() for name in COLUMNS}
    push = {"op": "push", "player_id": "a", "batch_id": "x", "clicks": [5], "now": T0 + 1}
    apply_command(state, push)
    apply_command(state, {"op": "rename", "player_id": "b", "name": "Zed", "now": T0 + 1})
    apply_command(
        state, {"op": "admin_ban", "player_id": "a", "admin": "t", "reason": "r", "now": T0}
    )
    apply_command(state, {"op": "create_player", "player_id": "c", "now": T0})
    for name in COLUMNS:
        np.testing.assert_array_equal(copy.column(name), taken[name], name)
    assert (copy.n, copy.name_hits("bob").tolist(), copy.name_hits("zed").tolist()) == (2, [1], [])
    prepare(state, copy)
    assert copy.n == 3 and copy.column("score").tolist()[0] == 5
    assert (copy.name_hits("bob").tolist(), copy.name_hits("zed").tolist()) == ([], [1])


def test_a_loaded_game_is_keyed_and_copied_in_bounded_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The keys a start-up deferred, the name blocks and the first copy come a few players at
    a time, and players who join or are renamed between the steps are taken too."""
    monkeypatch.setattr(index_copy, "KEY_STEP", 4)
    monkeypatch.setattr(index_copy, "COPY_STEP", 5)
    monkeypatch.setattr(index_copy, "BLOCK_STEP", 1)
    state = build_game([(i % 8, i % 3, i % 3, False, False) for i in range(30)])
    state.index = PlayerIndex.build(state.players.values(), PLANETS)
    copy = IndexCopy()
    steps = 0
    keyed: list[int] = []
    while not prepare_step(state, copy, True):
        steps += 1
        keyed.append(state.index._keyed_upto)
        if steps == 3:
            apply_command(state, {"op": "create_player", "player_id": "zz-late", "now": T0 + 9})
        if steps == 10:
            apply_command(state, {"op": "rename", "player_id": "zz-late", "name": "Quincy"})
    assert keyed[:3] == [4, 8, 12] and steps >= 31 // 4 + 31 // 5
    assert copy.n == 31
    query = parse_query({"search": "quin", "sort": "name"})
    assert select(copy, copy.round_id, query) == ([30], 1)
    assert copy.id_prefix_hits("zz-").tolist() == [30]


def test_a_copy_prepared_without_names_refuses_a_search(state: GameState) -> None:
    """A copy taken for a listing without a search holds no name blocks to search."""
    apply_command(state, {"op": "create_player", "player_id": "a", "name": "Ann", "now": T0})
    copy = IndexCopy()
    prepare(state, copy, names=False)
    with pytest.raises(RuntimeError):
        copy.name_hits("ann")
