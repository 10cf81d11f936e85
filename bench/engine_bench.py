"""Click-batch applications per second through the engine with 1,000,000 players present.

Each application builds the push's typed command as the server does (a ``CheckedPush``: the
server's model has checked its shape) and runs a full ``engine.commands.apply``: idempotency,
the token bucket, the push-gap check, contributions, both leaderboards and both ranks. Scores
are spread first so the rank indexes are as deep as in a long-running game. Run: ``make bench``
or ``python bench/engine_bench.py --players 1000000 --pushes 200000``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import commands
from engine.admin import interventions
from engine.command_types import CheckedPush, CreatePlayer, Tick
from engine.leaderboard import Leaderboard
from engine.rules import Rules
from engine.state import GameState, new_state

T0 = 1_700_000_000.0


def build(players: int, seed: int) -> tuple[GameState, list[str]]:
    rng = random.Random(seed)
    state = new_state(Rules(round_target=10**12, round_seconds=86400.0), ["earth", "mars"])
    commands.apply(state, Tick(now=T0))
    ids = [f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}" for i in range(players)]
    for player_id in ids:
        commands.apply(state, CreatePlayer(player_id=player_id, now=T0))
    spread_scores(state, ids, rng)
    return state, ids


def spread_scores(state: GameState, ids: list[str], rng: random.Random) -> None:
    """Spread scores as a long game would, so the indexes are deep (not a bench of one score):
    every player scored, half of them in the active round."""
    all_entries, round_entries = [], []
    assert state.current is not None
    for player_id in ids:
        player = state.players[player_id]
        player.score = rng.randint(0, 50_000)
        state.seq += 1
        all_entries.append((player.slot, player.score, state.seq))
        if rng.random() < 0.5:
            player.round_id = state.current.id
            player.round_score = rng.randint(1, min(player.score, 5_000) or 1)
            round_entries.append((player.slot, player.round_score, state.seq))
    state.all_board = Leaderboard.from_entries(all_entries, state.slots)
    state.round_board = Leaderboard.from_entries(round_entries, state.slots)


def run(
    state: GameState, ids: list[str], pushes: int, seed: int, start: float, online: int
) -> float:
    """Apply ``pushes`` pushes from ``online`` distinct players taking turns, as connected pages
    do; ``online`` equal to the player count is the cache-hostile worst case."""
    rng = random.Random(seed + 1)
    players = rng.sample(ids, min(online, pushes))
    picks = [players[i % len(players)] for i in range(pushes)]
    counts = [[rng.randint(1, 25)] for _ in range(len(picks))]
    now = start
    # Game time advances so that each player's pushes are a push interval apart.
    step = 1.0 / len(players)
    apply = commands.apply
    started = time.perf_counter()
    for i in range(len(picks)):
        apply(
            state,
            CheckedPush(
                player_id=picks[i], batch_id=f"b{seed}-{i}", clicks=counts[i], now=now + i * step
            ),
        )
    return time.perf_counter() - started


def detectors(state: GameState, ids: list[str], pushes: int, seed: int, start: float) -> float:
    """Seconds a push spends in the bot detectors alone (``interventions.observe_push``, the
    windows and the fast path), the best of five runs: the part of a push they cost, measured
    apart from the rest of the push path, whose noise on a busy machine is larger than it."""
    rng = random.Random(seed + 3)
    players = [state.players[pid] for pid in rng.sample(ids, min(10_000, len(ids)))]
    counts = [rng.randint(1, 25) for _ in range(pushes)]
    step = 1.0 / len(players)
    observe = interventions.observe_push
    best = float("inf")
    for run_no in range(5):
        base = start + run_no * (pushes * step + 60.0)
        started = time.perf_counter()
        for i in range(pushes):
            observe(state, players[i % len(players)], counts[i], 0, base + i * step)
        best = min(best, time.perf_counter() - started)
    return best / pushes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--pushes", type=int, default=200_000)
    parser.add_argument("--online", type=int, default=10_000, help="players taking turns")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also print where the time goes")
    args = parser.parse_args()

    started = time.perf_counter()
    state, ids = build(args.players, args.seed)
    print(f"built {args.players:,} players in {time.perf_counter() - started:.1f} s")
    gc.collect()
    gc.freeze()  # the built state is long-lived; keep the collector off it as the server would
    scenarios = [(f"{args.online:,} online players", args.online), ("every player", args.players)]
    start = T0 + 10.0
    for label, online in scenarios:
        elapsed = run(state, ids, args.pushes, args.seed, start, online)
        start += args.pushes / 1.0 + 10.0
        rate = args.pushes / elapsed
        verdict = "met" if rate >= 50_000 else "missed"
        print(
            f"pushes from {label}: {rate:,.0f}/s ({elapsed / args.pushes * 1e6:.1f} µs each, "
            f"{args.pushes:,} pushes, {args.players:,} players present; target 50,000/s {verdict})"
        )
    per_push = detectors(state, ids, args.pushes, args.seed, start)
    print(f"bot detectors alone: {per_push * 1e6:.2f} µs a push (best of 5 runs)")
    start += 5 * (args.pushes + 60.0)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(state, ids, min(args.pushes, 50_000), args.seed + 2, start, args.online)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
        print("where the time goes (cProfile, tottime; profiling slows everything):")
        print(out.getvalue())


if __name__ == "__main__":
    main()
