"""The rule constants of one game, fixed at start-up from the settings (SPEC §3, §4, §10).

Each default and each bound lives here once: ``settings.py`` takes its defaults and the ranges
it accepts from this module, and ``engine/rounds.py`` checks an admin's round against the same
bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ROUND_TARGET = 10**12
MAX_ROUND_SECONDS = 604_800  # a week


@dataclass(frozen=True, slots=True)
class Rules:
    click_push_rate: float = 1.0
    max_cps: int = 20
    burst_seconds: float = 10.0
    round_target: int = 10_000
    round_seconds: float = 600.0
    round_break_seconds: float = 10.0
    top_n: int = 10  # leaderboard rows on a board, and contributors named in a round summary
    batch_memory: int = 64
    max_counts_per_push: int = 32

    @property
    def burst(self) -> float:
        """Bucket capacity: clicks saved up during a short outage still count (SPEC §4)."""
        return self.max_cps * self.burst_seconds

    @property
    def max_count(self) -> int:
        """The largest single accumulated count a push may carry."""
        return int(self.max_cps * self.click_push_rate * 10)

    @property
    def push_interval(self) -> float:
        """One push comes back into a player's push bucket this often (SPEC §4)."""
        return self.click_push_rate * 0.5


DEFAULT_RULES = Rules()
