"""What the actor publishes (SPEC §2, §5): an immutable board after each turn that changed
something, round events from its ticks, and the online count."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from typing import Any

import pytest

from actor.actor import Actor, Online
from actor.clock import FakeClock
from engine.command_types import GetRounds, Rename, Tick
from engine.errors import RoundNotActive
from engine.view import Board, build_board
from tests.actor.conftest import Running, create_players, ops, push_cmd, started_game
from tests.conftest import T0


async def test_a_published_board_never_changes(running: Running) -> None:
    """A board held by a reader stays equal to a deep copy taken when it was published."""
    actor, clock = running.actor, running.clock
    await create_players(actor, ["a", "b"])
    await actor.call(push_cmd("a", "b1", [30]))
    held = actor.board
    taken = copy.deepcopy(held)
    assert hash(held) == hash(taken)  # hashable all the way down: tuples and frozen records
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.online = 99  # type: ignore[misc]  # frozen: the point of the test
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.planets[0].total = 99  # type: ignore[misc]  # frozen: the point
    clock.jump(1)
    await actor.call(push_cmd("a", "b2", [40]))
    await actor.call(push_cmd("b", "b1", [50]))
    await actor.call(Online(delta=3))
    await actor.call(Rename(player_id="a", name="Changed"))
    clock.jump(600)
    await actor.call(Tick())
    assert actor.board is not held
    assert actor.board.version > held.version
    assert held == taken
    assert held.top_all[0].name == "player-a" and held.top_all[0].score == 30
    assert held.round.status == "active" and held.online == 0


async def test_online_count_changes_publish_a_new_board(running: Running) -> None:
    """Each change of the online count publishes a board with the new count; no change, no board."""
    actor = running.actor
    first = actor.board
    assert await actor.call(Online(delta=2)) == 2
    assert actor.board.online == 2 and actor.board.version == first.version + 1
    assert await actor.call({"op": "online", "delta": -1}) == 1  # as the broadcaster sends it
    assert actor.board.online == 1
    await actor.call(Online(delta=-1))
    zero = actor.board
    assert await actor.call(Online(delta=-5)) == 0  # never below zero
    assert actor.board is zero
    assert running.records() == []


async def test_a_tick_past_ends_at_finishes_then_the_break_starts_the_next(
    running: Running,
) -> None:
    """Subscribers get 'finished' when a tick passes ends_at and 'started' after the break."""
    actor, clock = running.actor, running.clock
    seen: list[tuple[Board, list[dict[str, Any]]]] = []
    actor.subscribe(lambda events: seen.append((actor.board, events)))
    await create_players(actor, ["a", "b"])
    await actor.call(push_cmd("a", "b1", [30]))
    seen.clear()
    clock.jump(599.9)
    await actor.call(Tick())
    assert seen == []  # nothing due: no board, no event
    clock.jump(0.1)
    await actor.call(Tick())
    [(board, events)] = seen
    assert [e["event"] for e in events] == ["finished"]
    assert events[0]["data"]["winner"] == "earth" and events[0]["data"]["reason"] == "time"
    assert (board.round.status, board.round.next_round_at) == ("finished", T0 + 610)
    clock.jump(10)
    await actor.call(Tick())
    board, events = seen[-1]
    assert [e["event"] for e in events] == ["started"]
    assert events[0]["data"]["id"] == 2
    assert (board.round.id, board.round.status, board.round.ends_at) == (2, "active", T0 + 1210)
    assert ops(running.records()).count("tick") == 2


async def test_a_cast_tick_is_applied_in_order(running: Running) -> None:
    """A tick cast without waiting is applied before a later call in the same mailbox."""
    running.clock.jump(600)
    running.actor.cast(Tick())
    summary = await running.actor.call(GetRounds())
    assert [s["id"] for s in summary] == [1]


async def test_a_mutation_after_ends_at_ticks_first(running: Running) -> None:
    """A push arriving after ends_at finds the round finished; the tick is journaled before it."""
    actor = running.actor
    await create_players(actor, ["a"])
    running.journal.clear()
    running.clock.jump(600)
    with pytest.raises(RoundNotActive):
        await actor.call(push_cmd("a", "b1", [5]))
    assert ops(running.records()) == ["tick", "push"]
    assert running.records()[0].now == T0 + 600
    assert actor.board.round.status == "finished"


async def test_a_failing_listener_does_not_stop_the_others(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises is logged; the next listener still gets the board."""
    got: list[int] = []

    def broken(events: list[dict[str, Any]]) -> None:
        raise RuntimeError("boom")

    running.actor.subscribe(broken)
    running.actor.subscribe(lambda events: got.append(running.actor.board.online))
    with caplog.at_level(logging.ERROR, logger="ctb.actor"):
        await running.actor.call(Online(delta=1))
    assert got == [1]
    assert "board listener failed" in caplog.text


async def test_the_ticker_casts_ticks_on_its_own(clock: FakeClock) -> None:
    """With a tick interval, the actor's own ticker ends a round whose time ran out."""
    game = started_game()
    actor = Actor(game, clock, tick_interval=0.001)
    finished = asyncio.Event()
    actor.subscribe(lambda events: finished.set() if events else None)
    clock.jump(600)
    actor.start()
    await asyncio.wait_for(finished.wait(), timeout=5)
    await actor.stop()
    assert game.current is not None and game.current.status == "finished"


def test_board_records_are_hashable_and_frozen() -> None:
    """Every part of a Board is immutable: building one from a state gives a hashable value."""
    board = build_board(started_game(), 1, 0)
    assert "planets" in [f.name for f in dataclasses.fields(board)]
    assert isinstance(board.planets, tuple) and isinstance(board.top_all, tuple)
    assert hash(board) == hash(copy.deepcopy(board))


async def test_the_board_is_built_when_read_not_at_every_turn(running: Running) -> None:
    """Turns that change the game only mark the board stale; the next read shows all of them."""
    actor = running.actor
    await create_players(actor, ["a"])
    before = actor.board
    await actor.call(push_cmd("a", "b1", [5]))
    await actor.call(push_cmd("a", "b2", [5]))
    board = actor.board
    assert board is actor.board  # built once, then shared until the next change
    assert board.version == before.version + 2
    assert [(row.id, row.score) for row in board.top_all] == [("a", 10)]
