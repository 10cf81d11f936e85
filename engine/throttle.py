"""Per-player token bucket for clicks and the bucket of pushes (SPEC §4).

The click bucket refills at ``max_cps`` tokens a second up to ``burst`` tokens. A large burst
lets clicks made during a short outage count when they arrive late, while the long-run rate stays
at ``max_cps`` whatever the burst, because tokens only ever come from elapsed time.

The push bucket holds ``PUSH_BURST`` pushes and refills one every ``rules.push_interval`` (half
the page's push interval). It is kept the way GCRA (ATM's generic cell rate algorithm) keeps a
bucket, in one number per player: ``Player.push_tat``, the "theoretical arrival time" at which
the bucket is full again. Each push moves it one interval later; a push that would put it more
than ``PUSH_BURST`` intervals ahead of now is refused. So pushes bunched by network jitter or a
server pause pass, and over any stretch of time a player gets at most ``PUSH_BURST`` pushes plus
one per ``push_interval``: twice the protocol's rate.
"""

from __future__ import annotations

from engine.errors import RateLimited
from engine.players import Player
from engine.rules import Rules

PUSH_BURST = 3  # pushes a player may make back to back (SPEC §4)
# A push due at t may be computed as t less a rounding error (at Unix times a float's step is
# 2.4e-7 s); refusing a push a microsecond early would only cost the page a round trip.
PUSH_SLACK = 1e-6


def take_push(player: Player, rules: Rules, now: float) -> None:
    """Spend one push from the player's push bucket, or refuse with when to try again."""
    interval = rules.push_interval
    tat = player.push_tat
    if tat is None or tat < now:
        tat = now  # a full bucket: time that passed beyond it is not saved up
    wait = tat - now - (PUSH_BURST - 1) * interval
    if wait > PUSH_SLACK:
        raise RateLimited(f"push again in {wait:.3f} s", wait)
    player.push_tat = tat + interval


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
    """Click tokens the player could spend at ``now`` (the admin's view of a player)."""
    if now <= player.tokens_at:
        return player.tokens
    return min(rules.burst, player.tokens + (now - player.tokens_at) * rules.max_cps)
