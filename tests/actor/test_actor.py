"""The actor (SPEC §2): one owner of the state, group commit, an immutable published board.

Every test runs a real ``Actor`` on the test's event loop with a ``FakeClock`` and no ticker
(``tick_interval=None``): time moves only by ``clock.jump`` and ticks are sent by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import random
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine import commands
from engine.errors import GameError, InvalidRequest, RoundNotActive, Unavailable
from engine.rules import Rules
from engine.state import GameState, new_state
from engine.view import Board, build_board
from persistence.errors import JournalError
from tests.conftest import T0, fingerprint

Command = dict[str, Any]
PLANETS = ["earth", "mars"]


def started_game(rules: Rules | None = None) -> GameState:
    """A game whose first round started at ``T0`` (the same start for actor and reference)."""
    game = new_state(rules or Rules(), PLANETS)
    commands.apply(game, {"op": "tick", "now": T0})
    return game


def push_cmd(player_id: str, batch_id: str, clicks: list[int]) -> Command:
    return {"op": "push", "player_id": player_id, "batch_id": batch_id, "clicks": clicks}


def outcome(value: Any) -> Any:
    """A reply as a comparable value: the result itself, or the error's type and message."""
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value))
    return value.to_dict() if hasattr(value, "to_dict") else value


@dataclasses.dataclass
class Running:
    actor: Actor
    state: GameState
    clock: FakeClock
    journal: list[list[Command]]

    def records(self) -> list[Command]:
        return [record for turn in self.journal for record in turn]


@pytest.fixture
async def running(clock: FakeClock) -> AsyncIterator[Running]:
    """A started actor over a game in round 1, journaling each turn's records to a list."""
    journal: list[list[Command]] = []
    game = started_game()
    actor = Actor(game, clock, on_commit=journal.append, tick_interval=None)
    actor.start()
    yield Running(actor, game, clock, journal)
    await actor.stop()


async def create_players(actor: Actor, ids: list[str]) -> None:
    await asyncio.gather(*(actor.call({"op": "create_player", "player_id": p}) for p in ids))


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
    script: list[list[Command]] = [[{"op": "create_player", "player_id": p} for p in players]]
    for step in range(8):
        cmds = [push_cmd(p, f"s{step}", [rng.randint(1, 200)]) for p in players]
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
                expected.append(outcome(commands.apply(reference, {**cmd, "now": now})))
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
    ops = [[(r["op"], r.get("player_id")) for r in turn] for turn in journal]
    assert ops == [
        [("create_player", "a"), ("create_player", "b"), ("create_player", "c")],
        [("push", "a"), ("push", "b"), ("push", "c")],
    ]
    assert all(r["now"] == T0 + 1 for r in journal[1])


async def test_replaying_the_journal_rebuilds_an_equal_state(clock: FakeClock) -> None:
    """Records handed to on_commit, applied to a fresh game, rebuild the same scores and boards."""
    journal: list[list[Command]] = []
    game = new_state(Rules(), PLANETS)  # no round yet: the actor's first turn ticks it in
    actor = Actor(game, clock, on_commit=journal.append, tick_interval=None)
    actor.start()
    call = actor.call
    await create_players(actor, ["a", "b", "c", "d"])
    await call({"op": "rename", "player_id": "a", "name": "Ann"})
    for step in range(6):
        clock.jump(0.6)
        await asyncio.gather(
            *(call(push_cmd(p, f"b{step}", [40 + step])) for p in ["a", "b", "c", "d"]),
            call(push_cmd("a", f"b{step}", [1])),  # a retry: duplicate
            call(push_cmd("b", f"z{step}", [1])),  # refused once b's push bucket is empty
            return_exceptions=True,
        )
    await call({"op": "move_player", "player_id": "b", "planet": "earth"})
    clock.jump(0.6)
    await call(push_cmd("b", "moved", [7]))
    revoked = await call({"op": "ban", "player_id": "c", "revoke_round_clicks": True})
    await call({"op": "reset_score", "player_id": "d"})
    await call({"op": "queue_round", "target": 50, "seconds": 30})
    clock.jump(700)  # round 1 times out and the break is over: the queued round starts
    await call({"op": "online", "delta": 1})
    await call(push_cmd("a", "late", [60]))  # wins the queued round at once
    await actor.stop()
    records = [record for turn in journal for record in turn]
    assert [r["op"] for r in records].count("tick") == 2
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


