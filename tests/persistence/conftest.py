"""The persistence tests' shared game: a store and an actor on it, with the fake clock."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine.command_types import CreatePlayer, Push, Tick
from persistence import journal
from persistence.data_dir import DataDir
from persistence.journal import segment_name
from persistence.store import Store, open_store, release_lock
from settings import Settings
from tests.conftest import T0
from tests.persistence.games import PLANETS


def segment_path(directory: Path, segment: int) -> Path:
    """Where a segment of ``directory`` is, for a test that reads or damages it by path."""
    return directory / segment_name(segment)


def frame_payloads(path: Path) -> list[bytes]:
    """The payload of every frame of a segment, the header's first, read by hand."""
    data, pos, payloads = path.read_bytes(), len(journal.MAGIC), []
    while pos < len(data):
        length, _ = journal.FRAME.unpack_from(data, pos)
        payloads.append(data[pos + journal.FRAME.size : pos + journal.FRAME.size + length])
        pos += journal.FRAME.size + length
    return payloads


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    return dataclasses.replace(
        Settings(data_dir=data_dir, snapshot_interval=3600, fsync="everysec"), **overrides
    )


class Game:
    """A store and an actor on it, with the fake clock, as ``server.app.game_ctx`` wires them."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self.store: Store = open_store(settings, PLANETS)
        self.actor = Actor(
            self.store.state,
            clock,
            on_commit=self.store.append,
            tick_interval=None,  # ticks and bulk steps are sent by hand
            bulk_pace=None,
        )

    async def start(self) -> Game:
        self.actor.start()
        await self.store.start(self.actor.between_turns)
        return self

    async def stop(self) -> None:
        await self.actor.stop()
        await self.store.close()

    def crash(self) -> None:
        """Drop everything as ``kill -9`` would: no final snapshot, no fsync, the lock freed."""
        for task in (self.actor._task, self.actor._ticker, *self.store._tasks):
            if task is not None:
                task.cancel()
        os.close(self.store.journal._fd)
        release_lock(self.store.data_dir)

    async def join(self, player_id: str) -> dict[str, Any]:
        return await self.actor.call(CreatePlayer(player_id=player_id))

    async def push(self, player_id: str, batch_id: str, clicks: list[int]) -> Any:
        self.clock.jump(0.6)
        return await self.actor.call(Push(player_id=player_id, batch_id=batch_id, clicks=clicks))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[DataDir]:
    """``tmp_path`` held open as the store holds DATA_DIR: files are named relative to it."""
    with DataDir.open(tmp_path) as held:
        yield held


@pytest.fixture
async def game(tmp_path: Path) -> AsyncIterator[Game]:
    clock = FakeClock(T0)
    game = await Game(settings_for(tmp_path / "data"), clock).start()
    await game.actor.call(Tick())
    yield game
    if game.actor.running:
        await game.stop()


async def reopen(game: Game) -> Game:
    return await Game(game.settings, game.clock).start()
