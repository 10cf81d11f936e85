"""Persistence at 1,000,000 players: snapshot size and time, event-loop stall, load, journal.

What it measures, on a state built directly (fast) with every player scored, half of them in the
active round with their batches recorded, ``--batches`` remembered batch ids each, and
``--bulk-jobs`` admin bulk jobs over every player, each cancelled at once (as an admin trying
them out would leave them; a job used to keep its whole target list in every snapshot):
- snapshot bytes and the time a background save takes from fork to durable rename;
- the longest event-loop stall while that save runs: a ticker task sleeps 1 ms at a time and
  records how late it wakes (the fork happens inside an actor turn, as in the server);
- load time: ``open_store`` in this process (checks, decode, both leaderboards), then a real
  server (``run.py``) on the saved directory, timed from its start to its first 200 on /readyz;
- that server's RSS once ready and after a few idle seconds (the figure an operator sees), and
  the CPU time it had used by then (the start's own cost, whatever else shares the cores);
- journal replay rate (records/s) and the journal's cost per append of a typical turn.
Targets: stall < 50 ms, load < 5 s, RSS < 1 GiB, also after ten bulk jobs. Run: ``make bench``
or ``python bench/persist_bench.py --players 1000000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import random
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import server_process
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actor.actor import Actor
from actor.clock import SystemClock
from engine import batch_memory, commands
from engine.admin.player_index import PlayerIndex
from engine.admin.query import PlayerFilter
from engine.command_types import (
    AdminBulkCancel,
    AdminBulkCreate,
    Command,
    CreatePlayer,
    Push,
    Tick,
)
from engine.leaderboard import Leaderboard
from engine.players import Player
from engine.rules import Rules
from engine.state import GameState, new_state
from persistence import journal as journal_mod
from persistence.data_dir import DataDir
from persistence.recovery import Recovered, recover
from persistence.saver import Saver
from persistence.store import Store, open_store, take_lock
from settings import Settings

T0 = time.time()  # the saved round must still be running when the server loads it
IDLE_SECONDS = 3.0
SERVER_ENV = {"ROUND_SECONDS": "86400", "SNAPSHOT_INTERVAL": "3600"}
PLANETS = ["earth", "mars"]
RULES = Rules(round_target=10**12, round_seconds=86400.0)


def build(players: int, batches: int, seed: int) -> GameState:
    """A long game's state, made without the command path (which would take minutes)."""
    rng = random.Random(seed)
    state = new_state(RULES, PLANETS)
    commands.apply(state, Tick(now=T0))
    current = state.current
    assert current is not None
    all_entries, round_entries = [], []
    for i in range(players):
        player_id = f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        planet = PLANETS[i % 2]
        score = rng.randint(0, 50_000)
        last = T0 + rng.random() * 3600
        player = Player(
            id=player_id,
            name=f"player-{i:07d}",
            planet=planet,
            created_at=T0 - rng.random() * 86400,
            tokens=rng.random() * RULES.burst,
            tokens_at=last,
            score=score,
            last_click_at=last,
            push_tat=last + RULES.push_interval,
        )
        for _ in range(batches):
            result = (20, 0, score, 0, None, None, 1000)
            batch_memory.remember(player, f"b{rng.getrandbits(40):010x}", result, batches)
        player.slot = state.slots.add(player_id)
        state.players[player_id] = player
        state.planets[planet].players += 1
        state.seq += 1
        all_entries.append((player.slot, score, state.seq))
        if i % 2 == 0:
            player.round_id = current.id
            player.round_score = rng.randint(1, 400)
            round_entries.append((player.slot, player.round_score, state.seq))
            current.contributions[planet][player_id] = [20] * (player.round_score // 20 or 1)
            current.totals[planet] += player.round_score
    state.all_board = Leaderboard.from_entries(all_entries, state.slots)
    state.round_board = Leaderboard.from_entries(round_entries, state.slots)
    state.version = players
    return state


def bulk_jobs(state: GameState, jobs: int) -> None:
    """``jobs`` bans over every player through the engine's commands, each cancelled at once."""
    state.index = PlayerIndex.build(state.players.values(), list(state.planets))
    signed = {"admin": "bench", "reason": "trying it out", "now": T0}
    for _ in range(jobs):
        job = commands.apply(state, AdminBulkCreate(action="ban", filter=PlayerFilter(), **signed))
        assert job["total"] == len(state.players)
        commands.apply(state, AdminBulkCancel(job_id=job["id"], **signed))


async def background_save(state: GameState, data_dir: Path) -> dict[str, float]:
    """One save through the real store and actor, with a 1 ms ticker measuring loop lateness."""
    data_dir.mkdir()
    held = take_lock(data_dir)
    journal = journal_mod.Journal(held, 1, "everysec", RULES)
    saver = Saver(held, journal, Recovered(state, None, None, None, 1))
    store = Store(state, journal, saver, held, snapshot_interval=3600)
    actor = Actor(state, SystemClock(), on_commit=store.append, tick_interval=None)
    actor.start()
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.001)
            worst = max(worst, loop.time() - before - 0.001)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    worst = 0.0
    started = time.perf_counter()
    assert await store.save(actor.between_turns)
    total = time.perf_counter() - started
    running = False
    await tick
    await actor.stop()
    status = store.saver.status
    await store.close()  # nothing changed since the save: writes nothing more
    return {
        "bytes": status.last_bytes,
        "save_s": total,
        "fork_ms": status.last_fork_ms,
        "stall_ms": worst * 1000,
    }


