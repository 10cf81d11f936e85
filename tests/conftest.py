"""Fixtures shared by every layer of tests: rules, a fresh game state and a fake clock."""

from __future__ import annotations

import pytest

from actor.clock import FakeClock
from engine import commands
from engine.rules import Rules
from engine.state import GameState, new_state

T0 = 1_700_000_000.0


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
    commands.apply(game, {"op": "tick", "now": T0})
    return game
