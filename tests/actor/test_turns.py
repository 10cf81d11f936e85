"""The actor's turns (SPEC §2): one owner of the state, commands written ahead, replies after.

Every test runs a real ``Actor`` with a ``FakeClock`` and no ticker (``tests/actor/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
from typing import Any

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine import commands
from engine.command_types import (
    Ban,
    Command,
    CreatePlayer,
    GetLeaderboard,
    GetMe,
    GetRounds,
    MovePlayer,
    QueueRound,
    Rename,
    ResetScore,
    stamped,
)
from engine.errors import GameError, InvalidRequest
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.actor.conftest import (
    PLANETS,
    Running,
    create_players,
    ops,
    outcome,
    push_cmd,
    started_game,
)
from tests.conftest import T0, fingerprint


async def test_concurrent_submitters_match_applying_in_order(clock: FakeClock) -> None:
    """Many concurrent pushes from several players end in the state of applying them in order."""
    game = started_game()
    actor = Actor(game, clock, max_batch=7, tick_interval=None)
    actor.start()
    reference = started_game()
    rng = random.Random(3)
    players = [f"p{i}" for i in range(6)]
    expected: list[Any] = []
    actual: list[Any] = []
    script: list[list[Command]] = [[CreatePlayer(player_id=p) for p in players]]
    for step in range(8):
        cmds: list[Command] = [push_cmd(p, f"s{step}", [rng.randint(1, 200)]) for p in players]
        cmds += [push_cmd(p, f"s{step - 1}", [1]) for p in rng.sample(players, 2)]  # retries
        cmds += [push_cmd(p, f"x{step}", [5]) for p in rng.sample(players, 2)]  # extra pushes
        rng.shuffle(cmds)
        script.append(cmds)
    for cmds in script:
        now = clock.now()
        replies = await asyncio.gather(*(actor.call(c) for c in cmds), return_exceptions=True)
        actual.extend(outcome(r) for r in replies)
        for cmd in cmds:
            try:
                expected.append(outcome(commands.apply(reference, stamped(cmd, now))))
            except GameError as error:
                expected.append(outcome(error))
        clock.jump(rng.choice([0.5, 0.75, 3.0]))
    await actor.stop()
    assert actual == expected
    assert fingerprint(game) == fingerprint(reference)
    assert actor.turns > len(script)  # max_batch 7 split the bigger groups over several turns
    assert any(kind == "RateLimited" for kind, *_ in [e for e in actual if isinstance(e, tuple)])
    assert any(isinstance(e, dict) and e.get("duplicate") for e in actual)


async def test_the_journal_gets_each_turns_records_once_before_any_reply(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_commit sees each turn's records once, while no reply future of that turn is resolved."""
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[Any]] = []
    make_future = loop.create_future

    def recording_future() -> asyncio.Future[Any]:
        future = make_future()
        caller = sys._getframe(1).f_code
        if caller is Actor.call.__code__:  # a reply future, not one of asyncio's own
            futures.append(future)
        return future

    monkeypatch.setattr(loop, "create_future", recording_future)
    journal: list[list[Command]] = []
    resolved_at_commit: list[int] = []
    checked = 0

    def on_commit(records: list[Command]) -> None:
        nonlocal checked
        resolved_at_commit.append(sum(f.done() for f in futures[checked:]))
        checked = len(futures)
        journal.append(list(records))

    actor = Actor(started_game(), clock, on_commit=on_commit, tick_interval=None)
    actor.start()
    await create_players(actor, ["a", "b", "c"])
    clock.jump(1)
    await asyncio.gather(*(actor.call(push_cmd(p, "b1", [10])) for p in ["a", "b", "c"]))
    await actor.stop()
    assert len(journal) == 2 and resolved_at_commit == [0, 0]
    assert len(futures) == 6 and all(f.done() for f in futures)
    # The journal holds Commands; every record here is a player's (create_player, push).
    seen = [[(type(r).__name__, r.player_id) for r in turn] for turn in journal]  # type: ignore[attr-defined]
    assert seen == [
        [("CreatePlayer", "a"), ("CreatePlayer", "b"), ("CreatePlayer", "c")],
        [("Push", "a"), ("Push", "b"), ("Push", "c")],
    ]
    assert all(r.now == T0 + 1 for r in journal[1])


