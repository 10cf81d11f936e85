"""The bus's writing connection against a real Redis (SPEC §11): batching, caps, outages.

Writes made in one pass of the event loop leave as one pipeline; items appended to a stream in
one pass become one capped entry; a Redis that is gone is answered ``Unavailable`` at once, not
waited on, and the writer finds Redis again by itself when it comes back on the same port.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from redis.exceptions import ResponseError

from bus.redis_io import ENTRY_FIELD, MAX_ITEMS, Health, Writer
from engine.errors import Unavailable
from tests.bus.conftest import eventually
from tests.redis_server import RedisServer

encode_items = msgspec.msgpack.encode


async def test_writes_made_in_one_pass_leave_as_one_pipeline(writer: Writer, plain: Any) -> None:
    """Many writes queued without yielding cost one round trip, each with its own reply."""
    futures = [writer.command("INCRBY", "n", k) for k in range(1, 51)]
    replies = await asyncio.gather(*futures)
    assert replies == [k * (k + 1) // 2 for k in range(1, 51)]
    assert (writer.pipelines, writer.commands) == (1, 50)
    assert await plain.get("n") == b"1275"


async def test_writes_queued_while_a_pipeline_is_out_go_in_the_next(writer: Writer) -> None:
    """Writes of later passes do not wait for a timer: each pass that wrote gets a pipeline."""
    first = writer.command("SET", "a", 1)
    await asyncio.sleep(0)  # the writer task takes the first pass's write
    second = [writer.command("SET", "b", k) for k in range(10)]
    await asyncio.gather(first, *second)
    assert writer.pipelines == 2 and writer.largest == 10


async def test_a_refused_command_fails_only_its_own_caller(writer: Writer) -> None:
    """Redis's error for one command of a pipeline reaches that caller; the others pass."""
    await writer.call("SET", "text", "x")
    ok, refused = writer.command("SET", "k", 1), writer.command("INCR", "text")
    assert await ok is True
    with pytest.raises(ResponseError):
        await refused
    assert writer.refused == 1


async def test_items_appended_in_one_pass_become_one_capped_entry(
    writer: Writer, plain: Any
) -> None:
    """The items queued for a stream by the time it is written make one entry, and the stream
    stays near its cap."""
    stream = writer.appender("s", 10, encode_items)
    for n in range(3):
        stream.add(n)
    stream.extend([3, 4])
    await writer.drain()
    entries = await plain.xrange("s", count=10)
    assert [msgspec.msgpack.decode(fields[ENTRY_FIELD]) for _, fields in entries] == [
        [0, 1, 2, 3, 4]
    ]
    for n in range(1000):
        stream.add(n)
        await writer.drain()  # one entry each
    # MAXLEN ~ trims whole nodes of the stream (100 entries each by default): near the cap.
    assert await plain.xlen("s") <= 10 + 100
    [(_, newest)] = await plain.xrevrange("s", count=1)
    assert msgspec.msgpack.decode(newest[ENTRY_FIELD]) == [999]


async def test_a_stopped_redis_is_refused_at_once_and_found_again(
    redis_server: RedisServer, writer: Writer, health: Health, plain: Any
) -> None:
    """With Redis gone a write fails fast and later ones are refused at once with Unavailable;
    once Redis is back on its port the writer reaches it again by itself."""
    await writer.call("SET", "before", 1)
    redis_server.stop(kill=True)
    with pytest.raises(Unavailable) as first:
        await asyncio.wait_for(writer.call("SET", "during", 1), 10)
    assert first.value.retry_after is not None and first.value.retry_after > 0
    assert not health.reachable and health.outages == 1
    with pytest.raises(Unavailable):
        writer.command("SET", "during", 2)  # refused without waiting on anything
    redis_server.start()
    await eventually(lambda: health.reachable)
    assert await writer.call("SET", "after", 1) is True
    assert await plain.get("after") == b"1"


async def test_items_lost_in_an_outage_are_reported_to_their_owner(
    redis_server: RedisServer, health: Health
) -> None:
    """An entry whose write failed is handed back, so its callers hear now, not at a timeout."""
    from bus.redis_io import connect

    lost: list[list[int]] = []
    writer = Writer(connect(redis_server.url, "w", 1.0), health)
    writer.start()
    stream = writer.appender("s", 100, encode_items, lambda items, error: lost.append(items))
    try:
        stream.add(1)
        await writer.drain()
        redis_server.stop(kill=True)
        stream.add(2)
        stream.add(3)
        await eventually(lambda: bool(lost))
        assert lost == [[2, 3]] and writer.lost == 1
        with pytest.raises(Unavailable):
            stream.add(4)
    finally:
        await writer.close(1.0)


async def test_a_redis_that_hangs_is_given_up_on_within_the_bound(
    redis_server: RedisServer, writer: Writer, health: Health
) -> None:
    """A frozen Redis reports no error; the reply's time bound turns it into Unavailable, and
    the writer comes back by itself once Redis answers again."""
    await writer.call("SET", "before", 1)
    redis_server.freeze()
    try:
        with pytest.raises(Unavailable):
            await asyncio.wait_for(writer.call("SET", "during", 1, timeout=5.0), 10)
        assert not health.reachable
    finally:
        redis_server.thaw()
    await eventually(lambda: health.reachable)
    assert await writer.call("GET", "before") == b"1"


async def test_a_pass_larger_than_an_entry_is_split_in_order(writer: Writer, plain: Any) -> None:
    """More items than one entry holds go out as several entries, none over the limit."""
    stream = writer.appender("s", 100, encode_items)
    stream.extend(list(range(MAX_ITEMS * 2 + 5)))
    await writer.drain()
    entries = [msgspec.msgpack.decode(f[ENTRY_FIELD]) for _, f in await plain.xrange("s")]
    assert [len(items) for items in entries] == [MAX_ITEMS, MAX_ITEMS, 5]
    assert [n for items in entries for n in items] == list(range(MAX_ITEMS * 2 + 5))


async def test_an_entry_redis_refuses_is_handed_back_to_its_owner(writer: Writer) -> None:
    """Items whose XADD Redis answers with an error are reported lost, not left waiting."""
    lost: list[tuple[list[int], str]] = []
    await writer.call("SET", "s", "not a stream")
    stream = writer.appender("s", 10, encode_items, lambda items, e: lost.append((items, str(e))))
    stream.extend([1, 2])
    await writer.drain()
    assert [items for items, _ in lost] == [[1, 2]] and "WRONGTYPE" in lost[0][1]
