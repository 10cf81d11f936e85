"""The rule constants of one game, fixed at start-up from the settings (SPEC §3, §4, §10)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rules:
    click_push_rate: float = 1.0
    max_cps: int = 20
    burst_seconds: float = 10.0
    round_target: int = 10_000
    round_seconds: float = 600.0
    round_break_seconds: float = 10.0
    top_n: int = 10
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
