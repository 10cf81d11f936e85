"""Where the server's memory goes: the PSS of its process tree at each stage of a load, and why.

The peer benchmark reports the peak PSS (proportional set size: a page that two processes share
counts half in each) of the server's process tree, the snapshot child included. This probe
starts a real server (``run.py`` with a temporary ``DATA_DIR``, as ``bench/server_process.py``
does), or with ``--bare FILE`` the peer benchmark's bare aiohttp server, and sums
``/proc/PID/smaps_rollup`` over the tree at each stage:

- ``idle``: started, no player;
- ``players``: ``--clients`` players made through ``POST /api/session`` (the project only);
- ``connected``: each with an open WebSocket (``POST /api/ws-token``, ``GET /ws``), silent;
- ``pushing``: every client pushes a batch a second for ``--seconds``. The tree is read every
  50 ms, every 5 ms while a snapshot child lives: the peak, the peak without a child, and what
  each child added to the tree's anonymous PSS over the reading before it (the pages the child
  and the server copied from each other, and the child's own buffers). The server's log gives
  each child's life and page faults, its own and the server's.

Each stage gives its step over the one before, per client. The anonymous PSS is the steadier
figure: file-backed pages (libpython, the extensions) are shared with every process that maps
the same files, this one included.

``--trace`` runs the server under ``tracemalloc`` instead (a run of its own: tracing slows it
and swells it) and prints the Python allocations each stage added per client, by source file
(``--lines N``: the top N lines). ``--imports`` prints what each package ``run.py`` imports adds
to a fresh interpreter's PSS, each on top of the ones before.

    python bench/memory_probe.py --clients 1000 --seconds 20
    python bench/memory_probe.py --clients 1000 --bare ../peer-bench/peers/aiohttp_bare/server.py
    python bench/memory_probe.py --clients 1000 --trace --lines 40
    python bench/memory_probe.py --imports

The clients run in this process (``bench/ws_clients.py``), light enough for a thousand or two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("Pss", "Pss_Anon")
# In the order run.py meets them; each is measured on top of the ones before.
IMPORTS = (
    "asyncio",
    "uvloop",
    "aiohttp.web",
    "orjson",
    "msgspec",
    "msgpack",
    "jwt",
    "prometheus_client",
    "numpy",
    "importlib.metadata",
    "settings",
    "engine.state",
    "persistence.store",
    "actor.actor",
    "server.app",
    "run",
)


def rollup(pid: int) -> dict[str, int]:
    """The kB figures of ``FIELDS`` for one process; empty when it is gone."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in FIELDS:
                    out[name] = int(rest.split()[0])
    except (OSError, ValueError):
        return {}
    return out


