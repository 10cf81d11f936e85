"""Players' pushes while an admin reads the player listing: ``python bench/admin_read_bench.py``.

Builds a game of ``--players`` players (``bench/persist_bench.py``'s state: scores, round scores,
last clicks over an hour, names ``player-NNNNNNN``), saves it and starts a real server on it.
Then ``bench/ws_load.py``'s clients (``--clients``, pushing every second over WebSockets) play
against it for ``--duration`` seconds. For the first ``--baseline`` seconds no admin asks
anything; after that, in periods of ``--phase`` seconds, an admin asks ``GET /api/admin/players``
``--listings`` times a second in every other period, with a random filter (planet, score or
round-score range, active since, status and flagged, a name part, an id prefix), a random sort
and order, a random page (1-20) and limit (50, 100, 500), and is idle in the others. A listing
is sent on schedule whether or not the previous one was answered. The periods compare like with
like within one run on a machine whose other load drifts (separate runs minutes apart differed
several times over here); the baseline shows what the game does before any listing, which
matters when listings queue up and spill over into the idle periods (as they did when they ran
inside the actor's turn).

Reported: the players' ack latency (push sent -> ack received) p50 / p95 / p99 for the pushes
sent before any listing, while the admin was idle and while it was reading, and the listings'
latency and statuses (a 429 is the admin's read budget speaking). Target: the ack p99 while
reading at most twice the one before any listing. Run: ``make bench`` (a million players:
minutes of CPU) or ``python bench/admin_read_bench.py --players 100000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import persist_bench
import server_process
import uvloop
import ws_load

ADMIN = {"Authorization": f"Bearer {server_process.BASE_ENV['ADMIN_TOKEN']}"}


def random_query(rng: random.Random, planets: list[str], t0: float) -> dict[str, Any]:
    """One listing as an admin might ask it: a filter, a sort, an order, a page and a limit."""
    query: dict[str, Any] = {
        "sort": rng.choice(["score", "round_score", "last_click", "created", "name"]),
        "order": rng.choice(["asc", "desc"]),
        "page": rng.randint(1, 20),
        "limit": rng.choice([50, 100, 500]),
    }
    choice = rng.randint(0, 6)
    if choice == 0:
        query["planet"] = rng.choice(planets)
    elif choice == 1:
        query["score_min"] = rng.randint(0, 40_000)
    elif choice == 2:
        query["round_score_min"], query["round_score_max"] = 1, rng.randint(50, 400)
    elif choice == 3:
        query["active_since"] = round(t0 + rng.uniform(0, 3600), 3)
    elif choice == 4:
        query["status"], query["flagged"] = "active", rng.choice(["true", "false"])
    elif choice == 5:
        query["search"] = f"{rng.randint(0, 999):03d}"  # a part of the names player-NNNNNNN
    else:
        query["search"] = f"{rng.randint(0, 255):02x}"  # an id prefix
    return query


async def listing_load(
    port: int, rate: float, start: float, end: float, seed: int = 1, phase: float = 0.0
) -> dict[str, Any]:
    """Ask the listing ``rate`` times a second in [start, end), in every other ``phase``
    seconds if given; latencies and statuses."""
    rng = random.Random(seed)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    times_ms: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async with http.get(f"{base}/api/snapshot") as response:
            planets = sorted(p["name"] for p in (await response.json())["planets"])

        async def one(query: dict[str, Any]) -> None:
            sent = time.monotonic()
            url = f"{base}/api/admin/players?{urlencode(query)}"
            async with http.get(url, headers=ADMIN) as response:
                body = await response.json()
            statuses[response.status] += 1
            if response.status == 200:
                latencies.append(time.monotonic() - sent)
                times_ms.append(body["query_time_ms"])

        await asyncio.sleep(max(0.0, start - time.monotonic()))
        tasks = []
        at = time.monotonic()
        while at < end:
            if not phase or int((at - start) / phase) % 2:
                query = random_query(rng, planets, persist_bench.T0)
                tasks.append(asyncio.create_task(one(query)))
            at += 1 / rate
            await asyncio.sleep(max(0.0, at - time.monotonic()))
        await asyncio.gather(*tasks)
    return {
        "listings_per_s": rate,
        "sent": len(tasks),
        "statuses": dict(statuses),
        "latency": ws_load.percentiles(latencies),
        "query_time": ws_load.percentiles([ms / 1000 for ms in times_ms]),
    }


def load_args(args: argparse.Namespace) -> argparse.Namespace:
    """``bench/ws_load.py``'s options for the run."""
    return argparse.Namespace(
        clients=args.clients,
        duration=args.duration,
        warmup=args.warmup,
        workers=1 if args.clients <= 1000 else 2,
        push_rate=1.0,
        broadcast_interval=0.25,
        profile=args.profile,
        admins=0,
        listings=args.listings,
        phase_seconds=args.phase,
        baseline_seconds=args.baseline,
        seed=args.seed,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=2000, help="WebSocket clients pushing")
    parser.add_argument("--listings", type=float, default=10.0, help="admin listings a second")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--baseline", type=float, default=20.0, help="first seconds, no admin")
    parser.add_argument("--phase", type=float, default=5.0, help="seconds reading, then idle")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument("--server-log", action="store_true", help="print the server's log tail")
    parser.add_argument("--profile", help="sample the server with py-spy; raw stacks to FILE")
    args = parser.parse_args()
    ws_load.raise_nofile()
    uvloop.install()
    with tempfile.TemporaryDirectory(prefix="admin-read-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        state = persist_bench.build(args.players, 1, args.seed)
        asyncio.run(persist_bench.background_save(state, root / "data"))
        del state
        gc.collect()
        print(f"{args.players:,} players built and saved in {time.perf_counter() - started:.0f} s")
        env = {
            **persist_bench.SERVER_ENV,
            "MAX_CONNECTIONS_PER_ADDRESS": "100000",  # every client comes from one address
            "ADMIN_RATE": "1000",
            "OVERLOAD_CPU": "1000",  # the two windows' new players must not be shed as a crowd
        }
        server = server_process.start(root / "data", root / "server.log", env)
        print(f"server ready in {server.ready_after:.1f} s")
        try:
            report = asyncio.run(ws_load.drive(load_args(args), server.port, server.proc))
        finally:
            server.stop()
            if args.server_log:
                print((root / "server.log").read_text()[-4000:], file=sys.stderr)
    alone, reading = report["ack_no_admin"], report["ack_admin_reading"]
    summary = {
        "players": args.players,
        "clients": args.clients,
        "machine": report["machine"],
        "ack_no_admin": alone,
        "ack_admin_reading": reading,
        "ack_admin_idle": report["ack_admin_idle"],
        "ack_p99_ratio": round(reading["p99_ms"] / max(alone["p99_ms"], 0.1), 2),
        "server_cpu_cores": report["server_cpu_cores"],
        "errors": report["errors"],
        "admin": report["listings"],
    }
    summary["targets_missed"] = [] if summary["ack_p99_ratio"] <= 2 else ["ack p99 > 2x"]
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if summary["targets_missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
