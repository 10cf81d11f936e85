"""The pub/sub connection against a real Redis (SPEC §11): subscribe first, then join.

``on_join`` runs only once Redis confirmed the subscription, so a publication made while the
joiner reads the latest state is not lost; after Redis is stopped and started again on the same
port the subscriber joins again by itself and publications flow as before.
"""

from __future__ import annotations

from typing import Any

from bus.redis_io import Health, Writer, connect
from bus.subscriber import Subscriber
from tests.bus.conftest import TIMEOUT, eventually
from tests.redis_server import RedisServer


async def test_a_publication_made_while_joining_is_not_lost(
    redis_server: RedisServer, health: Health, writer: Writer
) -> None:
    """What is published during ``on_join`` (while the latest state is read) is delivered."""
    got: list[tuple[bytes, bytes]] = []

    async def on_join() -> None:
        await writer.call("PUBLISH", "boards", b"during the join")

    subscriber = Subscriber(
        connect(redis_server.url, "test-sub", TIMEOUT),
        health,
        ["boards", "events"],
        lambda channel, data: got.append((channel, data)),
        on_join,
        timeout=TIMEOUT,
    )
    subscriber.start()
    try:
        await eventually(lambda: got == [(b"boards", b"during the join")])
        await writer.call("PUBLISH", "events", b"e1")
        await eventually(lambda: got[-1] == (b"events", b"e1"))
        assert subscriber.joins == 1
    finally:
        await subscriber.close()


async def test_the_subscriber_joins_again_after_redis_comes_back(
    redis_server: RedisServer, health: Health, writer: Writer
) -> None:
    """Redis stopped: the subscriber reports it; started again: it re-subscribes and re-joins."""
    got: list[Any] = []
    joined: list[int] = []
    subscriber = Subscriber(
        connect(redis_server.url, "test-sub", TIMEOUT),
        health,
        ["boards"],
        lambda channel, data: got.append(data),
        lambda: joined.append(1),
        heartbeat=0.2,
        timeout=TIMEOUT,
    )
    subscriber.start()
    try:
        await eventually(lambda: joined == [1])
        redis_server.stop(kill=True)
        await eventually(lambda: not health.reachable)
        redis_server.start()
        await eventually(lambda: joined == [1, 1] and health.reachable)
        await writer.call("PUBLISH", "boards", b"after")
        await eventually(lambda: got == [b"after"])
    finally:
        await subscriber.close()


async def test_a_quiet_subscription_notices_a_redis_that_hangs(
    redis_server: RedisServer, health: Health
) -> None:
    """With nothing published, its own ping finds a frozen Redis; it joins again once thawed."""
    joined: list[int] = []
    subscriber = Subscriber(
        connect(redis_server.url, "test-sub", TIMEOUT),
        health,
        ["boards"],
        lambda channel, data: None,
        lambda: joined.append(1),
        heartbeat=0.2,
        timeout=TIMEOUT,
    )
    subscriber.start()
    try:
        await eventually(lambda: joined == [1])
        redis_server.freeze()
        try:
            await eventually(lambda: not health.reachable)
        finally:
            redis_server.thaw()
        await eventually(lambda: joined == [1, 1] and health.reachable)
    finally:
        await subscriber.close()
