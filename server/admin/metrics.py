"""The admin's live figures (SPEC §8): ``GET /api/admin/metrics`` and the admin socket's push.

Nothing is counted twice: the figures are read from what already measures them — the
Prometheus registry (``server/metrics.py``: clicks, pushes, throttled clicks, connections), the
actor (queue depth, its own turn time), the published board (players, online, round, pause) and
the store (the last snapshot, the journal). Rates are the counters' growth over the window
since the last sample, which the admin socket's 5 s push closes; a ``GET`` reads the window so
far without closing it. The figures are flat numbers, strings and booleans, so a page can show
them as a table as they come. Each carries ``at``, the game clock's time of the sample, so the
charts place a point where it belongs (``server/admin/history.py`` keeps the last 10 minutes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from actor.clock import Clock
from bus.link import GameLink
from server.metrics import Metrics

PUSH_INTERVAL = 5.0  # seconds between two figures on the admin socket (SPEC §8)


def counter_total(counter: Counter) -> float:
    """A counter's value summed over all its labels."""
    return sum(
        sample.value
        for family in counter.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


@dataclass(slots=True)
class Window:
    """The counters at the start of a sampling window (monotonic time: a duration only)."""

    at: float
    clicks: float = 0.0
    pushes: float = 0.0
    throttled: float = 0.0


@dataclass(slots=True)
class Sampler:
    game: GameLink
    metrics: Metrics
    clock: Clock  # the game clock: each sample's ``at``, which the history ages by
    window: Window = field(default_factory=lambda: Window(time.monotonic()))
    turn_max: float = 0.0  # the longest actor turn of the window, in seconds

    def __post_init__(self) -> None:
        self.window = self._read_window()
        self.game.turn_observers.append(self._turn)

    def _turn(self, seconds: float, _messages: int) -> None:
        if seconds > self.turn_max:
            self.turn_max = seconds

    def _read_window(self) -> Window:
        """The counters now: the engine's when it counts for several gateways (SPEC §11), else
        this process's own."""
        game = self.game.engine_figures().get("game")
        if game is not None:
            return Window(time.monotonic(), game["clicks"], game["pushes"], game["throttled"])
        m = self.metrics
        return Window(
            time.monotonic(),
            counter_total(m.clicks_accepted_total),
            counter_total(m.pushes_total),
            counter_total(m.clicks_throttled_total),
        )

    def figures(self, *, close_window: bool = False, **extra: Any) -> dict[str, Any]:
        """The figures now; ``close_window`` starts the next rate window (the 5 s push)."""
        now = self._read_window()
        start = self.window
        elapsed = now.at - start.at

        def rate(new: float, old: float) -> float:
            return round((new - old) / elapsed, 2) if elapsed > 0 else 0.0

        board = self.game.board
        engine = self.game.engine_figures()
        game = engine.pop("game", None)  # the game's counters, every gateway's (SPEC §11)
        connections = (
            game["connections"]
            if game is not None
            else self.metrics.registry.get_sample_value("ws_connections_active") or 0.0
        )
        figures: dict[str, Any] = {
            "at": round(self.clock.now(), 3),
            "players": board.players_total,
            "online": board.online,
            "connections": int(connections),
            "clicks_per_second": rate(now.clicks, start.clicks),
            "pushes_per_second": rate(now.pushes, start.pushes),
            "throttled_per_second": rate(now.throttled, start.throttled),
            "window_seconds": round(elapsed, 3),
            "round_id": board.round.id,
            "round_status": board.round.status,
            "round_ends_at": board.round.ends_at,
            "paused": board.paused,
            "pause_reason": board.pause_reason,
            **engine,
            "actor_turn_ms_max": max(
                engine.get("actor_turn_ms_max", 0.0), round(self.turn_max * 1e3, 3)
            ),
            **extra,
        }
        if close_window:
            self.window = now
            self.turn_max = 0.0
        return figures