async def test_replaying_the_journal_rebuilds_an_equal_state(clock: FakeClock) -> None:
    """Records handed to on_commit, applied to a fresh game, rebuild the same scores and boards."""
    journal: list[list[Command]] = []
    game = new_state(Rules(), PLANETS)  # no round yet: the actor's first turn ticks it in
    actor = Actor(game, clock, on_commit=journal.append, tick_interval=None)
    actor.start()
    call = actor.call
    await create_players(actor, ["a", "b", "c", "d"])
    await call(Rename(player_id="a", name="Ann"))
    for step in range(6):
        clock.jump(0.6)
        await asyncio.gather(
            *(call(push_cmd(p, f"b{step}", [40 + step])) for p in ["a", "b", "c", "d"]),
            call(push_cmd("a", f"b{step}", [1])),  # a retry: duplicate
            call(push_cmd("b", f"z{step}", [1])),  # refused once b's push bucket is empty
            return_exceptions=True,
        )
    await call(MovePlayer(player_id="b", planet="earth"))
    clock.jump(0.6)
    await call(push_cmd("b", "moved", [7]))
    revoked = await call(Ban(player_id="c", revoke_round_clicks=True))
    await call(ResetScore(player_id="d"))
    await call(QueueRound(target=50, seconds=30))
    clock.jump(700)  # round 1 times out and the break is over: the queued round starts
    await call({"op": "online", "delta": 1})
    await call(push_cmd("a", "late", [60]))  # wins the queued round at once
    await actor.stop()
    records = [record for turn in journal for record in turn]
    assert ops(records).count("tick") == 2
    assert revoked["revoked"] > 0
    replayed = new_state(Rules(), PLANETS)
    for record in records:
        with contextlib.suppress(GameError):  # refused live too: written ahead of applying
            commands.apply(replayed, record)
    assert fingerprint(replayed) == fingerprint(game)
    assert [(s.id, s.reason, s.winner) for s in game.history] == [
        (1, "time", "mars"),  # c's clicks were revoked; b's stay on mars after the move
        (2, "target", "earth"),
    ]


async def test_refused_commands_change_nothing_and_replay_to_the_same_refusal(
    running: Running,
) -> None:
    """A refused push or admin move is written ahead like any mutation, bumps no version,
    publishes nothing, and is refused again when its record is replayed."""
    actor = running.actor
    await create_players(actor, ["a"])
    for batch_id in ("b0", "b01", "b1"):  # the push bucket's 3 pushes
        await actor.call(push_cmd("a", batch_id, [5]))
    running.journal.clear()
    version, board = running.state.version, actor.board
    refused: list[Command] = [
        push_cmd("a", "bad id", [5]),
        push_cmd("a", "b2", [0]),
        MovePlayer(player_id="a", planet="pluto"),
        Rename(player_id="a", name=""),
    ]
    for cmd in refused:
        with pytest.raises(InvalidRequest):
            await actor.call(cmd)
    assert ops(running.records()) == ["push", "push", "move_player", "rename"]
    for record in running.records():
        with pytest.raises(GameError):
            commands.apply(running.state, record)
    assert running.state.version == version
    assert actor.board is board