def children(pid: int) -> list[int]:
    """The pid's children: a snapshot child, when one lives."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    return kids


def minor_faults(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rfind(b")") + 2 :].split()[7])  # field 10, minflt


@dataclass(slots=True)
class Reading:
    pss: int  # kB, the whole tree
    anon: int  # kB, the tree's anonymous PSS: what a copy on write adds shows here alone
    parent: dict[str, int]
    child: dict[str, int] = field(default_factory=dict)  # a snapshot child's, when one lives


def read_tree(pid: int) -> Reading:
    """The tree's PSS, its children listed before and after: a reading of the parent taken as
    it forks would count the pages it is about to share once whole and once half."""
    while True:
        kids = children(pid)
        parent = rollup(pid)
        reading = Reading(parent.get("Pss", 0), parent.get("Pss_Anon", 0), parent)
        for kid in kids:
            figures = rollup(kid)
            reading.pss += figures.get("Pss", 0)
            reading.anon += figures.get("Pss_Anon", 0)
            if figures:
                reading.child = figures
        if children(pid) == kids:
            return reading


# -- the server ---------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, tmp: Path, trace_dir: Path | None) -> Any:
    import server_process

    script = args.bare or str(ROOT / "run.py")
    argv = [sys.executable, script]
    if trace_dir is not None:
        argv[1:1] = [str(Path(__file__).resolve()), "--serve-traced", str(trace_dir)]
    if args.bare:
        port = server_process.free_port()
        argv += ["--port", str(port), "--max-seconds", "900"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # bare aiohttp has no readiness route
        return server_process.Server(proc, port, tmp / "bare.log", 3.0)
    env = {"MAX_CONNECTIONS_PER_ADDRESS": "100000", "CLICK_PUSH_RATE": "1.0", "LOG_LEVEL": "INFO"}
    return server_process.start(tmp / "data", tmp / "server.log", env, argv=argv)


def serve_traced(out: Path, argv: list[str]) -> None:
    """Run the server script ``argv`` under tracemalloc; SIGUSR1 dumps the live allocations to
    ``out``/N.trace."""
    tracemalloc.start(1)
    dumps = iter(range(1000))

    def dump(_signum: int, _frame: Any) -> None:
        path = out / f"{next(dumps)}.trace"
        tracemalloc.take_snapshot().dump(f"{path}.tmp")
        os.rename(f"{path}.tmp", path)

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = argv
    sys.path.insert(0, str(Path(argv[0]).resolve().parent))
    runpy.run_path(argv[0], run_name="__main__")


def take_trace(pid: int, out: Path, n: int) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    path = out / f"{n}.trace"
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the traced server did not dump its allocations")
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(str(path))


# -- the clients --------------------------------------------------------------------------------


async def connect_clients(port: int, tokens: list[str], stats: Any) -> list[Any]:
    """One socket per player token; bare aiohttp takes any token and makes a player of it."""
    from ws_clients import Client, connect, connect_all

    if tokens[0] != "x":
        return await connect_all(stats, port, tokens, 0)
    limit = asyncio.Semaphore(64)

    async def one(i: int) -> Any:
        async with limit:
            return await connect(stats, port, "x", i, Client)

    return list(await asyncio.gather(*(one(i) for i in range(len(tokens)))))


async def push_phase(pid: int, clients: list[Any], seconds: float) -> dict[str, Any]:
    """Every client pushes once a second; the tree is read every 50 ms, every 5 ms while a
    snapshot child lives. A child's cost is the most the tree's anonymous PSS rose during its
    life over the last reading before it."""
    from ws_clients import schedule_pushes

    now = time.monotonic()
    schedule_pushes(clients, 1.0, now + 0.1, now + seconds)
    faults = minor_faults(pid)
    peak = peak_without = 0
    base = read_tree(pid)  # the last reading without a child
    costs: list[int] = []  # kB, one per child seen
    in_child = False
    end = now + seconds
    while time.monotonic() < end:
        reading = read_tree(pid)
        peak = max(peak, reading.pss)
        if reading.child:
            if not in_child:
                costs.append(0)
                in_child = True
            costs[-1] = max(costs[-1], reading.anon - base.anon)
            await asyncio.sleep(0.005)
            continue
        in_child = False
        base = reading
        peak_without = max(peak_without, reading.pss)
        await asyncio.sleep(0.05)
    costs.sort()
    return {
        "peak": peak,
        "peak_without_child": peak_without,
        "children": len(costs),
        "child_costs": costs,
        "parent_minor_faults": minor_faults(pid) - faults,
    }


# -- the report ---------------------------------------------------------------------------------


def snapshot_lines(log: Path) -> str:
    """The snapshot children's figures from the server's log: how long each lived, the server's
    page faults meanwhile (``faults``, mostly copies of pages it shared with the child) and the
    child's own (``child_faults``); and the collector's work over the run."""
    saves, gc = [], []
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            if '"event":"snapshot"' in line:
                saves.append(json.loads(line))
            elif '"event":"gc_pauses"' in line:
                gc.append(json.loads(line))
    if not saves:
        return "no snapshot written"
    ms = sorted(s["ms"] for s in saves)
    faults = sorted(s["faults"] for s in saves)
    child = sorted(s["child_faults"] for s in saves)
    line = (
        f"{len(saves)} snapshots, median (max): lived {ms[len(ms) // 2]} ms ({ms[-1]}), server"
        f" faults {faults[len(faults) // 2]} ({faults[-1]}), child faults"
        f" {child[len(child) // 2]} ({child[-1]}); the last {saves[-1]['bytes']} bytes"
    )
    if gc:
        line += f"; collections by generation {gc[0]['collections']}"
    return line


def per_client(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int, key: str, top: int
) -> list[str]:
    """The allocations that ``after`` holds over ``before``, per client, by ``key``."""
    lines = []
    stats = after.compare_to(before, key)
    for stat in stats[:top]:
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        if key == "lineno":
            where += f":{frame.lineno}"
        lines.append(f"    {stat.size_diff / n:9.0f} B  {stat.count_diff / n:6.1f} blocks  {where}")
    whole = sum(s.size_diff for s in stats)
    lines.append(f"    {whole / n:9.0f} B  in all")
    return lines


async def probe(args: argparse.Namespace) -> None:
    from ws_clients import Stats
    from ws_load import create_players

    with tempfile.TemporaryDirectory(prefix="memory-probe-") as name:
        tmp = Path(name)
        trace_dir = tmp / "traces" if args.trace else None
        if trace_dir is not None:
            trace_dir.mkdir()
        server = start_server(args, tmp, trace_dir)
        pid, n = server.pid, args.clients
        traces: list[tracemalloc.Snapshot] = []
        stages: list[tuple[str, Reading]] = []

        async def stage(label: str) -> None:
            # The most of three readings between two saves: a reading taken while the server
            # forks, before the child shows, finds the parent's pages already half shared.
            readings: list[Reading] = []
            deadline = time.monotonic() + 10
            while len(readings) < 3 and time.monotonic() < deadline:
                reading = read_tree(pid)
                if not reading.child:
                    readings.append(reading)
                await asyncio.sleep(0.02)
            reading = max(readings, key=lambda r: r.pss)
            step = ""
            if stages:
                last = stages[-1][1]
                step = (
                    f"  +{(reading.pss - last.pss) * 1024 / n:6.0f} B a client"
                    f" (anon +{(reading.anon - last.anon) * 1024 / n:.0f} B)"
                )
            stages.append((label, reading))
            if trace_dir is not None:
                traces.append(take_trace(pid, trace_dir, len(traces)))
            pss, anon = reading.pss / 1024, reading.anon / 1024
            print(f"{label:9s}  PSS {pss:6.1f} MB (anon {anon:.1f}){step}")

        try:
            await asyncio.sleep(2.0)
            await stage("idle")
            tokens = ["x"] * n
            if not args.bare:
                tokens = await create_players(server.port, n)
                await asyncio.sleep(1.0)
                await stage("players")
            stats = Stats()
            clients = await connect_clients(server.port, tokens, stats)
            if stats.errors:
                print(f"{stats.errors} errors: {stats.error_samples[:3]}")
            await asyncio.sleep(3.0)
            await stage("connected")
            if not args.trace:
                push = await push_phase(pid, clients, args.seconds)
                over = (push["peak_without_child"] - stages[0][1].pss) * 1024 / n
                print(
                    f"pushing    peak PSS {push['peak'] / 1024:.1f} MB, without a child "
                    f"{push['peak_without_child'] / 1024:.1f} MB ({over:.0f} B a client over idle)"
                )
                costs = " ".join(f"{kb / 1024:.1f}" for kb in push["child_costs"])
                print(
                    f"           {push['children']} snapshot children added to the anon PSS"
                    f" (MB, least first): {costs}; the server's minor faults"
                    f" {push['parent_minor_faults']}"
                )
            for client in clients:
                if client.transport is not None:
                    client.transport.close()
        finally:
            server.stop()
        if not args.bare:
            print(snapshot_lines(server.log))
        for (first, _), (second, _), before, after in zip(
            stages, stages[1:], traces, traces[1:], strict=False
        ):
            key = "lineno" if args.lines else "filename"
            print(f"traced Python allocations a client, {first} -> {second}, by {key}:")
            print("\n".join(per_client(before, after, n, key, args.lines or 14)))


IMPORT_COSTS = """
import importlib, sys
def pss():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
sys.path.insert(0, sys.argv[1])
last = pss()
print(f"{'interpreter':20s} {last:7d} kB")
for module in sys.argv[2:]:
    importlib.import_module(module)
    now = pss()
    print(f"{module:20s} {now - last:+7d} kB")
    last = now
print(f"{'in all':20s} {last:7d} kB")
"""


def import_costs() -> None:
    """PSS added by each of ``IMPORTS``, in a fresh interpreter."""
    subprocess.run([sys.executable, "-c", IMPORT_COSTS, str(ROOT), *IMPORTS], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the push phase")
    parser.add_argument("--bare", help="the bare aiohttp server's server.py instead of run.py")
    parser.add_argument("--trace", action="store_true", help="tracemalloc steps per client")
    parser.add_argument("--lines", type=int, default=0, help="with --trace: top N lines")
    parser.add_argument("--imports", action="store_true", help="PSS each import adds")
    parser.add_argument("--serve-traced", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.serve_traced is not None:
        serve_traced(args.serve_traced, rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.imports:
        import_costs()
        return
    import uvloop

    sys.path.insert(0, str(ROOT / "bench"))
    from ws_load import raise_nofile

    raise_nofile()
    uvloop.run(probe(args))


if __name__ == "__main__":
    main()
