"""The admin listing and bulk jobs at 1,000,000 players (SPEC §8), as the actor runs them.

Builds a game of ``--players`` players through ``engine.commands`` (a third renamed to names made
of syllables, scores and round scores spread, last clicks over a day, 1 % banned, 0.1 % flagged),
then times:
- the index build (what a start-up adds) and the memory the index holds;
- the steps the server runs between turns to prepare the listing's copy of the index (the keys
  a start-up deferred, the name blocks, the first copy, then a copy after 2,000 pushes): each
  step is one turn's worth, so its longest is what a player's push may wait behind;
- listings with a random filter, a random sort and a random page: the selection (which the
  server runs on the copy in a thread of its own) and the rows (built between turns, 64 a step);
- the same listings in one turn on the live index, as ``engine.admin.query.list_players`` runs
  them (p50, p95, max); searches by name substring (p95) and by id prefix;
- bulk steps of a 100,000-player ban and of a 100,000-player score reset (the longest step);
- bulk steps over a filter, which test at most ``bulk.SCAN`` slots each: an unban of the banned
  1 % (few matches a window) and a ban over a name search (each window's players tested in
  Python).
Run: ``make bench`` or ``python bench/admin_bench.py --players 1000000``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine_bench import spread_scores

from engine import commands
from engine.admin import bulk
from engine.admin.index_copy import IndexCopy, prepare_step
from engine.admin.player_index import PlayerIndex
from engine.admin.query import PlayerFilter, list_players, parse_query, rows, select
from engine.command_types import AdminBulkCreate, CreatePlayer, Push, Tick
from engine.errors import GameError
from engine.rules import Rules
from engine.state import GameState, new_state

T0 = 1_700_000_000.0
SYLLABLES = ["ka", "zu", "mi", "ro", "tan", "el", "vo", "shi", "qu", "ne", "do", "ra", "lex"]
PLANETS = ["earth", "mars", "venus", "jupiter"]
ADMIN = {"admin": "bench", "reason": "bench"}


def build(players: int, seed: int) -> tuple[GameState, list[str], float]:
    rng = random.Random(seed)
    state = new_state(Rules(round_target=10**12, round_seconds=86400.0), PLANETS)
    commands.apply(state, Tick(now=T0))
    ids = [
        f"{rng.getrandbits(32):08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        for _ in range(players)
    ]
    for i, player_id in enumerate(ids):
        name = None
        if i % 3 == 0:
            name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5))).title()
        commands.apply(state, CreatePlayer(player_id=player_id, name=name, now=T0 + i * 0.01))
    spread_scores(state, ids, rng)
    for player_id in ids:
        player = state.players[player_id]
        player.last_click_at = T0 + rng.uniform(0, 86400) if player.score else None
        if rng.random() < 0.01:
            player.status = "banned"
    flagged = rng.sample(ids, players // 1000)
    started = time.perf_counter()
    state.index = PlayerIndex.build(state.players.values(), PLANETS, flagged)
    return state, ids, time.perf_counter() - started


def random_query(rng: random.Random) -> dict[str, object]:
    query: dict[str, object] = {
        "sort": rng.choice(["score", "round_score", "last_click", "created", "name"]),
        "order": rng.choice(["asc", "desc"]),
        "page": rng.randint(1, 20),
        "limit": rng.choice([50, 100, 500]),
    }
    choice = rng.randint(0, 4)
    if choice == 0:
        query["planet"] = rng.choice(PLANETS)
    elif choice == 1:
        query["score_min"] = rng.randint(0, 40_000)
    elif choice == 2:
        query["round_score_min"], query["round_score_max"] = 100, rng.randint(200, 5_000)
    elif choice == 3:
        query["active_since"] = T0 + rng.uniform(0, 86400)
    else:
        query["status"], query["flagged"] = "active", rng.choice([True, False])
    return query


def timed(state: GameState, raw: dict[str, object]) -> tuple[float, int]:
    started = time.perf_counter()
    reply = list_players(state, parse_query(raw), T0)
    return (time.perf_counter() - started) * 1000, reply["total_count"]


def figures(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    print(
        f"{label}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ms[-1]:.1f} ms"
    )


def prepared(state: GameState, copy: IndexCopy, label: str) -> None:
    """Prepare the copy as the server does, timing each step (one turn's worth of work) in
    CPU time: on a machine shared with other work, wall time says more about the others."""
    steps = []
    while True:
        started = time.thread_time()
        done = prepare_step(state, copy, True)
        steps.append((time.thread_time() - started) * 1000)
        if done:
            break
    figures(f"{label}: {len(steps)} steps, {sum(steps):.0f} ms; a step (CPU)", steps)


def split_listings(state: GameState, copy: IndexCopy, raws: list[dict[str, object]]) -> None:
    """The server's listing: the selection on the copy, then the rows 64 a step (CPU time)."""
    selecting, row_steps = [], []
    for raw in raws:
        query = parse_query(raw)
        started = time.thread_time()
        page, _ = select(copy, copy.round_id, query)
        selecting.append((time.thread_time() - started) * 1000)
        for start in range(0, len(page), 64):
            started = time.thread_time()
            rows(state, page[start : start + 64])
            row_steps.append((time.thread_time() - started) * 1000)
    figures("  selection on the copy (the server's listing thread; CPU)", selecting)
    figures("  rows, 64 a step (between turns; CPU)", row_steps)


def bulk_run(state: GameState, ids: list[str], action: str, limit: int) -> None:
    job = commands.apply(
        state,
        AdminBulkCreate(action=action, player_ids=ids, now=T0, **ADMIN),
    )
    steps: list[float] = []
    while True:
        started = time.perf_counter()
        progress, _ = bulk.step(state, job["id"], limit, T0 + 1)
        steps.append((time.perf_counter() - started) * 1000)
        if progress["status"] != "running":
            break
    figures(f"bulk {action} of {len(ids):,} players, {limit} a step", steps)


def bulk_walk(state: GameState, query: dict[str, Any], action: str, limit: int) -> None:
    """A job over a filter, stepped to its end; the time of each step."""
    given = msgspec.convert(query, PlayerFilter)
    job = commands.apply(state, AdminBulkCreate(action=action, filter=given, now=T0, **ADMIN))
    steps: list[float] = []
    while state.bulk_jobs[job["id"]].status == "running":
        started = time.perf_counter()
        bulk.step(state, job["id"], limit, T0 + 1)
        steps.append((time.perf_counter() - started) * 1000)
    done = state.bulk_jobs[job["id"]].done
    label = f"bulk {action} over {query} ({job['total']:,} matched, {done:,} done), {limit} a step"
    figures(label, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--bulk", type=int, default=100_000)
    parser.add_argument("--step", type=int, default=bulk.STEP)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    state, ids, build_seconds = build(args.players, args.seed)
    gc.freeze()  # as the server does after loading a large state
    print(f"built {args.players:,} players in {time.perf_counter() - started:.1f} s")
    print(f"index build (start-up cost): {build_seconds * 1000:.0f} ms")
    rng = random.Random(args.seed + 1)
    copy = IndexCopy()
    prepared(state, copy, "first preparation (keys, name blocks, whole copy)")
    for i, player_id in enumerate(rng.sample(ids, 2000)):
        push = Push(player_id=player_id, batch_id=f"x{i}", clicks=[5], now=T0 + 90_000 + i)
        with contextlib.suppress(GameError):  # the banned players
            commands.apply(state, push)
    prepared(state, copy, "preparation after 2,000 pushes")
    print(f"index memory: {state.index.memory_bytes() / 2**20:.1f} MiB")
    print(f"the copy's memory: {copy.memory_bytes() / 2**20:.1f} MiB")
    split_listings(state, copy, [random_query(rng) for _ in range(args.queries)])
    print("in one turn on the live index (engine.admin.query.list_players):")
    figures(
        "filter + sort + page", [timed(state, random_query(rng))[0] for _ in range(args.queries)]
    )
    names = [state.players[i].name for i in rng.sample(ids[::3], args.queries)]
    needles = [n[rng.randint(0, 2) : rng.randint(3, 6)].lower() for n in names]
    searched = [timed(state, {"search": needle, "sort": "name"}) for needle in needles]
    figures("name substring search", [ms for ms, _ in searched])
    counts = sorted(count for _, count in searched)
    print(f"  matches per search: median {counts[len(counts) // 2]:,}, max {counts[-1]:,}")
    worst, hits = timed(state, {"search": "player", "sort": "score"})
    print(f"  'player' (every default name, {hits:,} matches): {worst:.0f} ms")
    prefixes = [timed(state, {"search": i[:5]})[0] for i in rng.sample(ids, args.queries)]
    figures("id prefix search", prefixes)
    targets = rng.sample(ids, args.bulk)
    bulk_run(state, targets, "ban", args.step)
    bulk_run(state, targets, "reset_score", args.step)
    bulk_run(state, targets, "unban", args.step)
    bulk_walk(state, {"status": "banned"}, "unban", 250)
    bulk_walk(state, {"search": "ka"}, "ban", 100)


if __name__ == "__main__":
    main()
