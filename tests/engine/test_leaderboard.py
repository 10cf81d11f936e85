"""Leaderboards (SPEC §3): score descending, ties by who reached it first; top, rank, around."""

from __future__ import annotations

import pytest

from engine.errors import NotFound
from engine.leaderboard import Leaderboard, PlayerSlots
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, push, run_query


def ids(entries: list[dict]) -> list[str]:
    return [entry["id"] for entry in entries]


def board_query(state: GameState, **fields: object) -> dict:
    return run_query(state, {"op": "leaderboard", **fields})


@pytest.fixture
def ranked(state: GameState) -> GameState:
    """Six players with round and all-time scores 60, 50, 40, 30, 20, 10 (p0 best)."""
    for i in range(6):
        add_player(state, f"p{i}")
    for i in reversed(range(6)):
        push(state, f"p{i}", "b1", [60 - 10 * i], T0)
    return state


def test_top_n_lists_the_best_scores_first(ranked: GameState) -> None:
    """The top 3 of the round are the three highest scores, ranked 1 to 3."""
    result = board_query(ranked, scope="round", limit=3)
    assert [(e["rank"], e["id"], e["score"]) for e in result["entries"]] == [
        (1, "p0", 60),
        (2, "p1", 50),
        (3, "p2", 40),
    ]
    assert result["total"] == 6
    assert result["entries"][0]["name"] == "player-p0"
    assert result["entries"][0]["planet"] == "earth"


def test_a_limit_beyond_the_board_returns_everyone(ranked: GameState) -> None:
    """Asking for more entries than exist returns all of them and no padding."""
    assert len(board_query(ranked, scope="all", limit=100)["entries"]) == 6


def test_around_returns_the_neighbours_of_a_player(ranked: GameState) -> None:
    """around=p3 with radius 1 gives p2, p3, p4 with their true ranks."""
    result = board_query(ranked, scope="round", limit=1, around="p3")
    assert [(e["rank"], e["id"]) for e in result["entries"]] == [(3, "p2"), (4, "p3"), (5, "p4")]


def test_around_is_clipped_at_the_ends_of_the_board(ranked: GameState) -> None:
    """Around the first or last player returns only the entries that exist."""
    assert ids(board_query(ranked, limit=2, around="p0")["entries"]) == ["p0", "p1", "p2"]
    assert ids(board_query(ranked, limit=2, around="p5")["entries"]) == ["p3", "p4", "p5"]


def test_around_an_unknown_player_is_not_found(ranked: GameState) -> None:
    """around= a player id that does not exist is not_found."""
    with pytest.raises(NotFound):
        board_query(ranked, around="ghost")


def test_around_a_player_absent_from_the_round_board_is_empty(ranked: GameState) -> None:
    """A player who has not clicked has no entries around them, this round or all time."""
    add_player(ranked, "idle")
    assert board_query(ranked, scope="round", around="idle")["entries"] == []
    assert board_query(ranked, scope="all", limit=0, around="idle")["entries"] == []


def test_equal_scores_rank_by_who_reached_the_score_first(state: GameState) -> None:
    """Of two players with the same score, the one who reached it first ranks higher."""
    add_player(state, "a")
    add_player(state, "b")
    push(state, "b", "b1", [10], T0)
    push(state, "a", "b1", [10], T0 + 1)
    assert ids(board_query(state, scope="all")["entries"]) == ["b", "a"]
    push(state, "b", "b2", [5], T0 + 2)
    push(state, "a", "b2", [5], T0 + 3)
    assert ids(board_query(state, scope="round")["entries"]) == ["b", "a"]
    push(state, "a", "b3", [5], T0 + 4)
    push(state, "b", "b3", [5], T0 + 5)
    assert ids(board_query(state, scope="round")["entries"]) == ["a", "b"]
    slot = {pid: state.players[pid].slot for pid in "ab"}
    assert (state.all_board.rank(slot["a"]), state.all_board.rank(slot["b"])) == (1, 2)


def test_a_push_reports_the_new_ranks(ranked: GameState) -> None:
    """The push result carries the player's new all-time and round ranks."""
    result = push(ranked, "p5", "b2", [45], T0 + 1)
    assert (result.score, result.rank, result.round_rank) == (55, 2, 2)


def test_a_player_enters_both_boards_with_a_first_click(state: GameState) -> None:
    """New players are on neither board and have no rank; a first click ranks them on both."""
    for pid in ("x", "y", "z"):
        add_player(state, pid)
    for scope in ("all", "round"):
        assert board_query(state, scope=scope)["entries"] == []
    push(state, "y", "b1", [2], T0)
    for scope in ("all", "round"):
        assert [(e["id"], e["score"]) for e in board_query(state, scope=scope)["entries"]] == [
            ("y", 2)
        ]


