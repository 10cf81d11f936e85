"""The real engine's throughput through Redis: acknowledged pushes/s, reply latency, who pays.

The issue's target (SPEC §11): at least 30,000 acknowledged pushes a second on one engine core,
fed as gateways would feed it. This bench starts a ``redis-server`` on a free port and the real
engine process (``python run.py`` with ``ROLE=engine``: actor, journal, snapshots, the engine's
host on the bus), creates ``--players`` players through the bus, then ``--gateways`` feeder
processes (``bench/cluster_feeder.py``) each hold the gateway's own ``RemoteGame`` and keep
``--in-flight`` pushes waiting, replacing each answered push at once.

Measured over ``--duration`` seconds after ``--warmup``: acknowledged pushes/s (a reply after
the journal commit, ``PushResult``), refusals by code, reply latency p50/p99/max (``send`` to the
reply callback), the engine process's CPU (psutil), the feeders' CPU, Redis's CPU (``INFO
cpu``) and commands/s (``INFO stats``), the engine's turns (from its heartbeat, so pushes per
turn is within half a second's turns) and the journal's bytes. The throttle is set wide
(``CLICK_PUSH_RATE=0.05``, ``MAX_CPS=1000``, ``BURST_SECONDS=3600``) so no push is refused for
its rate; a throttled reply would still count as acknowledged (it is one) and is reported apart.

``--profile SECONDS`` runs one more window of that length at the first setting with py-spy
(and perf, if installed) recording the engine, and prints where its time goes
(``bench/cluster_profile.py``); ``--cprofile`` runs the engine under cProfile instead (slower,
but every call counted). Run: ``python bench/cluster_bench.py`` or ``python
bench/cluster_bench.py --in-flight 64 512 --profile 8``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import psutil
import redis
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluster_feeder import create_players, feeder_process, player_ids, refusal_codes
from cluster_profile import Profiler, cprofile_report

from bus.gateway import RemoteGame
from tests.redis_server import RedisServer, _die_with_parent

ROOT = Path(__file__).resolve().parents[1]
ENGINE_ENV = {
    "ROLE": "engine",
    "SECRET_KEY": "bench-secret-key-of-at-least-32-bytes!!",
    "ADMIN_TOKEN": "bench-admin-token-0123456789",
    "SNAPSHOT_INTERVAL": "3600",
    "CLICK_PUSH_RATE": "0.05",  # push bucket: 40 pushes/s a player, 3 back to back
    "MAX_CPS": "1000",
    "BURST_SECONDS": "3600",
    "ROUND_TARGET": str(10**12),  # one round for the whole run
    "ROUND_SECONDS": "604800",
    "LOG_LEVEL": "WARNING",
}

# The engine under cProfile; ``run.main`` returns on SIGTERM, so the profile is written. Timed
# by the wall clock: a CPU clock (``time.thread_time``) is a system call of 1.4 µs here, which
# made the profiler itself cost 30 times the engine's work.
PROFILED = """
import cProfile, sys
sys.path.insert(0, {root!r})
sys.argv = ["run.py"]
import run
profiler = cProfile.Profile()
profiler.enable()
try:
    run.main()
finally:
    profiler.disable()
    profiler.dump_stats({out!r})
