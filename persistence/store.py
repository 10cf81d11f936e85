"""The saved game: loading it at start-up, journaling every change, writing snapshots.

(Placeholder until the persistence issue lands: it starts a fresh game and keeps nothing.)
"""

from __future__ import annotations

from actor.actor import Actor
from engine.state import GameState, new_state
from settings import Settings


class Store:
    def __init__(self, state: GameState) -> None:
        self.state = state

    def append(self, records: list[dict]) -> None:
        return None

    async def start(self, actor: Actor) -> None:
        return None

    async def close(self, actor: Actor) -> None:
        return None


def open_store(settings: Settings, planet_names: list[str]) -> Store:
    return Store(new_state(settings.rules(), planet_names))
