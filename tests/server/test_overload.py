"""Graceful overload (server/overload.py): boards slow down, new work is refused with 503."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.address_load import AddressLoad
from server.metrics import Metrics
from server.overload import CPU_SECONDS, CROWD_AFTER, MAX_STRETCH, OVERLOAD, RETRY_AFTER, Overload
from settings import Settings
from tests.server.conftest import ws_player

INTERVAL = 0.25
CPU = 0.93  # OVERLOAD_CPU


class Ticks:
    """Drives an Overload tick by tick on a fake wall clock and a fake CPU clock."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.now = 0.0
        self.cpu = 0.0
        self.overload = Overload(INTERVAL, metrics or Metrics(), CPU, cpu_clock=lambda: self.cpu)

    def tick(self, fanout: float, lag: float = 0.0, cpu_share: float = 0.2) -> float:
        self.now += INTERVAL
        self.cpu += cpu_share * INTERVAL
        return self.overload.after_tick(fanout, lag, self.now)


def gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


def test_a_fanout_that_overruns_the_interval_stretches_it_up_to_a_limit() -> None:
    """The next tick waits twice the fan-out, never less than the interval nor more than the cap."""
    ticks = Ticks()
    assert ticks.tick(0.01) == INTERVAL
    assert ticks.tick(0.2) == 0.4
    assert ticks.tick(5.0) == MAX_STRETCH * INTERVAL
    assert ticks.tick(0.01) == INTERVAL


def test_overload_starts_under_sustained_load_and_ends_once_it_is_gone() -> None:
    """One slow tick does not flip the state; several do, and quiet ticks flip it back."""
    metrics = Metrics()
    ticks = Ticks(metrics)
    overload = ticks.overload
    ticks.tick(0.3, cpu_share=0.6)
    assert not overload.active
    for _ in range(40):  # 10 s: two intervals of work and lag, tick after tick
        ticks.tick(0.3, 0.2, cpu_share=0.6)
    assert overload.active and gauge(metrics, "overloaded") == 1
    ticks.tick(0.01)
    assert overload.active  # no flapping on one quiet tick
    for _ in range(10):
        ticks.tick(0.01)
    assert not overload.active and gauge(metrics, "overloaded") == 0


def test_a_loop_late_while_the_process_is_nearly_idle_is_not_overloaded() -> None:
    """Lag with little CPU of the process's own (other processes hold the cores) refuses nobody:
    turning players away would free nothing."""
    ticks = Ticks()
    for _ in range(120):  # 30 s of ticks a whole interval late
        ticks.tick(0.02, 0.5, cpu_share=0.05)
    assert ticks.overload.load >= 1.5
    assert not ticks.overload.active


def test_a_process_near_a_whole_core_is_overloaded_before_its_ticks_run_late() -> None:
    """Sustained CPU near one core turns overload on though fan-outs are short and on time;
    a burst of one tick does not, and it ends only once the CPU has come down for a while."""
    metrics = Metrics()
    ticks = Ticks(metrics)
    overload = ticks.overload
    for _ in range(20):
        ticks.tick(0.02, cpu_share=0.5)
    ticks.tick(0.02, cpu_share=1.0)
    assert not overload.active  # one busy tick: a GC pause, a burst of handshakes
    for _ in range(120):  # 30 s
        ticks.tick(0.02, cpu_share=0.99)
    assert overload.active and overload.cpu >= CPU
    assert gauge(metrics, "cpu_share") == round(overload.cpu, 3)
    ticks.tick(0.02, cpu_share=0.3)
    assert overload.active
    for _ in range(120):
        ticks.tick(0.02, cpu_share=0.3)
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


class Flood:
    """Ticks at a full core while one address sends most of the requests."""

    def __init__(self) -> None:
        self.ticks = Ticks()
        self.addresses = AddressLoad(Settings().shed_rate, clock=lambda: self.ticks.now)
        self.ticks.overload.addresses = self.addresses

    def tick(
        self, flooder_requests: int = 200, others: int = 2, lag: float = 0.0, cpu: float = 1.0
    ) -> None:
        for _ in range(flooder_requests):
            self.addresses.note("203.0.113.66")
        for i in range(others):
            self.addresses.note(f"198.51.100.{i}")
        self.ticks.tick(0.02, lag, cpu_share=cpu)

    def until_overloaded(self, flooder_requests: int = 200, others: int = 2) -> None:
        for _ in range(int(6 * CPU_SECONDS / INTERVAL)):
            self.tick(flooder_requests, others)
            if self.ticks.overload.active:
                return
        raise AssertionError("a full core did not turn overload on")


def test_one_flooding_address_is_shed_and_new_players_elsewhere_still_get_in() -> None:
    """Overloaded by one address's requests: that address is shed, and sessions from others
    are not refused (refusal() is None) while the shedding works off the load."""
    flood = Flood()
    overload = flood.ticks.overload
    flood.until_overloaded()
    for _ in range(8):
        flood.tick()
    assert flood.addresses.shed_for("203.0.113.66") > 0
    assert flood.addresses.shed_for("198.51.100.0") == 0
    assert gauge(overload.metrics, "overload_shed_addresses") == 1
    assert overload.refusal("session") is None


def test_an_overload_that_outlasts_the_shedding_refuses_everyone() -> None:
    """Still overloaded CROWD_AFTER seconds after the flooder was shed: it is a crowd's load,
    and new sessions from everyone get 503."""
    flood = Flood()
    overload = flood.ticks.overload
    flood.until_overloaded()
    assert overload.refusal("session") is None
    for _ in range(int(CROWD_AFTER / INTERVAL) + 4):
        flood.tick()
    assert overload.active and flood.addresses.shedding()
    refused = overload.refusal("session")
    assert refused is not None and refused.status == 503


def test_an_overload_with_no_address_standing_out_refuses_everyone() -> None:
    """A crowd of modest addresses fills the core: nobody is shed, new sessions get 503."""
    flood = Flood()
    overload = flood.ticks.overload
    flood.until_overloaded(flooder_requests=0, others=40)
    flood.tick(flooder_requests=0, others=40)
    assert not flood.addresses.shedding()
    refused = overload.refusal("session")
    assert refused is not None and refused.status == 503


def test_an_overload_seen_only_in_the_loops_lag_sheds_nobody() -> None:
    """Ticks running late while the process's CPU is well under its mark: overloaded, but no
    client of ours stands out as to blame, so nobody is shed."""
    flood = Flood()
    for _ in range(40):  # 10 s
        flood.tick(lag=0.5, cpu=0.5)
    assert flood.ticks.overload.active
    assert not flood.addresses.shedding()
