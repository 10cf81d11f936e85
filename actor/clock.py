"""Where the actor reads the time: the wall clock in production, a fake one in tests.

Game times are Unix seconds (they are shown as ISO 8601 and survive restarts), so the real clock
is ``time.time``. ``FakeClock.jump`` moves time by hand, as Trio's MockClock does, so tests assert
exact times instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def jump(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