"""


class Engine:
    """``python run.py`` as the engine role, in a data directory of its own."""

    def __init__(self, url: str, data_dir: Path, fsync: str, cprofile: Path | None) -> None:
        self.data_dir = data_dir
        env = {**os.environ, **ENGINE_ENV, "REDIS_URL": url, "DATA_DIR": str(data_dir)}
        env["FSYNC"] = fsync
        self.log = (data_dir.parent / "engine.log").open("wb")
        run = ["-c", PROFILED.format(root=str(ROOT), out=str(cprofile))] if cprofile else []
        self.proc = subprocess.Popen(
            [sys.executable, *(run or [str(ROOT / "run.py")])],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> tuple[float, float]:
        """User and system CPU seconds so far."""
        times = self.ps.cpu_times()
        return times.user, times.system

    def journal_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data_dir.glob("journal-*.log"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def redis_figures(client: redis.Redis) -> tuple[float, int]:
    cpu, stats = client.info("cpu"), client.info("stats")
    return cpu["used_cpu_sys"] + cpu["used_cpu_user"], stats["total_commands_processed"]


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


class Sample:
    """What the engine, Redis and the disk have done so far; two of them make a window."""

    def __init__(self, engine: Engine, client: redis.Redis, game: RemoteGame) -> None:
        self.at = time.perf_counter()
        self.engine_cpu = engine.cpu()
        self.redis_cpu, self.redis_ops = redis_figures(client)
        self.journal = engine.journal_bytes()
        self.turns = (game.alive.get("figures") or {}).get("actor_turns", 0)


async def run_setting(
    url: str, engine: Engine, game: RemoteGame, args: argparse.Namespace, in_flight: int,
    profiler: Profiler | None,
) -> dict[str, Any]:  # fmt: skip
    """One window at ``in_flight`` pushes per feeder; the feeders start and end with it. A
    profiled window lasts as long as the profile."""
    duration = args.duration if profiler is None else profiler.seconds
    loop = asyncio.get_running_loop()
    ctx = mp.get_context("spawn")
    ids = player_ids(args.players)
    share = len(ids) // args.gateways
    pipes, procs = [], []
    for g in range(args.gateways):
        mine, theirs = ctx.Pipe()
        options = {
            "players": ids[g * share : (g + 1) * share],
            "in_flight": in_flight,
            "seed": g,
        }
        name = f"bench-gw{g}-{in_flight}"
        procs.append(ctx.Process(target=feeder_process, args=(theirs, url, name, options)))
        pipes.append(mine)
    for proc in procs:
        proc.start()
    try:
        for pipe in pipes:
            said = await loop.run_in_executor(None, pipe.recv)
            if said != "ready":
                raise RuntimeError(said)
        start = time.time() + args.warmup
        end = start + duration
        for pipe in pipes:
            pipe.send((start, end))
        client = redis.Redis.from_url(url)
        await asyncio.sleep(max(0.0, start - time.time()))
        before = Sample(engine, client, game)
        if profiler is not None:
            profiler.start(engine.proc.pid)
        await asyncio.sleep(max(0.0, end - time.time()))
        after = Sample(engine, client, game)
        client.close()
        results = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
    finally:
        for proc in procs:
            await loop.run_in_executor(None, proc.join, 30)
            if proc.is_alive():
                proc.kill()
    wall = after.at - before.at
    latencies = sorted(x for r in results for x in array("d", r["latencies"]))
    acked = sum(r["acked"] for r in results)
    user = after.engine_cpu[0] - before.engine_cpu[0]
    engine_cpu = user + after.engine_cpu[1] - before.engine_cpu[1]
    turns = after.turns - before.turns
    return {
        "in_flight": in_flight * args.gateways,
        "pushes_s": acked / duration,
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "engine_cpu": engine_cpu / wall,
        "engine_sys": 1 - user / engine_cpu if engine_cpu else 0.0,
        "per_cpu_s": acked / engine_cpu if engine_cpu else 0.0,
        "feeders_cpu": sum(r["cpu"] for r in results) / duration,
        "redis_cpu": (after.redis_cpu - before.redis_cpu) / wall,
        "redis_ops_s": (after.redis_ops - before.redis_ops) / wall,
        "journal_mb_s": (after.journal - before.journal) / wall / 1e6,
        "pushes_turn": acked / turns if turns else float("nan"),
        "throttled": sum(r["throttled"] for r in results),
        "refused": refusal_codes(results),
        "unanswered": sum(r["unanswered"] for r in results),
    }


HEAD = (
    "in flight | acked pushes/s | p50 ms | p99 ms | max ms | engine CPU (system) | "
    "pushes/engine CPU-s | feeders CPU | Redis CPU | Redis cmds/s | journal MB/s | pushes/turn"
)


def row(r: dict[str, Any]) -> str:
    return (
        f"{r['in_flight']:,} | {r['pushes_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
        f"{r['max_ms']:.0f} | {r['engine_cpu']:.2f} ({r['engine_sys']:.0%}) | "
        f"{r['per_cpu_s']:,.0f} | {r['feeders_cpu']:.2f} | {r['redis_cpu']:.2f} | "
        f"{r['redis_ops_s']:,.0f} | "
        f"{r['journal_mb_s']:.2f} | {r['pushes_turn']:.0f}"
    )


def show(r: dict[str, Any], note: str = "") -> None:
    print(row(r) + (f" ({note})" if note else ""), flush=True)
    if r["throttled"] or r["refused"] or r["unanswered"]:
        print(
            f"  (throttled but acknowledged {r['throttled']:,}; refused {r['refused']}; "
            f"unanswered at the end {r['unanswered']:,})",
            flush=True,
        )


async def bench(url: str, data_dir: Path, args: argparse.Namespace) -> None:
    cprofile = data_dir.parent / "engine.prof" if args.cprofile else None
    engine = Engine(url, data_dir, args.fsync, cprofile)
    game = RemoteGame(url, "bench-setup")
    pushes = 0
    try:
        await game.start(wait=60.0)
        if not game.running:
            raise RuntimeError(f"the engine did not come up: {game.not_ready}")
        started = time.perf_counter()
        await create_players(game, player_ids(args.players))
        took = time.perf_counter() - started
        print(
            f"engine up; {args.players:,} players created through the bus in {took:.1f} s; "
            f"{args.gateways} feeders, {args.duration:.0f} s windows after {args.warmup:.0f} s, "
            f"FSYNC={args.fsync}",
            flush=True,
        )
        print(HEAD, flush=True)
        for in_flight in args.in_flight:
            show(await run_setting(url, engine, game, args, in_flight, None))
        if args.profile:
            profiler = Profiler(args.profile)
            show(await run_setting(url, engine, game, args, args.in_flight[0], profiler), "py-spy")
            profiler.report()
        await asyncio.sleep(1.0)  # the next heartbeat counts every call the engine read
        pushes = game.alive.get("commands", 0) - args.players  # (and a few presence reports)
    finally:
        await game.stop()
        engine.stop()
    if cprofile is not None:
        cprofile_report(cprofile, pushes)


def main() -> None:
    logging.getLogger("ctb").setLevel(logging.ERROR)  # the bus's notices while it joins
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateways", type=int, default=2, help="feeder processes")
    parser.add_argument(
        "--in-flight", type=int, nargs="+", default=[64, 512], help="pushes waiting per feeder"
    )
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--fsync", choices=("always", "everysec", "no"), default="everysec")
    parser.add_argument("--redis-url", help="an existing Redis (default: start one)")
    parser.add_argument(
        "--profile", type=float, default=0.0, help="seconds of py-spy on the engine, one more run"
    )
    parser.add_argument(
        "--cprofile", action="store_true", help="run the engine under cProfile, print its top"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    server = None
    if args.redis_url is None:
        server = RedisServer(work)
        server.start()
    url = args.redis_url or server.url  # type: ignore[union-attr]
    data_dir = work / "data"
    data_dir.mkdir()
    try:
        uvloop.run(bench(url, data_dir, args))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir)  # the journal: tens of megabytes a run


if __name__ == "__main__":
    main()
