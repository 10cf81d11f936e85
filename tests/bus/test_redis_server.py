"""The test's own Redis (``tests/redis_server.py``): stopped and started again on its port."""

from __future__ import annotations

import redis

from tests.redis_server import RedisServer


def test_a_restarted_redis_answers_on_the_same_port_and_starts_empty(
    redis_server: RedisServer,
) -> None:
    """No persistence: what the first server held is gone after the restart, the port is not."""
    port = redis_server.port
    with redis.Redis(port=port, socket_timeout=2) as client:
        client.set("k", "v")
        redis_server.restart()
        assert redis_server.port == port and redis_server.running
        assert client.get("k") is None
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
