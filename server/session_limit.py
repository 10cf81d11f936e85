"""At most ``SESSIONS_PER_MINUTE`` new players a minute per client address (SPEC §5).

A sliding log: each address keeps the times of its sessions in the last minute, so the limit is
exact over any 60 s window (a token bucket would let through up to twice the limit in a window).
Memory stays bounded: addresses are kept in least-recently-used order and dropped as soon as
their newest session is a minute old, and a hard cap evicts the least recently seen address when
a flood of distinct addresses arrives faster than a minute can age them out.
Time is passed in, so tests move a fake clock instead of sleeping.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from engine.errors import RateLimited

WINDOW = 60.0
MAX_ADDRESSES = 100_000


@dataclass(slots=True)
class SessionLimiter:
    per_minute: int
    max_addresses: int = MAX_ADDRESSES
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._seen)

    def take(self, key: str, now: float) -> None:
        """Count one session for ``key`` at ``now``, or raise RateLimited with the wait."""
        self._prune(now)
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
        else:
            self._seen.move_to_end(key)
            while times and times[0] <= now - WINDOW:
                times.popleft()
        if len(times) >= self.per_minute:
            raise RateLimited("too many new sessions from this address", times[0] + WINDOW - now)
        times.append(now)
        while len(self._seen) > self.max_addresses:
            self._seen.popitem(last=False)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may count one more (0: now), without counting anything."""
        times = self._seen.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - WINDOW:
            times.popleft()
        return 0.0 if len(times) < self.per_minute else times[0] + WINDOW - now

    def give_back(self, key: str) -> None:
        """Undo the latest ``take`` when the session could not be made after all."""
        times = self._seen.get(key)
        if times:
            times.pop()

    def _prune(self, now: float) -> None:
        """Drop addresses whose newest session left the window; the oldest-used come first."""
        seen = self._seen
        horizon = now - WINDOW
        while seen:
            key, times = next(iter(seen.items()))
            if times and times[-1] > horizon:
                return
            del seen[key]