async def test_a_published_board_never_changes(running: Running) -> None:
    """A board held by a reader stays equal to a deep copy taken when it was published."""
    actor, clock = running.actor, running.clock
    await create_players(actor, ["a", "b"])
    await actor.call(push_cmd("a", "b1", [30]))
    held = actor.board
    taken = copy.deepcopy(held)
    assert hash(held) == hash(taken)  # hashable all the way down: tuples and frozen records
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.online = 99  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.planets[0].total = 99  # type: ignore[misc]
    clock.jump(1)
    await actor.call(push_cmd("a", "b2", [40]))
    await actor.call(push_cmd("b", "b1", [50]))
    await actor.call({"op": "online", "delta": 3})
    await actor.call({"op": "rename", "player_id": "a", "name": "Changed"})
    clock.jump(600)
    await actor.call({"op": "tick"})
    assert actor.board is not held
    assert actor.board.version > held.version
    assert held == taken
    assert held.top_all[0].name == "player-a" and held.top_all[0].score == 30
    assert held.round.status == "active" and held.online == 0


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
    refused: list[tuple[Command, type[GameError]]] = [
        (push_cmd("a", "bad id", [5]), InvalidRequest),
        (push_cmd("a", "b2", [0]), InvalidRequest),
        ({"op": "move_player", "player_id": "a", "planet": "pluto"}, InvalidRequest),
        ({"op": "rename", "player_id": "a", "name": ""}, InvalidRequest),
        ({"op": "no_such_op"}, InvalidRequest),
    ]
    for cmd, error in refused:
        with pytest.raises(error):
            await actor.call(cmd)
    assert [r["op"] for r in running.records()] == ["push", "push", "move_player", "rename"]
    for record in running.records():
        with pytest.raises(GameError):
            commands.apply(running.state, record)
    assert running.state.version == version
    assert actor.board is board


async def test_a_no_op_mutation_changes_no_version_and_publishes_nothing(
    running: Running,
) -> None:
    """A duplicate push or a move to the same planet leaves the version and the board alone."""
    actor = running.actor
    await create_players(actor, ["a"])
    first = await actor.call(push_cmd("a", "b1", [5]))
    version, board = running.state.version, actor.board
    again = await actor.call(push_cmd("a", "b1", [5]))
    await actor.call({"op": "move_player", "player_id": "a", "planet": "earth"})
    assert again.duplicate and again.accepted == first.accepted
    assert running.state.version == version and actor.board is board


async def test_queries_are_not_journaled(running: Running) -> None:
    """me, leaderboard and rounds queries write no record and publish no board."""
    actor = running.actor
    await create_players(actor, ["a"])
    running.journal.clear()
    board = actor.board
    me = await actor.call({"op": "me", "player_id": "a"})
    top = await actor.call({"op": "leaderboard", "scope": "all"})
    history = await actor.call({"op": "rounds"})
    assert (me["id"], top["total"], history) == ("a", 1, [])
    assert running.records() == []
    assert actor.board is board


async def test_between_turns_runs_after_the_turns_commands_without_a_record(
    running: Running,
) -> None:
    """between_turns(fn) sees every command of its turn applied, even those queued after it,
    and is not journaled."""
    actor = running.actor
    counted = asyncio.ensure_future(actor.between_turns(lambda state: len(state.players)))
    created = asyncio.ensure_future(actor.call({"op": "create_player", "player_id": "a"}))
    await asyncio.gather(counted, created)
    assert counted.result() == 1
    assert [r["op"] for r in running.records()] == ["create_player"]


async def test_online_count_changes_publish_a_new_board(running: Running) -> None:
    """Each change of the online count publishes a board with the new count; no change, no board."""
    actor = running.actor
    first = actor.board
    assert await actor.call({"op": "online", "delta": 2}) == 2
    assert actor.board.online == 2 and actor.board.version == first.version + 1
    assert await actor.call({"op": "online", "delta": -1}) == 1
    assert actor.board.online == 1
    await actor.call({"op": "online", "delta": -1})
    zero = actor.board
    assert await actor.call({"op": "online", "delta": -5}) == 0  # never below zero
    assert actor.board is zero
    assert running.records() == []


