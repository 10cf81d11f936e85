"""Graceful overload (server/overload.py): boards slow down, new work is refused with 503."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.metrics import Metrics
from server.overload import MAX_STRETCH, OVERLOAD, RETRY_AFTER, Overload
from tests.server.conftest import ws_player

INTERVAL = 0.25


def gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


def test_a_fanout_that_overruns_the_interval_stretches_it_up_to_a_limit() -> None:
    """The next tick waits twice the fan-out, never less than the interval nor more than the cap."""
    overload = Overload(INTERVAL, Metrics())
    assert overload.after_tick(0.01, 0.0) == INTERVAL
    assert overload.after_tick(0.2, 0.0) == 0.4
    assert overload.after_tick(5.0, 0.0) == MAX_STRETCH * INTERVAL
    assert overload.after_tick(0.01, 0.0) == INTERVAL


def test_overload_starts_under_sustained_load_and_ends_once_it_is_gone() -> None:
    """One slow tick does not flip the state; several do, and quiet ticks flip it back."""
    metrics = Metrics()
    overload = Overload(INTERVAL, metrics)
    overload.after_tick(0.3, 0.0)
    assert not overload.active
    for _ in range(10):
        overload.after_tick(0.3, 0.2)  # two intervals of work and lag, tick after tick
    assert overload.active and gauge(metrics, "overloaded") == 1
    overload.after_tick(0.01, 0.0)
    assert overload.active  # no flapping on one quiet tick
    for _ in range(10):
        overload.after_tick(0.01, 0.0)
    assert not overload.active and gauge(metrics, "overloaded") == 0


async def test_while_overloaded_new_sessions_and_sockets_get_503_with_retry_after(
    client: TestClient,
) -> None:
    """Sessions and handshakes are refused at once; a connected player's requests still pass."""
    token, _ = await ws_player(client)
    overload = client.server.app[OVERLOAD]
    overload.active = True
    try:
        session = await client.post("/api/session", json={})
        assert session.status == 503
        assert session.headers["Retry-After"] == str(int(RETRY_AFTER))
        assert (await session.json())["error"]["code"] == "unavailable"
        handshake = await client.get(f"/ws?token={token}")
        assert handshake.status == 503 and "Retry-After" in handshake.headers
        assert (await client.get("/api/snapshot")).status == 200
    finally:
        overload.active = False
    sock = await client.ws_connect(f"/ws?token={token}")
    assert (await sock.receive_json())["type"] == "snapshot"
    await sock.close()
    metrics = client.server.app[OVERLOAD].metrics
    assert metrics.registry.get_sample_value("overload_refused_total", {"what": "ws"}) == 1
