"""Graceful overload: the players already connected keep playing when the loop cannot keep up.

One event loop does everything: acks, boards, new handshakes. When it falls behind, the worst
outcome is the one measured at 10,000 clients before this: every part slows down together,
handshakes time out half-done, boards come seconds late and the pushes behind them are refused.
So the broadcaster reports each tick how long its fan-out took and how late the tick woke up
(the loop's lag), and this module turns that into two decisions:

- **boards slow down first.** The next tick waits ``max(BROADCAST_INTERVAL, 2 * fan-out)``, at
  most ``MAX_STRETCH`` times the interval, so at least half the loop stays with acks and reads.
  Every board still carries the latest totals (SPEC §6), only fewer of them go out.
- **new work is refused early.** While overloaded, ``POST /api/session`` and new WebSocket
  handshakes get 503 ``unavailable`` with ``Retry-After`` before any token check or actor call:
  a quick answer the client can act on, instead of a handshake that times out.

Overloaded means either of two smoothed figures is high:

- the tick's load, (fan-out + lag) / interval, at least ``ENTER``: the loop is already late,
  and the process itself uses at least ``LAG_NEEDS_CPU`` of a core (a loop late because other
  processes hold the cores is not helped by refusing players);
- the process's CPU, averaged over ``CPU_SECONDS``, at least ``OVERLOAD_CPU`` (0.93) of one
  core: one event loop has one core, and the last part of it is what answers a new connection
  quickly. Lag alone comes too late: at 10,000 clients it grew only once the loop was
  saturated, and by then handshakes waited until the clients gave up (timeouts, not 503s).

It ends when both are under their marks less a margin (``LEAVE``, ``CPU_MARGIN``), so the state
does not flap. The gauge ``overloaded`` shows it, ``cpu_share`` the process's smoothed CPU,
``broadcast_interval_seconds`` the interval in use and ``overload_refused_total{what}`` the
refusals.

**One address cannot trip it for everyone.** Neither figure says whose work fills the core, so
each tick of an overload with the process's CPU over its mark (less the margin) first sheds
the addresses that send most of the requests (``server/address_load.py``): their requests and
connections get 429. While an address is shed, new sessions and sockets from the others are
*not* refused: the load is the shed address's, and shedding it is what takes it off. Only if
the overload outlasts ``CROWD_AFTER`` seconds of shedding, or no address stands out, is the
load a crowd's, and new work from everyone gets 503. An overload seen only in the loop's lag
(a machine whose other processes take the cores) sheds nobody: no client of ours caused it.
``overload_shed_addresses`` counts the addresses shed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from engine.errors import Unavailable
from server.address_load import AddressLoad
from server.errors import http_error
from server.metrics import Metrics

log = logging.getLogger("ctb.server")

# A loop that merely shares its cores (other processes, a burst of handshakes) lags a little;
# one that cannot keep up lags by whole intervals, tick after tick.
ENTER = 1.5  # a tick's work and lag take one and a half intervals, on average
LEAVE = 0.75
LAG_NEEDS_CPU = 0.25  # share of one core the process must use for its lag to mean overload
SMOOTHING = 0.3  # weight of the newest tick in the average
MAX_STRETCH = 2.0  # boards at least every 2 * BROADCAST_INTERVAL (4 a second → 2)
RETRY_AFTER = 2.0
CPU_MARGIN = 0.15  # overload ends at OVERLOAD_CPU less this
# The CPU's average is over about this many seconds: a burst of handshakes (5,000 clients joining
# at 200 a second) lifts it for a few seconds, more clients than the core holds for good.
CPU_SECONDS = 8.0
# Shedding has had this long (several CPU_SECONDS) to take the load off: an overload that lasts
# longer is not the shed addresses' alone.
CROWD_AFTER = 30.0


@dataclass(slots=True)
class Overload:
    interval: float  # BROADCAST_INTERVAL
    metrics: Metrics
    cpu_enter: float = 0.93  # OVERLOAD_CPU, a share of one core
    cpu_clock: Callable[[], float] = time.process_time  # the process's CPU seconds
    addresses: AddressLoad | None = None  # requests per client address; sheds the heaviest
    load: float = 0.0
    cpu: float = 0.0  # smoothed share of one core
    active: bool = False
    current: float = 0.0  # the interval in use
    _last: tuple[float, float] | None = None  # (wall, CPU) seconds at the last tick
    _shed_since: float | None = None  # when this overload began shedding (addresses' clock)
    behind: Callable[[], str | None] | None = None  # the game link's ``behind`` (bus/link.py)

    def __post_init__(self) -> None:
        self.current = self.interval
        self.metrics.broadcast_interval_seconds.set(self.interval)

    def after_tick(self, fanout: float, lag: float, now: float) -> float:
        """Note one tick's fan-out and lag (seconds) at loop time ``now``; returns the interval
        to the next tick."""
        sample = (fanout + max(0.0, lag)) / self.interval
        self.load += SMOOTHING * (sample - self.load)
        self.metrics.broadcast_load.set(round(self.load, 3))
        self._note_cpu(now)
        if self.active and self.load < LEAVE and self.cpu < self.cpu_enter - CPU_MARGIN:
            self._switch(False)
        elif not self.active and (self.cpu >= self.cpu_enter or self._lagging_by_itself()):
            self._switch(True)
        if self.addresses is not None:
            self._shed()
        stretched = min(max(self.interval, 2 * fanout), MAX_STRETCH * self.interval)
        if stretched != self.current:
            self.current = stretched
            self.metrics.broadcast_interval_seconds.set(stretched)
        return stretched

    def _lagging_by_itself(self) -> bool:
        """The loop is late and this process is what keeps it busy.

        A loop can lag because other processes hold the cores (a shared host, a test suite
        beside it); refusing new players then frees nothing, so lag counts only while the
        process itself uses at least ``LAG_NEEDS_CPU`` of a core.
        """
        return self.load >= ENTER and self.cpu >= LAG_NEEDS_CPU

    def _switch(self, active: bool) -> None:
        self.active = active
        self.metrics.overloaded.set(int(active))
        log.warning(
            "overloaded: refusing new sessions and sockets" if active else "no longer overloaded",
            extra={
                "event": "overload" if active else "overload_end",
                "cpu_share": round(self.cpu, 3),
                "broadcast_load": round(self.load, 3),
            },
        )

    def _shed(self) -> None:
        """While overloaded, shed the heaviest addresses (before anyone else is refused)."""
        addresses = self.addresses
        assert addresses is not None
        if self.active and self.cpu >= self.cpu_enter - CPU_MARGIN:
            for key in addresses.shed_heavy():
                log.warning(
                    "shedding an address that sends most of the requests",
                    extra={
                        "event": "address_shed",
                        "address": key,
                        "cpu_share": round(self.cpu, 3),
                    },
                )
            if self._shed_since is None and addresses.shedding():
                self._shed_since = addresses.clock()
        elif not self.active:
            self._shed_since = None
        addresses.shedding()  # forgets the sheds that ran out, before they are counted
        self.metrics.overload_shed_addresses.set(len(addresses.shed))

    def _shedding_helps(self) -> bool:
        """Whether the overload is still put down to the shed addresses (see the docstring)."""
        addresses, since = self.addresses, self._shed_since
        if addresses is None or since is None or not addresses.shedding():
            return False
        return addresses.clock() - since < CROWD_AFTER

    def _note_cpu(self, now: float) -> None:
        cpu = self.cpu_clock()
        if self._last is not None and now > self._last[0]:
            elapsed = now - self._last[0]
            share = (cpu - self._last[1]) / elapsed
            self.cpu += (1.0 - math.exp(-elapsed / CPU_SECONDS)) * (share - self.cpu)
            self.metrics.cpu_share.set(round(self.cpu, 3))
        self._last = (now, cpu)

    def refusal(self, what: str) -> web.Response | None:
        """A 503 with ``Retry-After`` for new work while overloaded by a crowd, or while the
        game's engine falls behind (a gateway, SPEC §11), else None."""
        behind = None if self.behind is None else self.behind()
        if behind is not None:
            self.metrics.overload_refused_total.labels(what=what).inc()
            return http_error(unavailable(f"the game is busy: {behind}; try again shortly"))
        if not self.active or self._shedding_helps():
            return None
        self.metrics.overload_refused_total.labels(what=what).inc()
        return http_error(unavailable("the server is busy; try again shortly"))


def unavailable(message: str) -> Unavailable:
    error = Unavailable(message, {"retry_after": RETRY_AFTER})
    error.retry_after = RETRY_AFTER  # read by http_error
    return error


OVERLOAD = web.AppKey("overload", Overload)
