"""The garbage collector's policy, and the pauses it causes measured (README, Broadcast).

CPython's full collection walks every tracked container in the process. With thousands of open
sockets (each holds its request, protocol, parser, reader, tasks and timers) and a loaded game,
that walk took 220-275 ms at 5,000 clients: a pause in which no ack and no board goes out.
Almost all of those objects live as long as their socket or the process, so the policy keeps
them out of the walk:

- after start-up, one collection and ``gc.freeze()``: the modules, the app and the loaded state
  move to the permanent generation, which no collection visits;
- while sockets keep opening, the live heap is frozen again each time the number of open
  sockets has grown by a quarter (at most every ``FREEZE_EVERY`` seconds), so each full
  collection walks only what came since. A freeze moves lists, it collects nothing, so it
  costs no pause (a young collection before it, tried first, took up to 0.6 s on a busy
  machine; the few young cycles a freeze keeps are not worth that);
- frozen objects still die by reference counting. What a freeze keeps is cyclic garbage of the
  frozen sockets that close later; once as many sockets have closed as were open at the last
  freeze, the heap is unfrozen and collected at once (one long pause, 0.1-0.9 s measured, when
  at least half the players have left; never while they stay);
- the thresholds stay CPython's (700, 10, 10): raised to 20,000 young objects, the young
  collections came less often but took up to 245 ms each at 5,000 clients, against 31 ms.

``GC_POLICY=default`` keeps CPython's own behaviour, to compare. Either way ``gc.callbacks``
time every collection: ``gc_pause_seconds{generation}`` and the longest pause per generation,
logged at shutdown (``gc_pauses``).
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.keys import METRICS
from server.metrics import Metrics

log = logging.getLogger("ctb.server")

FREEZE_GROWTH = 1.25  # refreeze once open sockets reach this many times the last frozen count
FREEZE_MIN_SOCKETS = 200  # ... and at least this many more
FREEZE_EVERY = 5.0  # seconds between two freezes at most


@dataclass(slots=True)
class GcPolicy:
    metrics: Metrics
    tuned: bool = True
    frozen_sockets: int = 0  # open sockets at the last freeze
    closed_since: int = 0  # sockets closed since the last freeze
    frozen_at: float = 0.0
    freezes: int = 0
    unfreezes: int = 0
    longest: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    longest_own: float = 0.0  # the policy's own collections (before a freeze, at a thaw)
    _started: float = 0.0
    _own: bool = False

    def install(self) -> None:
        """Start measuring; with the tuned policy, freeze what start-up built."""
        gc.callbacks.append(self._on_gc)
        if self.tuned:
            self._collect(2)
            gc.freeze()
            self.frozen_at = time.monotonic()
        self.metrics.gc_frozen_objects.set_function(gc.get_freeze_count)

    def uninstall(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        log.info(
            "gc pauses",
            extra={
                "event": "gc_pauses",
                "policy": "tuned" if self.tuned else "default",
                "longest_ms": [round(s * 1e3, 2) for s in self.longest],
                "longest_own_ms": round(self.longest_own * 1e3, 2),
                "collections": self.collections,
                "freezes": self.freezes,
                "unfreezes": self.unfreezes,
            },
        )

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        if self._own:  # timed apart: the automatic collections are what the policy is about
            self.longest_own = max(self.longest_own, seconds)
            return
        generation = info["generation"]
        self.collections[generation] += 1
        if seconds > self.longest[generation]:
            self.longest[generation] = seconds
        self.metrics.gc_pause_seconds.labels(generation=str(generation)).observe(seconds)

    def _collect(self, generation: int) -> None:
        self._own = True
        try:
            gc.collect(generation)
        finally:
            self._own = False

    def socket_closed(self) -> None:
        self.closed_since += 1

    def check(self, open_sockets: int) -> None:
        """Called once per broadcast tick with the number of open sockets."""
        if not self.tuned:
            return
        if self.frozen_sockets and self.closed_since >= self.frozen_sockets:
            # Half the players or more have left: take back what their sockets left behind.
            gc.unfreeze()
            self._collect(2)
            self.unfreezes += 1
            self.frozen_sockets = self.closed_since = 0
            self.frozen_at = time.monotonic()
            return
        grown = max(self.frozen_sockets * FREEZE_GROWTH, self.frozen_sockets + FREEZE_MIN_SOCKETS)
        now = time.monotonic()
        if open_sockets >= grown and now - self.frozen_at >= FREEZE_EVERY:
            gc.freeze()
            self.freezes += 1
            self.frozen_at = now
            self.frozen_sockets = open_sockets
            self.closed_since = 0


GC_POLICY = web.AppKey("gc_policy", GcPolicy)


def attach(app: web.Application, *, tuned: bool) -> GcPolicy:
    """Run the policy with the app (``run.py``): installed once the game has started, so the
    loaded state is frozen; the broadcaster reports sockets to it. Test apps, which share one
    process, go without."""
    policy = GcPolicy(app[METRICS], tuned=tuned)
    app[GC_POLICY] = policy

    async def install(_app: web.Application) -> None:
        policy.install()

    async def uninstall(_app: web.Application) -> None:
        policy.uninstall()

    app.on_startup.append(install)
    app.on_cleanup.append(uninstall)
    return policy
