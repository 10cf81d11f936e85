"""Boards as changes (SPEC §6): a client applying every board holds the server's whole board.

A hypothesis strategy plays random games (``tests/server/board_games.py``). After random steps
the "broadcaster" sends the board's changes against the last board it sent, encoded and decoded
by a real codec; the client applies them with ``apply_board`` and must hold exactly the
snapshot of that board, its rows named by key (the live board carries no player ids).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server import ws_protocol as proto
from server.board_changes import MissedBoard, apply_board, board_message
from tests.server.board_games import NAMES, PLANETS, Game, full, live, wire

NAME = st.sampled_from(NAMES)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), NAME),
        st.tuples(st.just("push"), st.integers(0, 7), st.integers(1, 12)),
        st.tuples(st.just("push"), st.integers(0, 7), st.integers(1, 12)),
        st.tuples(st.just("rename"), st.integers(0, 7), NAME),
        st.tuples(st.just("move"), st.integers(0, 7), st.sampled_from(PLANETS)),
        st.tuples(st.just("ban"), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("unban"), st.integers(0, 7)),
        st.tuples(st.just("reset"), st.integers(0, 7)),
        st.tuples(st.just("end_round")),
        st.tuples(st.just("pause"), st.booleans()),
        st.tuples(st.just("online"), st.integers(-2, 2)),
        st.tuples(st.just("wait"), st.floats(0.1, 15.0)),
    ),
    min_size=1,
    max_size=40,
)


CODECS = st.sampled_from([proto.JSON, proto.MSGPACK])


@settings(max_examples=150, deadline=None)
@given(steps=STEPS, sent=st.lists(st.booleans(), min_size=40, max_size=40), codec=CODECS)
def test_a_client_applying_every_board_holds_the_whole_board(
    steps: list[tuple[Any, ...]], sent: list[bool], codec: proto.Codec
) -> None:
    """Applied to the first snapshot in order, each board's changes give that board exactly."""
    game = Game()
    base = game.board()
    held = full(base, codec)
    for step, send in zip(steps, sent, strict=False):
        game.step(step)
        board = game.board()
        if not send:
            continue  # published but no tick came: the next board's changes cover it too
        held = apply_board(held, wire(base, board, codec))
        assert held == live(full(board, codec))
        base = board


@settings(max_examples=100, deadline=None)
@given(steps=STEPS, missed=st.integers(0, 39), codec=CODECS)
def test_a_client_that_misses_a_board_notices_and_a_resync_restores_it(
    steps: list[tuple[Any, ...]], missed: int, codec: proto.Codec
) -> None:
    """A board built on a version the client lacks is refused; the snapshot puts it right."""
    game = Game()
    base = game.board()
    held = full(base, codec)
    resynced = False
    for n, step in enumerate(steps):
        game.step(step)
        board = game.board()
        message = wire(base, board, codec)
        base = board
        if n == missed:
            continue  # this one never reached the client
        try:
            held = apply_board(held, message)
        except MissedBoard:
            assert n > missed and not resynced
            held = full(board, codec)  # the resync's snapshot: the board the server holds
            resynced = True
        assert live(held) == live(full(board, codec))
    assert resynced == (missed < len(steps) - 1)


def test_a_moved_score_costs_its_key_and_score_not_the_name() -> None:
    """Once a player is introduced, a new score of theirs is sent as [key, score] only."""
    game = Game()
    game.step(("create", "ann"))
    game.step(("push", 0, 5))
    first = game.board()
    game.step(("wait", 1.0))
    game.step(("push", 0, 5))
    second = game.board()
    message = wire(first, second, proto.JSON)
    slot = game.state.players["p0"].slot
    assert "players" not in message["data"]
    assert message["data"]["leaderboard"]["round"] == {"scores": [[slot, 10]]}
    assert b"ann" not in proto.JSON.encode(board_message(first, second))


def test_a_newcomer_costs_key_name_and_planet_not_the_id() -> None:
    """A player entering the rows is introduced as [key, name, planet]; the UUID stays home."""
    game = Game()
    game.step(("create", "ann"))
    first = game.board()
    game.step(("push", 0, 1))  # a first click: the player enters the rows
    second = game.board()
    message = wire(first, second, proto.JSON)
    slot = game.state.players["p0"].slot
    assert message["data"]["players"] == [[slot, "ann", "earth"]]
    assert b'"p0"' not in proto.JSON.encode(board_message(first, second))


def test_all_time_rows_that_move_as_the_round_rows_say_so_once() -> None:
    """In a first round the all-time rows change as the round's do: ``all`` says "round"."""
    game = Game()
    game.step(("create", "ann"))
    game.step(("create", "bob"))
    game.step(("push", 0, 3))
    game.step(("push", 1, 2))
    first = game.board()
    game.step(("wait", 1.0))
    game.step(("push", 1, 5))
    second = game.board()
    changes = wire(first, second, proto.JSON)["data"]["leaderboard"]
    assert changes["all"] == "round"
    assert changes["round"] == {"top": [1, 0], "scores": [[1, 7]]}
    game.step(("end_round",))
    game.step(("wait", 15.0))
    third = game.board()
    game.step(("push", 0, 3))
    fourth = game.board()
    changes = wire(third, fourth, proto.JSON)["data"]["leaderboard"]
    assert changes["all"] != "round" and changes["round"] != changes["all"]


@pytest.mark.parametrize("codec", [proto.JSON, proto.MSGPACK])
def test_an_unchanged_board_still_carries_every_planets_total(codec: proto.Codec) -> None:
    """Tools that read only the race find every planet's total in every board."""
    game = Game()
    first = game.board()
    data = wire(first, game.board(), codec)["data"]
    assert [p["name"] for p in data["planets"]] == PLANETS
    assert set(data) == {"planets"}
