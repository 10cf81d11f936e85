"""The bus's transport through a real Redis: commands/s, reply latency and who pays the CPU.

A stand-in engine process reads command batches from the command stream (``XREAD BLOCK COUNT``),
decodes them through the journal's tagged union (``bus/wire.py``) and answers every call on its
gateway's reply stream, each turn's replies to a gateway as one entry. With ``--engine none`` the
answer is a ready ``PushResult`` (the transport alone); with ``--engine real`` each push runs
through ``engine.commands.apply`` on a game of ``--players`` players, as ``engine_bench.py`` does
(no journal: that is the store's cost, measured elsewhere). ``--gateways`` processes each keep
``--in-flight`` pushes waiting (a closed loop: a push answered is replaced at once), batching the
calls of one event-loop pass into one stream entry, as the gateways will.

Measured over ``--duration`` seconds after ``--warmup``: acknowledged pushes per second, reply
latency (call made -> reply read) p50/p99, the engine's CPU (and so its pushes per CPU-second,
what one engine core could carry), the gateways' CPU, Redis's own CPU (``INFO cpu`` before and
after) and commands/s (``INFO stats``), and the batch sizes: calls per command entry, entries per
``XREAD``, replies per reply entry. Everything shares the machine: on 2 cores the gateways and
Redis take CPU the engine would otherwise have.

Run: ``python bench/bus_bench.py`` or, e.g.,
``python bench/bus_bench.py --engine real --gateways 2 --in-flight 500 1000 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
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

from bus import wire
from bus.redis_io import Health, Writer, connect
from bus.stream_reader import StreamReader
from engine import commands
from engine.clicks import PushResult
from engine.command_types import CreatePlayer, Push, Tick, stamped
from engine.errors import GameError
from engine.rules import Rules
from engine.state import new_state
from tests.redis_server import RedisServer

COMMANDS = "ctb:cmd"
CAP = 100_000  # entries kept per stream (MAXLEN ~)
T0 = 1_700_000_000.0
GRACE = 2.0  # seconds the engine goes on answering after the window


def reply_stream(gateway: str) -> str:
    return f"ctb:reply:{gateway}"


def window(at: float, start: float, end: float) -> bool:
    return start <= at < end


# -- the stand-in engine ----------------------------------------------------------------------


class Engine:
    """Reads command batches and answers them; counts what it did inside the window."""

    def __init__(self, url: str, mode: str, players: int, online: int, count: int) -> None:
        self.health = Health()
        self.writer = Writer(connect(url, "engine-writer"), self.health, "engine-writer")
        block = 0.05
        self.reader = StreamReader(
            connect(url, "engine-reader", block=block), self.health, COMMANDS, count=count,
            block=block, last_id="0-0",
        )  # fmt: skip
        self.replies: dict[str, Any] = {}
        self.mode = mode
        self.state = None
        if mode == "real":
            rules = Rules(round_target=10**12, round_seconds=86400.0)
            self.state = new_state(rules, ["earth", "mars"])
            commands.apply(self.state, Tick(now=T0))
            for n in range(players):
                commands.apply(self.state, CreatePlayer(player_id=f"p{n}", now=T0))
        self.step = 1.0 / max(1, online)  # game time per push: each player's pushes 1 s apart
        self.applied = 0
        self.stats = {"calls": 0, "entries": 0, "reads": 0, "cpu": 0.0}

    def answer(self, cmd: Any) -> tuple[bool, Any]:
        if isinstance(cmd, GameError):
            return False, cmd
        if self.state is None:
            return True, PushResult(cmd.batch_id, sum(cmd.clicks), 0, False, 1, 1, 1, 1, 1, 1.0)
        self.applied += 1
        now = T0 + 10 + self.applied * self.step
        try:
            return True, commands.apply(self.state, stamped(cmd, now))
        except GameError as error:
            return False, error

    async def run(self, start: float, end: float) -> dict[str, Any]:
        self.writer.start()
        stats, cpu_at, cpu_end = self.stats, None, None
        while True:
            payloads = await self.reader.read()
            now = time.time()
            if cpu_at is None and now >= start:
                cpu_at = time.process_time()
            if cpu_end is None and now >= end:
                cpu_end = time.process_time()
            if now >= end + GRACE:  # the calls made before the end are answered by now
                break
            counting = start <= now < end
            for payload in payloads:
                gateway, calls = wire.decode_calls(payload)
                rows = [(call_id, *self.answer(cmd)) for call_id, cmd in calls]
                appender = self.replies.get(gateway)
                if appender is None:
                    appender = self.writer.appender(reply_stream(gateway), CAP, wire.encode_replies)
                    self.replies[gateway] = appender
                appender.extend(rows)
                if counting:
                    stats["calls"] += len(calls)
                    stats["entries"] += 1
            if counting and payloads:
                stats["reads"] += 1
        stats["cpu"] = (cpu_end or 0.0) - (cpu_at or 0.0)
        stats["pipelines"] = self.writer.pipelines
        stats["writer_largest"] = self.writer.largest
        await self.writer.close(1.0)
        await self.reader.client.aclose()
        return stats


# -- a simulated gateway ----------------------------------------------------------------------


class Gateway:
    """``in_flight`` players, each pushing again as soon as its push is answered."""

    def __init__(self, url: str, name: str, first_player: int, players: int) -> None:
        self.name, self.first, self.players = name, first_player, players
        self.health = Health()
        self.writer = Writer(connect(url, f"{name}-writer"), self.health, f"{name}-writer")
        self.reader = StreamReader(
            connect(url, f"{name}-reader", block=0.5), self.health, reply_stream(name), count=64,
            block=0.5,
        )  # fmt: skip
        self.calls = self.writer.appender(COMMANDS, CAP, self._encode)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 1
        self.latencies: list[float] = []
        self.answered = 0
        self.refused = 0

    def _encode(self, calls: list[wire.Call]) -> bytes:
        return wire.encode_calls(self.name, calls)

    def call(self, cmd: Push) -> asyncio.Future[Any]:
        call_id, self.next_id = self.next_id, self.next_id + 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        self.calls.add((call_id, cmd))
        return future

    def on_replies(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            for call_id, _, value in wire.decode_replies(payload):
                future = self.pending.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_result(value)

    async def player(self, n: int, start: float, end: float) -> None:
        player_id, pushes = f"p{n}", 0
        while True:
            pushes += 1
            sent = time.perf_counter()
            at = time.time()
            if at >= end:
                return
            cmd = Push(player_id=player_id, batch_id=f"{self.name}-{n}-{pushes}", clicks=[5])
            reply = await self.call(cmd)  # the engine answers every call (GRACE after the end)
            if window(at, start, end):
                self.latencies.append(time.perf_counter() - sent)
                self.answered += 1
                self.refused += isinstance(reply, GameError)

    async def run(self, start: float, end: float) -> dict[str, Any]:
        self.writer.start()
        await self.reader.read()  # learn where the reply stream ends before any call
        follow = asyncio.create_task(self.reader.follow(self.on_replies))
        cpu_at = None
        players = [
            asyncio.create_task(self.player(self.first + k, start, end))
            for k in range(self.players)
        ]
        await asyncio.sleep(max(0.0, start - time.time()))
        cpu_at = time.process_time()
        await asyncio.gather(*players)
        cpu = time.process_time() - cpu_at
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
        await self.writer.close(1.0)
        await self.reader.client.aclose()
        return {
            "latencies": self.latencies,
            "answered": self.answered,
            "refused": self.refused,
            "cpu": cpu,
        }


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
        "count": args.count,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("none", "real"), default="none")
    parser.add_argument("--gateways", type=int, default=2)
    parser.add_argument(
        "--in-flight", type=int, nargs="+", default=[100, 500, 2000], help="per gateway"
    )
    parser.add_argument("--players", type=int, default=100_000, help="in the game (--engine real)")
    parser.add_argument("--count", type=int, default=256, help="XREAD COUNT of the engine")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--redis-url", help="an existing Redis (default: start one)")
    parser.add_argument("--profile", action="store_true", help="where the engine's time goes")
    args = parser.parse_args()
    server = None
    if args.redis_url is None:
        server = RedisServer(Path(tempfile.mkdtemp(prefix="bus-bench-")))
        server.start()
    url = args.redis_url or server.url  # type: ignore[union-attr]
    print(
        f"engine={args.engine} gateways={args.gateways} duration={args.duration:.0f}s "
        f"(XREAD COUNT {args.count})"
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
