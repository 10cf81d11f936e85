"""Turns group what arrives together: one clock read, one commit and one round of replies for
everything that came in one pass of the loop, or within the linger (actor/mailbox.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from actor.actor import Actor
from actor.clock import FakeClock
from engine.clicks import PushResult
from engine.command_types import CheckedPush, Command, GetMe
from engine.errors import Unavailable
from tests.actor.conftest import create_players, ops, started_game
from tests.conftest import T0, fingerprint

PLAYERS = [f"p{i}" for i in range(200)]


class Replies:
    """Reply functions that note each outcome and how many commits had happened by then."""

    def __init__(self, journal: list[list[Command]], expected: int) -> None:
        self.journal = journal
        self.seen: list[tuple[int, Any, BaseException | None]] = []
        self.expected = expected
        self.all_in = asyncio.get_running_loop().create_future()

    def __call__(self, value: Any, error: BaseException | None) -> None:
        self.seen.append((len(self.journal), value, error))
        if len(self.seen) == self.expected:
            self.all_in.set_result(None)


async def game_of_200(clock: FakeClock, on_commit: Any, **options: Any) -> Actor:
    actor = Actor(started_game(), clock, on_commit=on_commit, tick_interval=None, **options)
    actor.start()
    await create_players(actor, PLAYERS)
    clock.jump(1)
    return actor


def push_all(actor: Actor, replies: Replies) -> None:
    """Send one push per player without an await between them: they arrive in one pass."""
    for i, player_id in enumerate(PLAYERS):
        push = CheckedPush(player_id=player_id, batch_id="b1", clicks=[i % 20 + 1])
        actor.send(push, replies)


async def test_pushes_arriving_in_one_pass_are_one_turn_acknowledged_after_its_commit(
    clock: FakeClock,
) -> None:
    """200 pushes sent in one pass of the loop are one turn: one commit with their 200 records,
    stamped with one time, and every push is answered only after that commit."""
    journal: list[list[Command]] = []
    actor = await game_of_200(clock, journal.append)
    journal.clear()
    turns = actor.turns
    replies = Replies(journal, len(PLAYERS))
    push_all(actor, replies)
    assert replies.seen == []  # nothing is answered before its turn
    await asyncio.wait_for(replies.all_in, 10)
    assert actor.turns == turns + 1
    await actor.stop()
    assert len(journal) == 1 and ops(journal[0]) == ["push"] * 200
    assert {record.now for record in journal[0]} == {T0 + 1}
    assert [commits for commits, _, _ in replies.seen] == [1] * 200
    results = [value for _, value, error in replies.seen if error is None]
    assert all(isinstance(result, PushResult) for result in results) and len(results) == 200
    assert [result.accepted for result in results] == [i % 20 + 1 for i in range(200)]


async def test_a_fault_in_the_turns_commit_acknowledges_none_of_its_pushes(
    clock: FakeClock,
) -> None:
    """When the commit of a turn of 200 pushes fails, every one of them is answered
    unavailable, none is applied, and the state is as it was."""
    failing = False
    journal: list[list[Command]] = []

    def on_commit(records: list[Command]) -> None:
        if failing:
            raise OSError("disk full")
        journal.append(list(records))

    actor = await game_of_200(clock, on_commit)
    state = actor._state
    before = fingerprint(state)
    failing = True
    replies = Replies(journal, len(PLAYERS))
    push_all(actor, replies)
    await asyncio.wait_for(replies.all_in, 10)
    failing = False
    me = await actor.call(GetMe(player_id="p7"))
    await actor.stop()
    assert all(value is None and isinstance(error, Unavailable) for _, value, error in replies.seen)
    assert fingerprint(state) == before and me["score"] == 0


async def test_pushes_within_the_linger_join_one_turn_and_a_call_ends_the_linger(
    clock: FakeClock,
) -> None:
    """With a linger, pushes sent over several passes of the loop wait for each other; a call,
    whose caller waits, starts the turn at once, and it holds them all."""
    journal: list[list[Command]] = []
    actor = await game_of_200(clock, journal.append, linger=60.0)
    journal.clear()
    replies = Replies(journal, 3)
    for player_id in PLAYERS[:3]:
        actor.send(CheckedPush(player_id=player_id, batch_id="b1", clicks=[5]), replies)
        for _ in range(3):
            await asyncio.sleep(0)  # the next push comes in a later pass of the loop
    assert replies.seen == [] and journal == []
    me = await asyncio.wait_for(actor.call(GetMe(player_id="p0")), 10)  # far inside 60 s
    await actor.stop()
    assert me["score"] == 5 and len(replies.seen) == 3
    # The journal holds Commands; these records are pushes, each with its player_id.
    assert len(journal) == 1 and [r.player_id for r in journal[0]] == PLAYERS[:3]  # type: ignore[attr-defined]
