"""What the bus tests share: clients of the test's own Redis, and waiting with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bus.redis_io import Health, Writer, connect
from tests.redis_server import RedisServer

TIMEOUT = 1.0  # short bounds, so a cut-off Redis shows within the test's patience
DEADLINE = 15.0


async def eventually(check: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Poll ``check`` until it holds; fail the test once ``deadline`` seconds passed."""
    give_up = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < give_up, "the condition never held"
        await asyncio.sleep(0.01)


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
async def writer(redis_server: RedisServer, health: Health) -> AsyncIterator[Writer]:
    writer = Writer(connect(redis_server.url, "test-writer", TIMEOUT), health)
    writer.start()
    yield writer
    await writer.close(TIMEOUT)


@pytest.fixture
async def plain(redis_server: RedisServer) -> AsyncIterator[object]:
    """A separate client to look at Redis as the test's own eyes."""
    client = connect(redis_server.url, "test-eyes", TIMEOUT)
    yield client
    await client.aclose()
