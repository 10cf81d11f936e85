"""Players' pushes while an admin reads the player listing: ``python bench/admin_read_bench.py``.

Builds a game of ``--players`` players (``bench/persist_bench.py``'s state: scores, round scores,
last clicks over an hour, names ``player-NNNNNNN``), saves it and starts a real server on it.
Then ``bench/ws_load.py``'s clients (``--clients``, pushing every second over WebSockets) play
two windows against that one server: the first with no admin, the second while an admin asks
``GET /api/admin/players`` ``--listings`` times a second with a random filter (planet, score or
round-score range, active since, status and flagged, a name part, an id prefix), a random sort
and order, a random page (1-20) and limit (50, 100, 500). A listing is sent on schedule whether
or not the previous one has been answered.

Reported: the players' ack latency (push sent -> ack received) p50 / p95 / p99 in each window,
and the listings' latency and statuses (a 429 is the admin's read budget speaking). Target: the
ack p99 with the admin at most twice the one without. Run: ``make bench`` (a million players,
CPU-heavy: a few minutes) or ``python bench/admin_read_bench.py --players 100000``.
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
    port: int, rate: float, start: float, end: float, seed: int = 1
) -> dict[str, Any]:
    """Ask the listing ``rate`` times a second in [start, end); latencies and statuses."""
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


def window_args(args: argparse.Namespace, listings: float) -> argparse.Namespace:
    """``bench/ws_load.py``'s options for one window."""
    return argparse.Namespace(
        clients=args.clients,
        duration=args.duration,
        warmup=args.warmup,
        workers=1 if args.clients <= 1000 else 2,
        push_rate=1.0,
        broadcast_interval=0.25,
        profile=None,
        admins=0,
        listings=listings,
        seed=args.seed,
    )


async def windows(args: argparse.Namespace, server: server_process.Server) -> dict[str, Any]:
    alone = await ws_load.drive(window_args(args, 0), server.port, server.proc)
    await asyncio.sleep(3.0)  # the first window's sockets close
    with_admin = await ws_load.drive(window_args(args, args.listings), server.port, server.proc)
    return {"without admin": alone, "with admin": with_admin}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=2000, help="WebSocket clients pushing")
    parser.add_argument("--listings", type=float, default=10.0, help="admin listings a second")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds a window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument("--server-log", action="store_true", help="print the server's log tail")
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
            reports = asyncio.run(windows(args, server))
        finally:
            server.stop()
            if args.server_log:
                print((root / "server.log").read_text()[-4000:], file=sys.stderr)
    alone, loaded = reports["without admin"], reports["with admin"]
    summary = {
        "players": args.players,
        "clients": args.clients,
        "machine": loaded["machine"],
        "ack_without_admin": alone["ack"],
        "ack_with_admin": loaded["ack"],
        "ack_p99_ratio": round(loaded["ack"]["p99_ms"] / max(alone["ack"]["p99_ms"], 0.1), 2),
        "server_cpu_cores": [alone["server_cpu_cores"], loaded["server_cpu_cores"]],
        "errors": [alone["errors"], loaded["errors"]],
        "admin": loaded["listings"],
    }
    summary["targets_missed"] = [] if summary["ack_p99_ratio"] <= 2 else ["ack p99 > 2x"]
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if summary["targets_missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