def journal_figures(records: int, data_dir: Path) -> dict[str, float]:
    """Append cost per turn and replay rate, on a journal of pushes from 10,000 players."""
    data_dir.mkdir()
    held = DataDir.open(data_dir)
    state = new_state(RULES, PLANETS)
    journal = journal_mod.Journal(held, 1, "no", RULES)
    tick = Tick(now=T0)
    commands.apply(state, tick)
    journal.append([tick])
    ids = [f"p{i:05d}" for i in range(10_000)]
    for player_id in ids:
        cmd = CreatePlayer(player_id=player_id, now=T0)
        commands.apply(state, cmd)
        journal.append([cmd])
    rng = random.Random(7)
    now = T0 + 1
    turn: list[Command] = []
    append_seconds = 0.0
    turns = 0
    for n in range(records):
        player_id = ids[n % len(ids)]
        if n % len(ids) == 0:
            now += 1.0
        cmd = Push(player_id=player_id, batch_id=f"b{n:09d}", clicks=[rng.randint(1, 20)], now=now)
        commands.apply(state, cmd)
        turn.append(cmd)
        if len(turn) == 8:  # a typical group commit: a few pushes per turn
            started = time.perf_counter()
            journal.append(turn)
            append_seconds += time.perf_counter() - started
            turns += 1
            turn = []
    journal.close()
    started = time.perf_counter()
    recovered = recover(held, RULES, PLANETS, start_empty=False)
    replay_seconds = time.perf_counter() - started
    held.close()
    return {
        "records": recovered.replayed,
        "replay_per_s": recovered.replayed / replay_seconds,
        "append_us_turn": append_seconds / turns * 1e6,
        "append_us_record": append_seconds / (turns * 8) * 1e6,
    }


def fsync_always_cost(data_dir: Path, turns: int = 200) -> float:
    """Microseconds per append with FSYNC=always: the price of durability against power loss."""
    data_dir.mkdir()
    held = DataDir.open(data_dir)
    journal = journal_mod.Journal(held, 1, "always", RULES)
    turn = [Push(player_id="p", batch_id=f"b{i}", clicks=[5], now=T0) for i in range(8)]
    started = time.perf_counter()
    for _ in range(turns):
        journal.append(turn)
    seconds = time.perf_counter() - started
    journal.close()
    held.close()
    return seconds / turns * 1e6


