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
- the process's CPU, at least ``OVERLOAD_CPU`` (0.85) of one core: one event loop has one
  core, and the last part of it is what answers a new connection quickly. Lag alone comes too
  late: at 10,000 clients it grew only once the loop was saturated, and by then handshakes
  waited in the accept queue until the clients gave up (timeouts, not 503s).

It ends when both are under their marks less a margin (``LEAVE``, ``CPU_MARGIN``), so the state
does not flap. The gauge ``overloaded`` shows it, ``cpu_share`` the process's smoothed CPU,
``broadcast_interval_seconds`` the interval in use and ``overload_refused_total{what}`` the
refusals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from engine.errors import Unavailable
from server.errors import http_error
from server.metrics import Metrics

# A loop that merely shares its cores (other processes, a burst of handshakes) lags a little;
# one that cannot keep up lags by whole intervals, tick after tick.
ENTER = 1.5  # a tick's work and lag take one and a half intervals, on average
LEAVE = 0.75
SMOOTHING = 0.3  # weight of the newest tick in the average
MAX_STRETCH = 2.0  # boards at least every 2 * BROADCAST_INTERVAL (4 a second → 2)
RETRY_AFTER = 2.0
CPU_MARGIN = 0.15  # overload ends at OVERLOAD_CPU less this
CPU_SMOOTHING = 0.1  # a GC pause or a burst of handshakes is one tick; saturation is seconds


@dataclass(slots=True)
class Overload:
    interval: float  # BROADCAST_INTERVAL
    metrics: Metrics
    cpu_enter: float = 0.85  # OVERLOAD_CPU, a share of one core
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
        self._note_cpu(now)
        if self.active and self.load < LEAVE and self.cpu < self.cpu_enter - CPU_MARGIN:
            self.active = False
            self.metrics.overloaded.set(0)
        elif not self.active and (self.load >= ENTER or self.cpu >= self.cpu_enter):
            self.active = True
            self.metrics.overloaded.set(1)
        stretched = min(max(self.interval, 2 * fanout), MAX_STRETCH * self.interval)
        if stretched != self.current:
            self.current = stretched
            self.metrics.broadcast_interval_seconds.set(stretched)
        return stretched

    def _note_cpu(self, now: float) -> None:
        cpu = self.cpu_clock()
        if self._last is not None and now > self._last[0]:
            share = (cpu - self._last[1]) / (now - self._last[0])
            self.cpu += CPU_SMOOTHING * (share - self.cpu)
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
