"""Per-player token bucket for clicks and the minimum gap between pushes (SPEC §4).

The bucket refills at ``max_cps`` tokens a second up to ``burst`` tokens. A large burst lets
clicks made during a short outage count when they arrive late, while the long-run rate stays at
``max_cps`` whatever the burst, because tokens only ever come from elapsed time.
"""

from __future__ import annotations

from engine.errors import RateLimited
from engine.players import Player
from engine.rules import Rules


def check_push_gap(player: Player, rules: Rules, now: float) -> None:
    """Refuse a push that comes sooner than half the push interval after the previous one."""
    last = player.last_push_at
    if last is not None and now - last < rules.min_push_gap:
        retry_after = last + rules.min_push_gap - now
        raise RateLimited(f"push again in {retry_after:.3f} s", retry_after)


def take_clicks(player: Player, counts: list[int], rules: Rules, now: float) -> list[int]:
    """Spend tokens on ``counts`` in order; return how many of each were accepted."""
    tokens = player.tokens
    if now > player.tokens_at:
        tokens = min(rules.burst, tokens + (now - player.tokens_at) * rules.max_cps)
        player.tokens_at = now
    accepted = []
    for count in counts:
        granted = min(count, int(tokens))
        tokens -= granted
        accepted.append(granted)
    player.tokens = tokens
    return accepted


def available(player: Player, rules: Rules, now: float) -> float:
    """Tokens the player could spend at ``now`` (for tests and the admin view)."""
    if now <= player.tokens_at:
        return player.tokens
    return min(rules.burst, player.tokens + (now - player.tokens_at) * rules.max_cps)