def test_the_round_board_starts_empty_in_each_round(ranked: GameState) -> None:
    """A new round's board is empty while the all-time board keeps everyone."""
    apply_command(ranked, {"op": "end_round", "now": T0 + 1})
    apply_command(ranked, {"op": "tick", "now": T0 + 11})
    assert board_query(ranked, scope="round")["total"] == 0
    assert board_query(ranked, scope="all")["total"] == 6
    push(ranked, "p5", "b2", [1], T0 + 12)
    assert ids(board_query(ranked, scope="round")["entries"]) == ["p5"]


def test_a_reset_player_leaves_both_boards(ranked: GameState) -> None:
    """After reset_score the player is off the all-time board and the round board."""
    apply_command(ranked, {"op": "reset_score", "player_id": "p0", "now": T0 + 1})
    assert "p0" not in ids(board_query(ranked, scope="all", limit=100)["entries"])
    assert "p0" not in ids(board_query(ranked, scope="round")["entries"])
    assert board_query(ranked, scope="round")["entries"][0]["rank"] == 1


def numbered(*player_ids: str) -> tuple[PlayerSlots, dict[str, int]]:
    """Slots for the given ids, as create_player gives them, and each id's slot."""
    slots = PlayerSlots()
    return slots, {pid: slots.add(pid) for pid in player_ids}


def test_leaderboard_set_returns_ranks_and_discard_removes() -> None:
    """Leaderboard.set returns the 1-based rank; discard and clear remove entries."""
    slots, slot = numbered("a", "b", "c", "never-there")
    board = Leaderboard(slots)
    assert board.set(slot["a"], 5, 1) == 1
    assert board.set(slot["b"], 7, 2) == 1
    assert board.set(slot["c"], 5, 3) == 3
    assert board.set(slot["a"], 9, 4) == 1
    assert list(board) == [("a", 9, 4), ("b", 7, 2), ("c", 5, 3)]
    assert list(board.slot_entries()) == [(slot["a"], 9, 4), (slot["b"], 7, 2), (slot["c"], 5, 3)]
    assert board.top(2) == [(1, "a", 9), (2, "b", 7)]
    board.discard(slot["b"])
    board.discard(slot["never-there"])
    board.discard(99)
    assert (slot["b"] in board, len(board), board.rank(slot["b"])) == (False, 2, None)
    assert board.rank(slot["c"]) == 2
    assert board.around(slot["c"], 5) == [(1, "a", 9), (2, "c", 5)]
    board.clear()
    assert (len(board), board.top(5), board.rank(slot["a"])) == (0, [], None)


def test_a_player_without_a_slot_cannot_be_ranked() -> None:
    """Slot -1 (a Player made without create_player) is refused, not taken as the last one."""
    board = Leaderboard(numbered("a")[0])
    with pytest.raises(ValueError, match="without a slot"):
        board.set(-1, 5, 1)
    assert (len(board), board.rank(-1), -1 in board) == (0, None, False)


def test_leaderboard_from_entries_equals_one_built_by_set() -> None:
    """A board rebuilt from (slot, score, seq) triples ranks exactly like one built step by step;
    a score of 0 (kept by a game saved before it meant no rank) is left out of both."""
    slots, slot = numbered("e", "d", "c", "b", "a")  # slots in another order than the ids
    triples = [("a", 3, 1), ("b", 10, 2), ("c", 3, 5), ("d", 0, 6), ("e", 10, 4)]
    built = Leaderboard(slots)
    for pid, score, seq in triples:
        built.set(slot[pid], score, seq)
    rebuilt = Leaderboard.from_entries(
        [(slot[pid], score, seq) for pid, score, seq in triples], slots
    )
    assert (
        list(rebuilt)
        == list(built)
        == [
            ("b", 10, 2),
            ("e", 10, 4),
            ("a", 3, 1),
            ("c", 3, 5),
        ]
    )
    assert [rebuilt.rank(slot[p]) for p in "abcde"] == [built.rank(slot[p]) for p in "abcde"]


def test_a_score_of_zero_is_no_entry() -> None:
    """Setting a score of 0 takes the player off the board: no rank, no row."""
    slots, slot = numbered("a", "b")
    board = Leaderboard(slots)
    assert board.set(slot["a"], 0, 0) is None
    assert (slot["a"] in board, board.rank(slot["a"]), len(board)) == (False, None, 0)
    assert board.set(slot["a"], 3, 1) == 1
    assert board.set(slot["b"], 5, 2) == 1
    assert board.set(slot["a"], 0, 3) is None
    assert (slot["a"] in board, board.rank(slot["a"]), list(board)) == (False, None, [("b", 5, 2)])
