"""The bus's transport through a real Redis: pushes/s, reply latency and who pays the CPU.

A stand-in engine (``bench/bus_roles.py``) reads command entries from the command stream
(``XREAD BLOCK COUNT``), decodes them through the journal's tagged union (``bus/wire.py``) and
answers every call on its gateway's reply stream. With ``--engine none`` the answer is a ready
``PushResult`` (the transport alone); with ``--engine real`` each push runs through
``engine.commands.apply`` on a game of ``--players`` players, as ``engine_bench.py`` does (no
journal: the store's cost is measured elsewhere).

Two ways to run it:

- **closed loop** (default): ``--gateways`` processes each keep ``--in-flight`` pushes waiting (a
  push answered is replaced at once), the calls of one event-loop pass in one entry. Measured
  over ``--duration`` seconds after ``--warmup``: acknowledged pushes/s, reply latency (call
  made -> reply read) p50/p99, the engine's and the gateways' CPU, Redis's CPU (``INFO cpu``) and
  commands/s (``INFO stats``), calls per entry and entries per ``XREAD``.
- **drain** (``--drain N``): N pushes are queued first in entries of ``--batch`` calls, then the
  engine alone answers them all: what one engine core carries when the gateways run elsewhere,
  and which batch sizes it needs. Reported per batch size: pushes/s, the engine's CPU share,
  pushes per engine CPU-second (µs each), Redis's CPU and commands/s.

Everything shares the machine: the CPU-second figures hold on a busy one, the per-second ones
do not. Run: ``python bench/bus_bench.py``, ``python bench/bus_bench.py --drain 200000`` or
``python bench/bus_bench.py --engine real --drain 200000 --batch 10 100``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import pstats
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bus_roles import COMMANDS, Engine, Gateway

from bus import wire
from engine.command_types import Push
from tests.redis_server import RedisServer

TURN = 1024  # calls a drained read takes at most, unless --count says otherwise

# -- processes and the report -----------------------------------------------------------------


def engine_process(pipe: Connection, url: str, args: dict[str, Any]) -> None:
    engine = Engine(url, args["engine"], args["players"], args["online"], args["count"])
    pipe.send("ready")
    start, end = pipe.recv()
    if not args["profile"]:
        pipe.send(uvloop.run(engine.run(start, end)))
        return
    profiler = cProfile.Profile()
    stats = profiler.runcall(uvloop.run, engine.run(start, end))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    stats["profile"] = out.getvalue()
    pipe.send(stats)


def gateway_process(pipe: Connection, url: str, name: str, first: int, players: int) -> None:
    gateway = Gateway(url, name, first, players)
    pipe.send("ready")
    start, end = pipe.recv()
    pipe.send(uvloop.run(gateway.run(start, end)))


def redis_cpu(client: redis.Redis) -> tuple[float, int]:
    cpu, stats = client.info("cpu"), client.info("stats")
    return cpu["used_cpu_sys"] + cpu["used_cpu_user"], stats["total_commands_processed"]


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def run_once(url: str, args: argparse.Namespace, in_flight: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")  # each process starts clean: no loop or socket inherited
    client = redis.Redis.from_url(url)
    client.flushall()  # the engine reads its stream from the start: nothing of an earlier run
    online = args.gateways * in_flight
    options = {
        "engine": args.engine,
        "players": max(args.players, online),
        "online": online,
        "count": args.count or 256,
        "profile": args.profile,
    }
    pipes, procs = [], []
    mine, theirs = ctx.Pipe()
    procs.append(ctx.Process(target=engine_process, args=(theirs, url, options)))
    pipes.append(mine)
    for g in range(args.gateways):
        mine, theirs = ctx.Pipe()
        name = f"gw{g}"
        procs.append(
            ctx.Process(target=gateway_process, args=(theirs, url, name, g * in_flight, in_flight))
        )
        pipes.append(mine)
    for proc in procs:
        proc.start()
    for pipe in pipes:
        assert pipe.recv() == "ready"
    start = time.time() + args.warmup
    end = start + args.duration
    for pipe in pipes:
        pipe.send((start, end))
    time.sleep(max(0.0, start - time.time()))
    cpu_before, ops_before = redis_cpu(client)
    time.sleep(max(0.0, end - time.time()))
    cpu_after, ops_after = redis_cpu(client)
    client.close()
    engine, *gateways = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join(30)
    latencies = [x for g in gateways for x in g["latencies"]]
    answered = sum(g["answered"] for g in gateways)
    if "profile" in engine:
        print(engine["profile"])
    return {
        "in_flight": online,
        "pushes_s": answered / args.duration,
        "refused": sum(g["refused"] for g in gateways),
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "engine_cpu": engine["cpu"] / args.duration,
        "engine_per_cpu_s": engine["calls"] / engine["cpu"] if engine["cpu"] else 0.0,
        "gateway_cpu": sum(g["cpu"] for g in gateways) / args.duration,
        "redis_cpu": (cpu_after - cpu_before) / args.duration,
        "redis_ops_s": (ops_after - ops_before) / args.duration,
        "calls_per_entry": engine["calls"] / max(1, engine["entries"]),
        "entries_per_read": engine["entries"] / max(1, engine["reads"]),
    }


def fill(client: redis.Redis, total: int, batch: int, gateways: int, online: int) -> None:
    """Queue ``total`` pushes in entries of ``batch`` calls, as gateways would have sent them."""
    pipe = client.pipeline(transaction=False)
    for entry, first in enumerate(range(0, total, batch)):
        calls = [
            (n + 1, Push(player_id=f"p{n % online}", batch_id=f"d{n}", clicks=[5]))
            for n in range(first, min(first + batch, total))
        ]
        pipe.xadd(COMMANDS, {b"m": wire.encode_calls(f"gw{entry % gateways}", calls)})
        if len(pipe) >= 1000:
            pipe.execute()
    pipe.execute()


def run_drain(url: str, args: argparse.Namespace, batch: int) -> dict[str, Any]:
    """One engine answering a full stream: what one core carries with gateways elsewhere."""
    client = redis.Redis.from_url(url)
    client.flushall()
    fill(client, args.drain, batch, args.gateways, args.online)
    # A read's calls make one turn: kept near the actor's 1,024 messages a turn, so no turn holds
    # the loop long enough for a reply's time bound to run out while it waits (see the docs).
    count = args.count or max(1, TURN // batch)
    engine = Engine(url, args.engine, max(args.players, args.online), args.online, count)
    cpu_before, ops_before = redis_cpu(client)
    stats = uvloop.run(engine.drain(args.drain))
    cpu_after, ops_after = redis_cpu(client)
    client.close()
    wall = stats["wall"]
    return {
        "batch": batch,
        "pushes_s": stats["calls"] / wall,
        "engine_cpu": stats["cpu"] / wall,
        "per_cpu_s": stats["calls"] / stats["cpu"],
        "us_per_push": stats["cpu"] / stats["calls"] * 1e6,
        "redis_cpu": (cpu_after - cpu_before) / wall,
        "redis_ops_s": (ops_after - ops_before) / wall,
        "calls_per_read": stats["calls"] / max(1, stats["reads"]),
        "dropped": stats["dropped"],
    }


def drain_table(url: str, args: argparse.Namespace) -> None:
    print(f"drain: engine={args.engine} {args.drain:,} pushes queued by {args.gateways} gateways")
    print(
        "calls/entry | pushes/s | engine CPU | pushes/CPU-s | µs/push | Redis CPU | "
        "Redis cmds/s | calls/XREAD"
    )
    for batch in args.batch:
        r = run_drain(url, args, batch)
        print(
            f"{r['batch']:,} | {r['pushes_s']:,.0f} | {r['engine_cpu']:.2f} | "
            f"{r['per_cpu_s']:,.0f} | {r['us_per_push']:.1f} | {r['redis_cpu']:.2f} | "
            f"{r['redis_ops_s']:,.0f} | {r['calls_per_read']:,.0f}",
            flush=True,
        )
        if r["dropped"]:
            print(f"  ({r['dropped']:,} replies dropped while Redis was cut off)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("none", "real"), default="none")
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument(
        "--in-flight", type=int, nargs="+", default=[100, 500, 2000], help="per gateway"
    )
    parser.add_argument("--players", type=int, default=100_000, help="in the game (--engine real)")
    parser.add_argument(
        "--count", type=int, help=f"XREAD COUNT of the engine (default 256; {TURN:,} calls --drain)"
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--redis-url", help="an existing Redis (default: start one)")
    parser.add_argument("--profile", action="store_true", help="where the engine's time goes")
    parser.add_argument(
        "--drain", type=int, default=0, help="queue this many pushes first; time the engine alone"
    )
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[1, 10, 100, 1000], help="calls/entry (--drain)"
    )
    parser.add_argument("--online", type=int, default=10_000, help="players pushing (--drain)")
    args = parser.parse_args()
    server = None
    if args.redis_url is None:
        server = RedisServer(Path(tempfile.mkdtemp(prefix="bus-bench-")))
        server.start()
    url = args.redis_url or server.url  # type: ignore[union-attr]
    if args.drain:
        try:
            drain_table(url, args)
        finally:
            if server is not None:
                server.stop()
        return
    print(
        f"engine={args.engine} gateways={args.gateways} duration={args.duration:.0f}s "
        f"(XREAD COUNT {args.count or 256})"
    )
    head = (
        "in flight | pushes/s | p50 ms | p99 ms | engine CPU | engine pushes/CPU-s | "
        "gateways CPU | Redis CPU | Redis cmds/s | calls/entry | entries/XREAD"
    )
    print(head)
    try:
        for in_flight in args.in_flight:
            r = run_once(url, args, in_flight)
            print(
                f"{r['in_flight']:,} | {r['pushes_s']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['engine_cpu']:.2f} | {r['engine_per_cpu_s']:,.0f} | "
                f"{r['gateway_cpu']:.2f} | {r['redis_cpu']:.2f} | {r['redis_ops_s']:,.0f} | "
                f"{r['calls_per_entry']:.1f} | {r['entries_per_read']:.1f}",
                flush=True,
            )
            if r["refused"]:
                print(f"  ({r['refused']:,} pushes refused by the engine's rules)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