def server_figures(server: server_process.Server, players: int) -> dict[str, float]:
    """The RSS of a real server holding the loaded state, at /readyz and after a short idle."""
    process = psutil.Process(server.pid)
    times = process.cpu_times()
    cpu_ready = times.user + times.system
    rss_ready = process.memory_info().rss
    time.sleep(IDLE_SECONDS)  # the figure after ticks and broadcasts have run, not a sync
    rss_idle = process.memory_info().rss
    with urllib.request.urlopen(server.url + "/api/snapshot", timeout=10) as response:
        served = json.loads(response.read())
    assert served["players_total"] == players, served["players_total"]
    return {"rss_ready": rss_ready, "rss_idle": rss_idle, "cpu_ready": cpu_ready}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=1, help="remembered batch ids a player")
    parser.add_argument("--records", type=int, default=200_000, help="pushes in the journal")
    parser.add_argument("--bulk-jobs", type=int, default=10, help="bulk jobs over everyone")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("ctb.persistence").setLevel(logging.ERROR)  # the figures, not the log
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="persist-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        state = build(args.players, args.batches, args.seed)
        bulk_jobs(state, args.bulk_jobs)
        gc.collect()
        build_s = time.perf_counter() - started
        rss_built = process.memory_info().rss
        print(f"players                {args.players:,} ({args.batches} batch id(s) each)")
        print(f"bulk jobs              {args.bulk_jobs} over every player, cancelled at once")
        print(f"state built in         {build_s:.1f} s, RSS {rss_built / 2**20:,.0f} MiB")

        uvloop.install()
        save = asyncio.run(background_save(state, root / "data"))
        print(f"snapshot bytes         {save['bytes']:,} ({save['bytes'] / 2**20:,.1f} MiB)")
        print(f"background save        {save['save_s']:.2f} s from fork to durable rename")
        print(f"fork                   {save['fork_ms']:.1f} ms (inside one actor turn)")
        print(f"longest loop stall     {save['stall_ms']:.1f} ms (target < 50 ms)")

        fingerprint = (len(state.players), state.version, list(state.all_board.top(3)))
        del state
        gc.collect()
        started = time.perf_counter()
        settings = Settings(data_dir=root / "data", snapshot_interval=3600)
        store = open_store(settings, PLANETS)
        load_s = time.perf_counter() - started
        loaded = store.state
        assert (len(loaded.players), loaded.version, list(loaded.all_board.top(3))) == fingerprint
        print(f"load in this process   {load_s:.2f} s (checks, decode, both leaderboards)")
        asyncio.run(store.close())
        del store, loaded
        gc.collect()

        server = server_process.start(root / "data", root / "server.log", SERVER_ENV)
        try:
            figures = server_figures(server, fingerprint[0])
        finally:
            server.stop()
        print(f"server start to ready  {server.ready_after:.2f} s (target < 5 s)")
        print(
            f"  its CPU time by then  {figures['cpu_ready']:.2f} s (what the start cost; the wall "
            "time also holds what other processes took of the cores)"
        )
        print(
            f"server RSS when ready  {figures['rss_ready'] / 2**20:,.0f} MiB, "
            f"{figures['rss_idle'] / 2**20:,.0f} MiB after {IDLE_SECONDS:.0f} s idle "
            "(target < 1024 MiB)"
        )

        journal = journal_figures(args.records, root / "journal")
        print(
            f"journal replay         {journal['replay_per_s']:,.0f} records/s "
            f"({journal['records']:,} records)"
        )
        print(
            f"journal append         {journal['append_us_turn']:.1f} µs per turn of 8 pushes "
            f"({journal['append_us_record']:.2f} µs per push), FSYNC=everysec/no"
        )
        always_us = fsync_always_cost(root / "always")
        print(f"journal append         {always_us:.0f} µs per turn of 8 pushes with FSYNC=always")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"peak RSS               {peak:,.0f} MiB (this process; the save's child not counted)"
        )


if __name__ == "__main__":
    main()