async def test_a_tick_past_ends_at_finishes_then_the_break_starts_the_next(
    running: Running,
) -> None:
    """Subscribers get 'finished' when a tick passes ends_at and 'started' after the break."""
    actor, clock = running.actor, running.clock
    seen: list[tuple[Board, list[dict[str, Any]]]] = []
    actor.subscribe(lambda board, events: seen.append((board, events)))
    await create_players(actor, ["a", "b"])
    await actor.call(push_cmd("a", "b1", [30]))
    seen.clear()
    clock.jump(599.9)
    await actor.call({"op": "tick"})
    assert seen == []  # nothing due: no board, no event
    clock.jump(0.1)
    await actor.call({"op": "tick"})
    [(board, events)] = seen
    assert [e["event"] for e in events] == ["finished"]
    assert events[0]["data"]["winner"] == "earth" and events[0]["data"]["reason"] == "time"
    assert (board.round.status, board.round.next_round_at) == ("finished", T0 + 610)
    clock.jump(10)
    await actor.call({"op": "tick"})
    board, events = seen[-1]
    assert [e["event"] for e in events] == ["started"]
    assert events[0]["data"]["id"] == 2
    assert (board.round.id, board.round.status, board.round.ends_at) == (2, "active", T0 + 1210)
    assert [r["op"] for r in running.records()].count("tick") == 2


async def test_a_cast_tick_is_applied_in_order(running: Running) -> None:
    """A tick cast without waiting is applied before a later call in the same mailbox."""
    running.clock.jump(600)
    running.actor.cast({"op": "tick"})
    summary = await running.actor.call({"op": "rounds"})
    assert [s["id"] for s in summary] == [1]


async def test_a_mutation_after_ends_at_ticks_first(running: Running) -> None:
    """A push arriving after ends_at finds the round finished; the tick is journaled before it."""
    actor = running.actor
    await create_players(actor, ["a"])
    running.journal.clear()
    running.clock.jump(600)
    with pytest.raises(RoundNotActive):
        await actor.call(push_cmd("a", "b1", [5]))
    assert [r["op"] for r in running.records()] == ["tick", "push"]
    assert running.records()[0]["now"] == T0 + 600
    assert actor.board.round.status == "finished"


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
            actor.call({"op": "create_player", "player_id": "c"}),
            actor.call({"op": "me", "player_id": "a"}),
            return_exceptions=True,
        )
    assert isinstance(replies[0], Unavailable) and replies[0].code == "unavailable"
    assert isinstance(replies[1], Unavailable)
    assert replies[2]["score"] == 5
    assert game.version == version and actor.board is board
    assert sorted(game.players) == ["a", "b"] and game.current.status == "active"
    fail = False
    await actor.call({"op": "tick"})
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
    assert [r["op"] for turn in commits for r in turn].count("push") == 1


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
                await actor.call({"op": "create_player", "player_id": f"p{i}"})
        failing = False
        await actor.call({"op": "create_player", "player_id": "ok"})
    await actor.stop()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    [recovered] = [r for r in caplog.records if getattr(r, "event", None) == "journal_recovered"]
    assert recovered.failed_turns == 30


async def test_a_bug_in_a_command_reaches_its_caller_and_the_actor_lives_on(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A command that raises a non-game error fails only its own caller; the next call works."""
    with caplog.at_level(logging.ERROR, logger="ctb.actor"), pytest.raises(KeyError):
        await running.actor.call({"op": "push", "player_id": "a"})  # no batch_id: a KeyError
    assert running.actor.running
    await create_players(running.actor, ["a"])
    assert running.state.players["a"].planet == "earth"


async def test_a_failing_listener_does_not_stop_the_others(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises is logged; the next listener still gets the board."""
    got: list[int] = []

    def broken(board: Board, events: list[dict[str, Any]]) -> None:
        raise RuntimeError("boom")

    running.actor.subscribe(broken)
    running.actor.subscribe(lambda board, events: got.append(board.online))
    with caplog.at_level(logging.ERROR, logger="ctb.actor"):
        await running.actor.call({"op": "online", "delta": 1})
    assert got == [1]
    assert "board listener failed" in caplog.text


async def test_stop_finishes_the_messages_already_queued(clock: FakeClock) -> None:
    """Messages cast before stop are all applied before the task ends."""
    game = started_game()
    actor = Actor(game, clock, tick_interval=None)
    actor.start()
    for i in range(5):
        actor.cast({"op": "create_player", "player_id": f"p{i}"})
    await actor.stop()
    assert not actor.running
    assert sorted(game.players) == [f"p{i}" for i in range(5)]


async def test_the_ticker_casts_ticks_on_its_own(clock: FakeClock) -> None:
    """With a tick interval, the actor's own ticker ends a round whose time ran out."""
    game = started_game()
    actor = Actor(game, clock, tick_interval=0.001)
    finished = asyncio.Event()
    actor.subscribe(lambda board, events: finished.set() if events else None)
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