@pytest.mark.parametrize(
    ("raw", "details"),
    [
        ({"op": "no_such_op"}, {"field": "op"}),
        ({"op": "push", "player_id": "a", "batch_id": "b1"}, {"field": "clicks"}),
        ({"op": "push", "player_id": "a", "batch_id": "b1", "clicks": ["5"]}, {"field": "clicks"}),
        ({"op": "rename", "player_id": "a", "name": "A", "colour": "red"}, {"fields": ["colour"]}),
    ],
)
async def test_a_dict_that_fits_no_command_is_refused_before_the_journal(
    running: Running, raw: dict[str, Any], details: dict[str, Any]
) -> None:
    """A plain dict is read into its typed command at the actor's edge; one that fits none is an
    invalid request naming the field, and nothing of it reaches the journal or the state."""
    await create_players(running.actor, ["a"])
    running.journal.clear()
    version = running.state.version
    with pytest.raises(InvalidRequest) as refused:
        await running.actor.call(raw)
    assert {k: v for k, v in refused.value.details.items() if k != "at"} == details
    assert running.records() == [] and running.state.version == version


async def test_a_dict_that_fits_is_the_same_command_as_the_typed_one(running: Running) -> None:
    """During the transition a command dict is journaled and applied as its typed command."""
    await running.actor.call({"op": "create_player", "player_id": "a", "name": "Ann"})
    result = await running.actor.call(
        {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [5]}
    )
    assert (result.accepted, result.score) == (5, 5)
    [created, pushed] = running.records()
    assert created == CreatePlayer(player_id="a", name="Ann", now=T0)
    assert pushed == stamped(push_cmd("a", "b1", [5]), T0)


async def test_a_no_op_mutation_changes_no_version_and_publishes_nothing(
    running: Running,
) -> None:
    """A duplicate push or a move to the same planet leaves the version and the board alone."""
    actor = running.actor
    await create_players(actor, ["a"])
    first = await actor.call(push_cmd("a", "b1", [5]))
    version, board = running.state.version, actor.board
    again = await actor.call(push_cmd("a", "b1", [5]))
    await actor.call(MovePlayer(player_id="a", planet="earth"))
    assert again.duplicate and again.accepted == first.accepted
    assert running.state.version == version and actor.board is board


async def test_queries_are_not_journaled(running: Running) -> None:
    """me, leaderboard and rounds queries write no record and publish no board."""
    actor = running.actor
    await create_players(actor, ["a"])
    running.journal.clear()
    board = actor.board
    me = await actor.call(GetMe(player_id="a"))
    top = await actor.call(GetLeaderboard(scope="all"))
    history = await actor.call(GetRounds())
    assert (me["id"], top["total"], history) == ("a", 0, [])
    assert running.records() == []
    assert actor.board is board


async def test_between_turns_runs_after_the_turns_commands_without_a_record(
    running: Running,
) -> None:
    """between_turns(fn) sees every command of its turn applied, even those queued after it,
    and is not journaled."""
    actor = running.actor
    counted = asyncio.ensure_future(actor.between_turns(lambda state: len(state.players)))
    created = asyncio.ensure_future(actor.call(CreatePlayer(player_id="a")))
    await asyncio.gather(counted, created)
    assert counted.result() == 1
    assert ops(running.records()) == ["create_player"]


async def test_a_bug_in_a_command_reaches_its_caller_and_the_actor_lives_on(
    running: Running, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that raises a non-game error fails only its own caller; the next call works."""

    def broken(state: GameState, cmd: Rename) -> None:
        raise KeyError(cmd.player_id)

    await create_players(running.actor, ["a"])
    monkeypatch.setitem(commands.MUTATIONS, Rename, broken)
    with caplog.at_level(logging.ERROR, logger="ctb.actor"), pytest.raises(KeyError):
        await running.actor.call(Rename(player_id="a", name="Ann"))
    assert running.actor.running
    await create_players(running.actor, ["b"])
    assert "b" in running.state.players


async def test_stop_finishes_the_messages_already_queued(clock: FakeClock) -> None:
    """Messages cast before stop are all applied before the task ends."""
    game = started_game()
    actor = Actor(game, clock, tick_interval=None)
    actor.start()
    for i in range(5):
        actor.cast(CreatePlayer(player_id=f"p{i}"))
    await actor.stop()
    assert not actor.running
    assert sorted(game.players) == [f"p{i}" for i in range(5)]
