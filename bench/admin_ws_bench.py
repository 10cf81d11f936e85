"""Admin sockets under the players' load: ``python bench/admin_ws_bench.py`` (in ``make bench``).

Runs ``bench/ws_load.py`` twice with the same players (2,000 clients by default): once alone,
once with 100 admin sockets connected (``--admins``). In the second run an admin kicks a
player with no socket once a second (an action that changes nothing in the game but sends an
event) and every admin socket times the event from the moment the request left to the moment
its frame arrived. Targets: every event reaches every admin socket within 100 ms, and the
players' ack p99 stays within 10 % of the run without admins.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789"}  # server_process.BASE_ENV


async def admin_load(port: int, sockets: int, start: float, end: float) -> dict[str, Any]:
    """Connect ``sockets`` admin sockets, act once a second in [start, end), time the events."""
    base = f"http://127.0.0.1:{port}"
    sent: dict[str, float] = {}
    latencies: list[float] = []
    # No pool limit: the admin sockets hold 100 connections and the actions need one more.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async with http.post(f"{base}/api/session", json={"name": "spare"}) as response:
            target = (await response.json())["player"]["id"]

        async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                now = time.monotonic()
                data = json.loads(msg.data)
                if data["type"] == "event" and data["data"].get("reason") in sent:
                    latencies.append(now - sent[data["data"]["reason"]])

        opened = []
        for _ in range(sockets):
            async with http.post(f"{base}/api/admin/ws-token", headers=ADMIN) as response:
                token = (await response.json())["token"]
            opened.append(await http.ws_connect(f"{base}/api/admin/ws?token={token}"))
        listeners = [asyncio.create_task(listen(ws)) for ws in opened]
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        actions = 0
        while time.monotonic() < end:
            reason = f"bench-{actions}"
            sent[reason] = time.monotonic()
            path = f"{base}/api/admin/players/{target}/actions/kick"
            async with http.post(path, json={"reason": reason}, headers=ADMIN) as response:
                assert response.status == 200, await response.text()
            actions += 1
            await asyncio.sleep(1.0)
        await asyncio.sleep(0.5)  # the last event's frames are on their way
        for task in listeners:  # stop reading first: a close waits for the reader otherwise
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await asyncio.gather(
            *(asyncio.wait_for(ws.close(), 2.0) for ws in opened), return_exceptions=True
        )
    latencies.sort()

    def at(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3, 1)

    return {
        "admin_sockets": sockets,
        "actions": actions,
        "deliveries": len(latencies),
        "expected_deliveries": actions * sockets,
        "event_ms": {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)} if latencies else {},
    }


def main() -> int:
    import ws_load

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--admins", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args()
    common = ["--clients", str(args.clients), "--duration", str(args.duration)]
    reports = {}
    for name, extra in (("players only", []), ("with admins", ["--admins", str(args.admins)])):
        out = Path(f"/tmp/admin-ws-bench-{name.replace(' ', '-')}.json")
        ws_load.main([*common, *extra, "--json", str(out)])
        reports[name] = json.loads(out.read_text())
    alone, loaded = reports["players only"], reports["with admins"]
    admin = loaded["admin"]
    ack_alone, ack_loaded = alone["ack"]["p99_ms"], loaded["ack"]["p99_ms"]
    summary = {
        "ack_p99_ms_players_only": ack_alone,
        "ack_p99_ms_with_admins": ack_loaded,
        "ack_p99_change": round(ack_loaded / ack_alone - 1, 3),
        **admin,
    }
    missed = []
    if admin["deliveries"] != admin["expected_deliveries"]:
        missed.append("events lost")
    if admin["event_ms"].get("max", 1e9) >= 100:
        missed.append("event latency")
    if ack_loaded > ack_alone * 1.1:
        missed.append("ack p99")
    summary["targets_missed"] = missed
    print(json.dumps(summary, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
