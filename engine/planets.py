"""Planets (teams) and how a new player is assigned to one (SPEC §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InvalidRequest

PLANET_NAME = re.compile(r"[a-z0-9_-]{1,24}")
MIN_PLANETS, MAX_PLANETS = 2, 16


@dataclass(slots=True)
class Planet:
    name: str
    players: int = 0
    all_time: int = 0


def make_planets(names: list[str]) -> dict[str, Planet]:
    """Validate the configured planet names; refuse a set the game cannot be played with."""
    if not MIN_PLANETS <= len(names) <= MAX_PLANETS:
        raise InvalidRequest(f"need {MIN_PLANETS} to {MAX_PLANETS} planets, got {len(names)}")
    if len(set(names)) != len(names):
        raise InvalidRequest("planet names must be unique")
    for name in names:
        if not isinstance(name, str) or not PLANET_NAME.fullmatch(name):
            raise InvalidRequest(f"bad planet name {name!r}: use 1-24 of a-z 0-9 _ -")
    return {name: Planet(name) for name in names}


def pick_planet(planets: dict[str, Planet]) -> str:
    """Fewest players, then the lower all-time total, then the name: keeps teams even."""
    return min(planets.values(), key=lambda p: (p.players, p.all_time, p.name)).name
