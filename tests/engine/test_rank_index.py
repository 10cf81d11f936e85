"""RankIndex against a plain sorted list: insert, remove, move, position and slice agree."""

from __future__ import annotations

import random
from bisect import bisect_left, insort
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import rank_index
from engine.rank_index import RankIndex


class Model:
    """The obvious implementation: a sorted Python list."""

    def __init__(self, keys: list[int] | None = None) -> None:
        self.keys = sorted(keys or [])

    def insert(self, key: int) -> int:
        insort(self.keys, key)
        return self.keys.index(key)

    def remove(self, key: int) -> None:
        self.keys.remove(key)

    def move(self, old: int, new: int) -> int:
        self.remove(old)
        return self.insert(new)


def check_same(index: RankIndex, model: Model) -> None:
    keys = model.keys
    assert len(index) == len(keys)
    assert list(index) == keys
    for position, key in enumerate(keys):
        assert index.position(key) == position
    n = len(keys)
    for start in (-3, 0, 1, n // 2, n - 1, n, n + 2):
        for width in (0, 1, 2, 5, n + 3):
            assert index.slice(start, start + width) == keys[max(start, 0) : max(start + width, 0)]


def run_random_ops(seed: int, steps: int, key_space: int) -> None:
    rng = random.Random(seed)
    start = rng.sample(range(key_space), rng.randrange(0, 12))
    index, model = RankIndex(start), Model(start)
    check_same(index, model)
    for _ in range(steps):
        present = model.keys
        absent = [k for k in rng.sample(range(key_space), 5) if k not in present]
        op = rng.random()
        if (op < 0.4 or not present) and absent:
            key = absent[0]
            assert index.insert(key) == model.insert(key)
        elif op < 0.65 and present:
            key = rng.choice(present)
            index.remove(key)
            model.remove(key)
        elif present and absent:
            old, new = rng.choice(present), absent[0]
            assert index.move(old, new) == model.move(old, new)
        check_same(index, model)


@pytest.mark.parametrize("load", [1, 2, 3, 1000])
@pytest.mark.parametrize("seed", range(6))
def test_random_operations_match_a_sorted_list(
    monkeypatch: pytest.MonkeyPatch, load: int, seed: int
) -> None:
    """With any block size, random inserts, removes and moves keep every answer of a sorted list."""
    monkeypatch.setattr(rank_index, "LOAD", load)
    run_random_ops(seed, steps=150, key_space=400)


def test_growing_then_shrinking_splits_and_empties_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With LOAD 2, 200 inserts split blocks many times and removing all of them empties it."""
    monkeypatch.setattr(rank_index, "LOAD", 2)
    rng = random.Random(7)
    keys = rng.sample(range(10_000), 200)
    index, model = RankIndex(), Model()
    for key in keys:
        assert index.insert(key) == model.insert(key)
    check_same(index, model)
    rng.shuffle(keys)
    for key in keys:
        index.remove(key)
        model.remove(key)
        assert list(index) == model.keys
        if model.keys:
            probe = model.keys[len(model.keys) // 2]
            assert index.position(probe) == len(model.keys) // 2
    assert (len(index), list(index), index.slice(0, 10)) == (0, [], [])
    assert index.insert(5) == 0


def test_moves_to_either_end_and_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moving keys to before the first and after the last key, with tiny blocks, stays sorted."""
    monkeypatch.setattr(rank_index, "LOAD", 2)
    keys = list(range(10, 200, 10))
    index, model = RankIndex(keys), Model(keys)
    moves = [(100, 1), (10, 500), (1, 2), (500, 499), (190, 0), (0, 1000), (20, 15), (30, 25)]
    for old, new in moves:
        assert index.move(old, new) == model.move(old, new)
        check_same(index, model)


def test_a_single_key_can_move(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index of one key moved up and down keeps that key at position 0."""
    monkeypatch.setattr(rank_index, "LOAD", 1)
    index = RankIndex([5])
    assert index.move(5, 3) == 0
    assert index.move(3, 9) == 0
    assert list(index) == [9]


def test_negative_keys_sort_below_positive_ones() -> None:
    """Leaderboard keys are negative for positive scores; they order like plain integers."""
    keys = [-(5 << 64) | 3, -(5 << 64) | 9, -(1 << 64) | 2, 7]
    index = RankIndex()
    for key in keys:
        index.insert(key)
    assert list(index) == sorted(keys)


def test_removing_a_missing_key_raises() -> None:
    """remove and move of a key that is not present raise KeyError and change nothing."""
    index = RankIndex([1, 5, 9])
    with pytest.raises(KeyError):
        index.remove(4)
    with pytest.raises(KeyError):
        index.move(4, 6)
    assert list(index) == [1, 5, 9]


def test_clear_empties_the_index() -> None:
    """clear leaves an empty index that accepts new keys."""
    index = RankIndex([3, 1, 2])
    index.clear()
    assert (len(index), list(index)) == (0, [])
    assert index.insert(8) == 0


OPS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "remove", "move"]), st.integers(0, 60), st.integers(0, 60)
    ),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(load=st.integers(1, 4), start=st.sets(st.integers(0, 60), max_size=15), ops=OPS)
def test_any_operation_sequence_matches_a_sorted_list(
    load: int, start: set[int], ops: list[tuple[str, int, int]]
) -> None:
    """Hypothesis: for any small LOAD and any operations, the index answers like a sorted list."""
    with mock.patch.object(rank_index, "LOAD", load):
        index, model = RankIndex(list(start)), Model(list(start))
        for op, a, b in ops:
            present = model.keys
            if op == "insert" and a not in present:
                assert index.insert(a) == model.insert(a)
            elif op == "remove" and present:
                key = present[a % len(present)]
                index.remove(key)
                model.remove(key)
            elif op == "move" and present and b not in present:
                old = present[a % len(present)]
                assert index.move(old, b) == model.move(old, b)
            assert list(index) == model.keys
        check_same(index, model)
        for key in model.keys:
            assert index.position(key) == bisect_left(model.keys, key)
