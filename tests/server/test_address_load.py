"""Requests per client address and shedding the heaviest (server/address_load.py), on a fake
clock; and a shed address's request refused through the real app."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.address_load import ADDRESS_LOAD, SHED_SECONDS, WINDOW, AddressLoad
from settings import Settings
from tests.server.conftest import metric

SHED_RATE = Settings().shed_rate


def loaded(clock: FakeClock, per_address: dict[str, int]) -> AddressLoad:
    """An AddressLoad that has seen one whole window of these request counts."""
    load = AddressLoad(SHED_RATE, clock=clock.now)
    for key, count in per_address.items():
        for _ in range(count):
            load.note(key)
    clock.jump(WINDOW)
    return load


def test_an_address_with_most_of_the_requests_is_shed_for_a_while() -> None:
    """Over a quarter of the requests and 50 a second: shed, and no longer after SHED_SECONDS
    unless renewed."""
    clock = FakeClock(0.0)
    load = loaded(clock, {"203.0.113.1": 400, "198.51.100.7": 20, "198.51.100.8": 3})
    assert load.shed_heavy() == ["203.0.113.1"]
    assert load.shedding()
    assert load.shed_for("203.0.113.1") == SHED_SECONDS
    assert load.shed_for("198.51.100.7") == 0
    assert load.shed_heavy() == []  # renewed, not newly shed
    clock.jump(SHED_SECONDS)
    assert load.shed_for("203.0.113.1") == 0 and not load.shedding()


def test_a_crowd_of_modest_addresses_sheds_no_one() -> None:
    """Many addresses, none with a quarter of the requests: nobody stands out to be shed."""
    clock = FakeClock(0.0)
    load = loaded(clock, {f"198.51.100.{i}": 60 for i in range(10)})
    assert load.shed_heavy() == [] and not load.shedding()


def test_a_busy_but_slow_address_is_not_shed() -> None:
    """The only client, but under 50 requests a second: not a flood, never shed."""
    clock = FakeClock(0.0)
    load = loaded(clock, {"203.0.113.1": int(49 * WINDOW)})
    assert load.shed_heavy() == []


def test_shed_rate_0_sheds_no_one() -> None:
    """SHED_RATE=0 (a load test from one machine): even the only, busiest address stays."""
    clock = FakeClock(0.0)
    load = AddressLoad(shed_rate=0, clock=clock.now)
    for _ in range(10_000):
        load.note("127.0.0.1")
    clock.jump(WINDOW)
    assert load.shed_heavy() == []


def test_the_window_of_a_past_flood_is_forgotten_after_a_quiet_gap() -> None:
    """Requests long past (a window and more of silence) shed nobody."""
    clock = FakeClock(0.0)
    load = loaded(clock, {"203.0.113.1": 1000})
    clock.jump(2 * WINDOW)
    load.note("198.51.100.1")
    assert load.shed_heavy() == []


async def test_a_shed_address_gets_429_and_the_connection_closes(client: TestClient) -> None:
    """A shed address's request is refused with 429, Retry-After and Connection: close."""
    load = client.server.app[ADDRESS_LOAD]
    load.shed["127.0.0.1"] = load.clock() + 5.0
    response = await client.get("/api/snapshot")
    assert response.status == 429
    assert response.headers["Connection"] == "close"
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"]["code"] == "rate_limited"
    assert metric(client, "overload_refused_total", what="shed_request") == 1
    del load.shed["127.0.0.1"]
    assert (await client.get("/api/snapshot")).status == 200
