"""A turn whose journal write fails (README, "Persistence"): nothing of it is applied or
published, every mutation is answered unavailable, and the log stays short."""

from __future__ import annotations

import asyncio
import logging

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine.command_types import Command, CreatePlayer, GetMe, Tick, op
from engine.errors import Unavailable
from persistence.errors import JournalError
from tests.actor.conftest import create_players, push_cmd, started_game


async def test_a_failing_journal_applies_nothing_and_publishes_nothing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """When on_commit raises, every mutation of the turn is answered unavailable, none of them
    reaches the state, no round finishes and no board is published; queries still answer."""
    fail = False

    def on_commit(records: list[Command]) -> None:
        if fail:
            raise OSError("disk full")

    game = started_game()
    actor = Actor(game, clock, on_commit=on_commit, tick_interval=None)
    actor.start()
    await create_players(actor, ["a", "b"])
    await actor.call(push_cmd("a", "b0", [5]))
    version, board = game.version, actor.board
    fail = True
    clock.jump(600)  # the round's time is up: the tick that would finish it is refused too
    with caplog.at_level(logging.ERROR, logger="ctb.actor"):
        replies = await asyncio.gather(
            actor.call(push_cmd("a", "b1", [5])),
            actor.call(CreatePlayer(player_id="c")),
            actor.call(GetMe(player_id="a")),
            return_exceptions=True,
        )
    assert isinstance(replies[0], Unavailable) and replies[0].code == "unavailable"
    assert isinstance(replies[1], Unavailable)
    assert replies[2]["score"] == 5
    assert game.version == version and actor.board is board
    assert sorted(game.players) == ["a", "b"] and game.current.status == "active"
    fail = False
    await actor.call(Tick())
    await actor.stop()
    assert game.current.status == "finished"
    assert "journal write failed" in caplog.text


async def test_a_push_refused_for_a_failed_write_counts_once_when_retried(
    clock: FakeClock,
) -> None:
    """A push whose write failed left nothing behind: its retry, once the journal writes again,
    is applied as new (not a duplicate), and the journal holds it once."""
    failing = False
    commits: list[list[Command]] = []

    def on_commit(records: list[Command]) -> None:
        if failing:
            raise JournalError("the journal write failed: disk full")
        commits.append(list(records))

    actor = Actor(started_game(), clock, on_commit=on_commit, tick_interval=None)
    actor.start()
    await create_players(actor, ["a"])
    failing = True
    for _ in range(2):
        with pytest.raises(Unavailable):
            await actor.call(push_cmd("a", "b1", [5]))
    failing = False
    retry = await actor.call(push_cmd("a", "b1", [5]))
    await actor.stop()
    assert (retry.duplicate, retry.accepted, retry.score) == (False, 5, 5)
    assert [op(r) for turn in commits for r in turn].count("push") == 1


async def test_a_long_journal_outage_logs_one_traceback_then_a_count(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Many failed turns in a row log the first failure with its traceback, then one line when
    the journal writes again, with how many turns failed."""
    failing = True

    def on_commit(records: list[Command]) -> None:
        if failing:
            raise JournalError("the journal write failed: disk full")

    actor = Actor(started_game(), clock, on_commit=on_commit, tick_interval=None)
    actor.start()
    with caplog.at_level(logging.DEBUG, logger="ctb.actor"):
        for i in range(30):
            with pytest.raises(Unavailable):
                await actor.call(CreatePlayer(player_id=f"p{i}"))
        failing = False
        await actor.call(CreatePlayer(player_id="ok"))
    await actor.stop()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    [recovered] = [r for r in caplog.records if getattr(r, "event", None) == "journal_recovered"]
    assert recovered.failed_turns == 30
