"""Boards as changes (SPEC §6): a client applying every board holds the server's whole board.

A hypothesis strategy plays random games through the engine's command table (new players,
pushes, renames, moves, bans, resets, round ends and starts, pauses, the online count) with a
top of 3 rows so rows enter, leave and swap often. After random steps the "broadcaster" sends
the board's changes against the last board it sent, encoded and decoded by a real codec; the
client applies them with ``apply_board`` and must hold exactly the snapshot of that board.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import commands
from engine.errors import GameError
from engine.rules import Rules
from engine.state import new_state
from engine.view import Board, build_board
from server import ws_protocol as proto
from server.board_changes import MissedBoard, apply_board, board_message
from server.models import ClientSettings
from server.public_view import snapshot
from settings import Settings
from tests.conftest import T0

RULES = Rules(max_cps=5, burst_seconds=2.0, round_target=80, round_seconds=30.0, top_n=3)
PLANETS = ["earth", "mars", "venus"]
NAMES = st.sampled_from(["ann", "bob", "cé", "dee", "名前"])
CLIENT_SETTINGS = ClientSettings.of(Settings())

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), NAMES),
        st.tuples(st.just("push"), st.integers(0, 7), st.integers(1, 12)),
        st.tuples(st.just("push"), st.integers(0, 7), st.integers(1, 12)),
        st.tuples(st.just("rename"), st.integers(0, 7), NAMES),
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


class Game:
    """A game, the boards it publishes and the clock, as the actor runs them."""

    def __init__(self) -> None:
        self.state = new_state(RULES, PLANETS)
        self.now = T0
        self.online = 0
        self.version = 0
        self.ids: list[str] = []
        commands.apply(self.state, {"op": "tick", "now": self.now})

    def board(self) -> Board:
        self.version += 1
        return build_board(self.state, self.version, self.online)

    def step(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        self.now += 0.3
        if kind == "wait":
            self.now += args[0]
        if kind == "online":
            self.online = max(0, self.online + args[0])
            return
        cmd = self.command(kind, args)
        if cmd is None:
            return
        try:
            commands.apply(self.state, {"op": "tick", "now": self.now})
            commands.apply(self.state, {**cmd, "now": self.now})
        except GameError:
            pass

    def command(self, kind: str, args: list[Any]) -> dict[str, Any] | None:
        admin = {"admin": "ops", "reason": "test"}
        if kind == "create":
            self.ids.append(f"p{len(self.ids)}")
            return {"op": "create_player", "player_id": self.ids[-1], "name": args[0]}
        if kind in ("wait", "end_round"):
            return {"op": "tick"} if kind == "wait" else {"op": "end_round"}
        if kind == "pause":
            return {"op": "admin_pause" if args[0] else "admin_resume", **admin}
        if not self.ids:
            return None
        pid = self.ids[args[0] % len(self.ids)]
        return {
            "push": lambda: {"op": "push", "batch_id": f"b{self.version}", "clicks": [args[1]]},
            "rename": lambda: {"op": "rename", "name": args[1]},
            "move": lambda: {"op": "move_player", "planet": args[1]},
            "ban": lambda: {"op": "ban", "revoke_round_clicks": args[1]},
            "unban": lambda: {"op": "unban"},
            "reset": lambda: {"op": "reset_score"},
        }[kind]() | {"player_id": pid}


def full(board: Board, codec: proto.Codec) -> dict[str, Any]:
    """The board as a snapshot carries it, through the codec (what a resync gives)."""
    data = codec.decode(codec.encode(snapshot(board, CLIENT_SETTINGS)))
    del data["settings"]
    return data


def wire(base: Board, board: Board, codec: proto.Codec) -> dict[str, Any]:
    return codec.decode(codec.encode(board_message(base, board)))


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
        assert held == full(board, codec)
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
        assert held == full(board, codec)
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


@pytest.mark.parametrize("codec", [proto.JSON, proto.MSGPACK])
def test_an_unchanged_board_still_carries_every_planets_total(codec: proto.Codec) -> None:
    """Tools that read only the race find every planet's total in every board."""
    game = Game()
    first = game.board()
    data = wire(first, game.board(), codec)["data"]
    assert [p["name"] for p in data["planets"]] == PLANETS
    assert set(data) == {"planets"}
