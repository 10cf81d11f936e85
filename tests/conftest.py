"""Fixtures shared by every layer of tests: rules, a fresh game state and a fake clock.

Besides the fixtures, a few plain helpers live here so engine and actor tests speak the same
language: ``add_player`` and ``push`` apply one command; ``apply_command`` and ``run_query`` take
a typed command or its dict shorthand (read by ``command_types.parse``, as the actor reads one);
``fingerprint`` turns a whole game state into comparable plain values (for "nothing changed" and
"replay rebuilds the same state"). ``redis_server`` is a real ``redis-server`` of the test's own
(``tests/redis_server.py``), for the bus and the many-process mode (SPEC §11).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actor.clock import FakeClock
from engine import command_types, commands
from engine.clicks import PushResult
from engine.command_types import Command, CreatePlayer, Push, Tick
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.redis_server import RedisServer

T0 = 1_700_000_000.0

StateFactory = Callable[..., GameState]


def run_in_child(scenario: Callable[[], str]) -> str:
    """Run ``scenario`` in a forked child; return what it returned, or the error it raised.

    For steps that must not touch the test process itself: dropping to another user, or a
    file-size limit that would also stop pytest writing its own files.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe and never return into pytest
        outcome = "the scenario did not finish"
        try:
            outcome = scenario()
        except BaseException as error:
            outcome = f"raised {type(error).__name__}: {error}"
        finally:
            os.write(write_end, outcome.encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A running ``redis-server`` on a free port, stopped after the test."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def rules() -> Rules:
    return Rules()


@pytest.fixture
def state(rules: Rules) -> GameState:
    """A game whose first round started at ``T0``."""
    game = new_state(rules, ["earth", "mars"])
    commands.apply(game, Tick(now=T0))
    return game


@pytest.fixture
def make_state() -> StateFactory:
    """Build a game with some rules overridden; its first round starts at ``T0``."""

    def build(planets: list[str] | None = None, **overrides: Any) -> GameState:
        game = new_state(Rules(**overrides), planets or ["earth", "mars"])
        commands.apply(game, Tick(now=T0))
        return game

    return build


def add_player(
    state: GameState, player_id: str, name: str | None = None, now: float = T0
) -> dict[str, Any]:
    """Create a player through the command table; returns the player object."""
    return commands.apply(state, CreatePlayer(player_id=player_id, name=name, now=now))


def push(state: GameState, player_id: str, batch_id: str, clicks: Any, now: float) -> PushResult:
    """Apply one push through the command table (``clicks`` as given, even of the wrong type:
    the engine checks the shape again)."""
    return commands.apply(
        state, Push(player_id=player_id, batch_id=batch_id, clicks=clicks, now=now)
    )


def apply_command(state: GameState, cmd: Command | dict[str, Any]) -> Any:
    """Apply one mutation; a dict is read into its typed command first."""
    return commands.apply(state, command_types.parse(cmd) if isinstance(cmd, dict) else cmd)


def run_query(state: GameState, cmd: Command | dict[str, Any]) -> Any:
    """Run one query; a dict is read into its typed command first."""
    return commands.query(state, command_types.parse(cmd) if isinstance(cmd, dict) else cmd)


def fingerprint(state: GameState) -> dict[str, Any]:
    """The whole state as plain values (the actor's outbox left out): equal states, equal prints."""
    return {
        "rules": dataclasses.asdict(state.rules),
        "players": {pid: dataclasses.asdict(p) for pid, p in state.players.items()},
        "planets": {name: dataclasses.asdict(p) for name, p in state.planets.items()},
        "current": None if state.current is None else dataclasses.asdict(state.current),
        "queue": [dataclasses.asdict(r) for r in state.queue],
        "history": [dataclasses.asdict(s) for s in state.history],
        "next_round_id": state.next_round_id,
        "next_round_at": state.next_round_at,
        "seq": state.seq,
        "version": state.version,
        "audit": list(state.audit),
        "bans": {pid: dataclasses.asdict(b) for pid, b in state.bans.items()},
        "names": {pid: [dataclasses.asdict(n) for n in ns] for pid, ns in state.names.items()},
        "all_board": list(state.all_board),
        "round_board": list(state.round_board),
    }
