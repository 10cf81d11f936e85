"""What the actor tests share: a game in round 1, an actor journaling to a list, and helpers.

Every test runs a real ``Actor`` on the test's event loop with a ``FakeClock`` and no ticker
(``tick_interval=None``): time moves only by ``clock.jump`` and ticks are sent by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine import commands
from engine.command_types import Command, CreatePlayer, Push, Tick, op
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0

PLANETS = ["earth", "mars"]


def started_game(rules: Rules | None = None) -> GameState:
    """A game whose first round started at ``T0`` (the same start for actor and reference)."""
    game = new_state(rules or Rules(), PLANETS)
    commands.apply(game, Tick(now=T0))
    return game


def push_cmd(player_id: str, batch_id: str, clicks: list[int]) -> Push:
    return Push(player_id=player_id, batch_id=batch_id, clicks=clicks)


def outcome(value: Any) -> Any:
    """A reply as a comparable value: the result itself, or the error's type and message."""
    if isinstance(value, BaseException):
        return (type(value).__name__, str(value))
    return value.to_dict() if hasattr(value, "to_dict") else value


def ops(records: list[Command]) -> list[str]:
    return [op(record) for record in records]


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
    await asyncio.gather(*(actor.call(CreatePlayer(player_id=p)) for p in ids))
