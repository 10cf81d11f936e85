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

- the tick's load, (fan-out + lag) / interval, at least ``ENTER``: the loop is already late;
- the process's CPU, averaged over ``CPU_SECONDS``, at least ``OVERLOAD_CPU`` (0.93) of one
  core: one event loop has one core, and the last part of it is what answers a new connection
  quickly. Lag alone comes too late: at 10,000 clients it grew only once the loop was
  saturated, and by then handshakes waited until the clients gave up (timeouts, not 503s).

It ends when both are under their marks less a margin (``LEAVE``, ``CPU_MARGIN``), so the state
does not flap. The gauge ``overloaded`` shows it, ``cpu_share`` the process's smoothed CPU,
``broadcast_interval_seconds`` the interval in use and ``overload_refused_total{what}`` the
refusals.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from engine.errors import Unavailable
from server.errors import http_error
from server.metrics import Metrics

log = logging.getLogger("ctb.server")

# A loop that merely shares its cores (other processes, a burst of handshakes) lags a little;
# one that cannot keep up lags by whole intervals, tick after tick.
ENTER = 1.5  # a tick's work and lag take one and a half intervals, on average
LEAVE = 0.75
SMOOTHING = 0.3  # weight of the newest tick in the average
MAX_STRETCH = 2.0  # boards at least every 2 * BROADCAST_INTERVAL (4 a second → 2)
RETRY_AFTER = 2.0
CPU_MARGIN = 0.15  # overload ends at OVERLOAD_CPU less this
# The CPU's average is over about this many seconds: a burst of handshakes (5,000 clients joining
# at 200 a second) lifts it for a few seconds, more clients than the core holds for good.
CPU_SECONDS = 8.0


@dataclass(slots=True)
class Overload:
    interval: float  # BROADCAST_INTERVAL
    metrics: Metrics
    cpu_enter: float = 0.93  # OVERLOAD_CPU, a share of one core
    cpu_clock: Callable[[], float] = time.process_time  # the process's CPU seconds
    load: float = 0.0
    cpu: float = 0.0  # smoothed share of one core
    active: bool = False
    current: float = 0.0  # the interval in use
    _last: tuple[float, float] | None = None  # (wall, CPU) seconds at the last tick

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
        elif not self.active and (self.load >= ENTER or self.cpu >= self.cpu_enter):
            self._switch(True)
        stretched = min(max(self.interval, 2 * fanout), MAX_STRETCH * self.interval)
        if stretched != self.current:
            self.current = stretched
            self.metrics.broadcast_interval_seconds.set(stretched)
        return stretched

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

    def _note_cpu(self, now: float) -> None:
        cpu = self.cpu_clock()
        if self._last is not None and now > self._last[0]:
            elapsed = now - self._last[0]
            share = (cpu - self._last[1]) / elapsed
            self.cpu += (1.0 - math.exp(-elapsed / CPU_SECONDS)) * (share - self.cpu)
            self.metrics.cpu_share.set(round(self.cpu, 3))
        self._last = (now, cpu)

    def refusal(self, what: str) -> web.Response | None:
        """A 503 with ``Retry-After`` for new work while overloaded, else None."""
        if not self.active:
            return None
        self.metrics.overload_refused_total.labels(what=what).inc()
        error = Unavailable("the server is busy; try again shortly", {"retry_after": RETRY_AFTER})
        error.retry_after = RETRY_AFTER  # type: ignore[attr-defined]  # read by http_error
        return http_error(error)


OVERLOAD = web.AppKey("overload", Overload)
