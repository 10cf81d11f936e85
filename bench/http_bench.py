"""HTTP ``POST /api/push_clicks`` throughput and latency through the real server, driven by wrk.

Starts ``run.py`` on a free loopback port with a temporary data directory, creates a few thousand
players through ``POST /api/session``, then runs wrk with a Lua script that rotates the players'
tokens and gives every push a unique ``batch_id``, so each request does the real work (token
check, validation, the actor's push, the journal) instead of bouncing off the rate limits. The
push interval and click rate are raised so that thousands of pushes a second are all legal:
with N players in rotation each player pushes every N / rate seconds, well above the minimum gap.
Prints pushes/s, p50/p99 latency, the share of non-2xx replies and the server's own
``pushes_total`` counts. Run: ``make bench`` or ``python bench/http_bench.py --duration 20``.
Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import server_process

TARGET_RATE, TARGET_P99_MS = 5_000, 50.0

LUA = r"""
-- Rotate through the players' tokens; every push gets a batch id no other push has.
local tokens = {}
local counter = 0
local offset = 0
local prefix = "t"

function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  offset = tonumber(args[2]) or 0
  prefix = "t" .. offset .. "-" .. math.random(1, 1e9)
  counter = offset
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local body = '{"batch_id":"' .. prefix .. "-" .. counter .. '","clicks":[5]}'
  return wrk.format("POST", "/api/push_clicks", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function done(summary, latency, requests)
  local fields = "requests=%d duration_us=%d non2xx=%d errors=%d p50_us=%d p99_us=%d max_us=%d"
  io.write(string.format("RESULT " .. fields .. "\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


async def create_players(url: str, count: int, concurrency: int = 32) -> list[str]:
    tokens: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            async with session.post(url + "/api/session", json={"name": f"bench-{i}"}) as reply:
                if reply.status != 201:
                    raise SystemExit(f"session {i}: {reply.status} {await reply.text()}")
                tokens.append((await reply.json())["token"])

        for start in range(0, count, 500):
            await asyncio.gather(*(one(i) for i in range(start, min(count, start + 500))))
    return tokens


def pushes_by_result(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.findall(r'^pushes_total\{result="([a-z_]+)"\} ([0-9.e+]+)$', text, re.M)
    return {result: float(value) for result, value in found if float(value)}


def start_profiler(path: str, pid: int, seconds: int) -> subprocess.Popen[bytes]:
    """Sample the server with py-spy during the measured run (profiling slows it a little)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--format", "raw", "--nonblocking", "-o", path]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before measuring")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="sample the server with py-spy (if installed) and write its stacks to FILE",
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: install the Debian package wrk", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="ctb-bench-") as tmp:
        work = Path(tmp)
        env = {
            "CLICK_PUSH_RATE": "0.2",  # minimum gap 0.1 s per player
            "MAX_CPS": "1000",  # 5 clicks a push is never throttled
        }
        server = server_process.start(work / "data", work / "server.log", env)
        url = server.url
        try:
            started = time.perf_counter()
            tokens = asyncio.run(create_players(url, args.players))
            print(
                f"created {len(tokens):,} players in {time.perf_counter() - started:.1f} s "
                f"({os.cpu_count()} cores)"
            )
            (work / "tokens.txt").write_text("\n".join(tokens) + "\n")
            (work / "push.lua").write_text(LUA)

            def run_wrk(seconds: int, offset: int) -> str:
                command = [
                    wrk,
                    f"-t{args.threads}",
                    f"-c{args.connections}",
                    f"-d{seconds}s",
                    "-s",
                    str(work / "push.lua"),
                    url,
                    "--",
                    str(work / "tokens.txt"),
                    str(offset),
                ]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                return done.stdout

            if args.warmup:
                run_wrk(args.warmup, 0)
                time.sleep(0.5)  # let every player's minimum push gap pass before measuring
            before = pushes_by_result(url)
            profiler = (
                start_profiler(args.profile, server.pid, args.duration) if args.profile else None
            )
            output = run_wrk(args.duration, len(tokens) // 2)
            after = pushes_by_result(url)
            if profiler is not None:
                profiler.wait(timeout=60)
        finally:
            server.stop()

    match = re.search(r"RESULT (.*)", output)
    if match is None:
        print(output)
        return 1
    result = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    seconds = result["duration_us"] / 1e6
    rate = result["requests"] / seconds
    p50, p99 = result["p50_us"] / 1000, result["p99_us"] / 1000
    non2xx = result["non2xx"] / max(1, result["requests"])
    counts = {k: int(after.get(k, 0) - before.get(k, 0)) for k in after}
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        f"{len(tokens):,} players in rotation"
    )
    print(
        f"push_clicks: {rate:,.0f} pushes/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {result['max_us'] / 1000:.1f} ms, non-2xx {non2xx:.2%}, "
        f"socket errors {result['errors']}"
    )
    print(f"server pushes_total during the run: {counts}")
    # Only a run where every push was answered 2xx counts: a refused push is not a push served.
    met = rate >= TARGET_RATE and p99 < TARGET_P99_MS and not result["non2xx"]
    met = met and not result["errors"]
    print(
        f"target >= {TARGET_RATE:,} pushes/s with p99 < {TARGET_P99_MS:.0f} ms, all 2xx: "
        f"{'met' if met else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
