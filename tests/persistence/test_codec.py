"""Snapshot round trips: whatever a game went through, save then load gives the same state."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.players import Player
from engine.state import GameState
from persistence import codec, snapshot
from persistence.data_dir import DataDir
from tests.persistence.games import RULES, full_print, games, play

audit_entries = st.lists(
    st.fixed_dictionaries(
        {
            "who": st.sampled_from(["admin", "ops"]),
            "what": st.sampled_from(["ban", "rename"]),
            "before": st.dictionaries(
                st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.none(), max_size=3
            ),
            "after": st.lists(st.integers(-(2**40), 2**40), max_size=3),
            "at": st.floats(0, 2e9),
        }
    ),
    max_size=5,
)


def save_and_load(state: GameState) -> GameState:
    with tempfile.TemporaryDirectory() as tmp, DataDir.open(Path(tmp)) as data_dir:
        snapshot.save(data_dir, state, journal_next=7)
        loaded, meta = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    assert (meta.journal_next, meta.version) == (7, state.version)
    return loaded


@settings(max_examples=60, deadline=None)
@given(games, audit_entries)
def test_save_then_load_gives_an_equal_state(moves, audit) -> None:
    """Players with every field, batch ids in order, boards, rounds, queue, history and audit
    come back equal after a save and a load, whatever commands built the state."""
    state, _, _ = play(moves)
    state.audit.extend(audit)
    assert full_print(save_and_load(state)) == full_print(state)


def test_a_loaded_state_keeps_playing_like_the_original() -> None:
    """After a load the same further commands give the same state as without the load."""
    moves = [(1.0, {"op": "create_player", "player_id": f"p{i}", "name": None}) for i in range(4)]
    pushes = [
        (0.6, {"op": "push", "player_id": f"p{i % 4}", "batch_id": f"b{i}", "clicks": [3, 2]})
        for i in range(20)
    ]
    original, _, now = play(moves + pushes)
    loaded = save_and_load(original)
    later = [
        (0.6, {"op": "push", "player_id": f"p{i % 4}", "batch_id": f"n{i}", "clicks": [4]})
        for i in range(12)
    ]
    more = [*later[:6], (0.6, {"op": "reset_score", "player_id": "p1"}), *later[6:], *pushes[:2]]
    play(more, original, now)
    play(more, loaded, now)
    assert full_print(loaded) == full_print(original)


def test_slots_that_do_not_follow_the_players_order_are_saved() -> None:
    """When the boards numbered players in another order than the roster, the numbers stay."""
    state, _, _ = play(
        [(1.0, {"op": "create_player", "player_id": pid, "name": None}) for pid in "abc"]
    )
    player = state.players.pop("a")
    state.players["a"] = player  # the roster order now differs from the slot order
    assert list(state.players) != state.slots.ids
    assert full_print(save_and_load(state)) == full_print(state)


def test_a_file_from_a_player_with_fewer_fields_loads_with_defaults(monkeypatch) -> None:
    """A field added to Player since the file was written takes its default on load."""
    state, _, _ = play([(1.0, {"op": "create_player", "player_id": "a", "name": "Ann"})])
    older = tuple(f for f in codec.PLAYER_FIELDS if f != "violations")
    state.players["a"].violations = 0
    monkeypatch.setattr(codec, "PLAYER_FIELDS", older)
    with tempfile.TemporaryDirectory() as tmp, DataDir.open(Path(tmp)) as data_dir:
        snapshot.save(data_dir, state, 1)
        monkeypatch.setattr(
            codec, "PLAYER_FIELDS", tuple(f.name for f in dataclasses.fields(Player))
        )
        loaded, _ = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    assert loaded.players["a"] == state.players["a"]


def test_equal_times_of_a_player_come_back_as_one_object() -> None:
    """A push stamps one time into refill and last click; the load keeps it one."""
    moves = [
        (1.0, {"op": "create_player", "player_id": "a", "name": None}),
        (1.0, {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [3]}),
    ]
    state, _, _ = play(moves)
    player = save_and_load(state).players["a"]
    assert player.tokens_at is player.last_click_at
    assert player.created_at is not player.last_click_at


def test_a_snapshot_with_last_push_at_loads_it_as_the_push_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A snapshot from before the push bucket has a last_push_at column; it loads as push_tat."""
    moves = [
        (1.0, {"op": "create_player", "player_id": "a", "name": None}),
        (1.0, {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [3]}),
    ]
    state, _, _ = play(moves)
    encode = codec.encode

    def encode_as_before(*args: Any) -> Iterator[Any]:
        stream = encode(*args)
        header = next(stream)
        header["player_fields"] = tuple(
            "last_push_at" if name == "push_tat" else name for name in header["player_fields"]
        )
        yield header
        yield from stream

    monkeypatch.setattr(codec, "encode", encode_as_before)
    loaded = save_and_load(state)
    assert loaded.players["a"] == state.players["a"]
    assert loaded.players["a"].push_tat is not None


def test_int_times_stay_ints() -> None:
    """Equal times are shared only among floats, so an int time is never read back as a float."""
    moves = [(1.0, {"op": "create_player", "player_id": pid, "name": None}) for pid in "ab"]
    state, _, _ = play(moves)
    state.players["a"].created_at = state.players["a"].tokens_at = 6.0
    state.players["b"].tokens_at = 6
    loaded = save_and_load(state).players
    assert (type(loaded["a"].tokens_at), type(loaded["b"].tokens_at)) == (float, int)


def test_a_contribution_that_names_no_player_does_not_decode() -> None:
    """A slot beyond the players is refused, not read as someone else's clicks."""
    moves = [
        (1.0, {"op": "create_player", "player_id": "a", "name": None}),
        (1.0, {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [3]}),
    ]
    state, _, _ = play(moves)
    stream = list(codec.encode(state, 1, 0.0))
    chunk = next(o for o in stream if isinstance(o, list) and o and isinstance(o[0], str))
    chunk[1] = [len(state.players)]
    with pytest.raises(ValueError, match="slot no player has"):
        codec.decode(iter(stream), RULES)
