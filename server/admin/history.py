"""The last 10 minutes of the admin's figures, kept so the admin page's charts start filled.

Without it a chart labelled "the last 10 minutes" holds only what arrived since its tab opened.
The admin hub's 5 s sampling task adds each closed window's figures here (the same objects the
admin socket's ``metrics`` messages carry), and the socket sends them all as one ``history``
message when it opens; ``GET /api/admin/metrics?history=1`` adds them to its reply.

The history is bounded twice: by age (a point older than ``SPAN`` seconds by the game clock is
dropped, so the fake clock of the tests moves it) and by count (``MAX_POINTS``), so a sampling
interval shorter than 0.5 s keeps less than 10 minutes rather than more memory. It lives in
memory only: a restart starts it empty, as the figures' rates do.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SPAN = 600.0  # seconds of figures kept: the charts' "last 10 minutes" (SPEC §9)
MAX_POINTS = 1200  # 10 minutes at a 0.5 s interval; 120 at the default 5 s


@dataclass(slots=True)
class MetricsHistory:
    interval: float  # seconds between two points, as the admin socket pushes them
    points: deque[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        wanted = math.ceil(SPAN / self.interval) if self.interval > 0 else MAX_POINTS
        self.points = deque(maxlen=max(1, min(MAX_POINTS, wanted)))

    def add(self, figures: dict[str, Any]) -> None:
        """Keep one sample; ``figures["at"]`` is its game-clock time (unix seconds)."""
        self.points.append(figures)
        self._trim(figures["at"])

    def recent(self, now: float) -> list[dict[str, Any]]:
        """The points of the last ``SPAN`` seconds before ``now``, oldest first."""
        self._trim(now)
        return list(self.points)

    def message(self, now: float) -> dict[str, Any]:
        """The admin socket's ``history`` message, sent before its first ``metrics``."""
        return {"type": "history", "data": {"interval": self.interval, "points": self.recent(now)}}

    def _trim(self, now: float) -> None:
        points = self.points
        while points and points[0]["at"] < now - SPAN:
            points.popleft()
