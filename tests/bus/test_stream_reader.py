"""The blocking stream reader against a real Redis (SPEC §11): bounded reads, from the last id.

It reads what was written after it started, at most ``count`` entries a read, never waits more
than ``block`` on an empty stream, and after Redis comes back empty on the same port it reads
the new stream from its start instead of waiting for ids past the old one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bus.redis_io import ENTRY_FIELD, Health, Writer, connect
from bus.stream_reader import StreamReader
from engine.errors import Unavailable
from tests.bus.conftest import TIMEOUT, eventually
from tests.redis_server import RedisServer


def reader_of(server: RedisServer, health: Health, **options: Any) -> StreamReader:
    block = options.pop("block", 0.05)
    client = connect(server.url, "test-reader", TIMEOUT, block)
    return StreamReader(client, health, "s", block=block, **options)


async def add(writer: Writer, *payloads: bytes) -> None:
    for payload in payloads:
        await writer.call("XADD", "s", "*", ENTRY_FIELD, payload)


async def test_it_reads_what_came_after_it_started_in_bounded_reads(
    redis_server: RedisServer, health: Health, writer: Writer
) -> None:
    """Entries older than the reader are not read; newer ones come at most ``count`` a read."""
    await add(writer, b"old")
    reader = reader_of(redis_server, health, count=3)
    try:
        assert await reader.read() == []  # nothing new: back after ``block``
        await add(writer, *(b"%d" % n for n in range(7)))
        reads = [await reader.read() for _ in range(4)]
        assert reads == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"], []]
        assert reader.entries == 7
    finally:
        await reader.client.aclose()


async def test_an_entry_written_between_two_reads_is_not_skipped(
    redis_server: RedisServer, health: Health, writer: Writer
) -> None:
    """The reader goes on from the id it last saw, not from "the newest now"."""
    reader = reader_of(redis_server, health)
    try:
        assert await reader.read() == []
        await add(writer, b"between")
        assert await reader.read() == [b"between"]
    finally:
        await reader.client.aclose()


async def test_a_reader_follows_through_a_redis_restart(
    redis_server: RedisServer, health: Health, writer: Writer
) -> None:
    """Redis stopped: reads fail with Unavailable; started again empty on the same port, the
    reader is handed every entry written to the new stream, none skipped."""
    reader = reader_of(redis_server, health)
    got: list[bytes] = []
    try:
        await add(writer, b"x")
        assert await reader.read() == []  # started after "x"
        await add(writer, b"a", b"b")
        follow = asyncio.create_task(reader.follow(got.extend))
        await eventually(lambda: got == [b"a", b"b"])
        redis_server.stop(kill=True)
        await eventually(lambda: not health.reachable)
        with pytest.raises(Unavailable):
            await reader_of(redis_server, Health()).read()
        redis_server.start()
        await eventually(lambda: health.reachable)
        await add(writer, b"c", b"d")
        await eventually(lambda: got == [b"a", b"b", b"c", b"d"])
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
    finally:
        await reader.client.aclose()
