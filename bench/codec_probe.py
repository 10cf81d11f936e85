"""What a client receives per second in each subprotocol, beside a running load.

The peer benchmark's driver speaks JSON only, so its byte figures say nothing of
``ctb.v1.msgpack``. This probe joins a server that a load is already driving (for instance the
project server of a ``compare.sh`` run) with a few clients per subprotocol that push like the
driver does (8 to 12 clicks about every second), and counts the WebSocket payload bytes each one
receives in a window: every board, its own acks and anything else. Boards are encoded once per
tick and sent to everyone alike, so a probe client receives what each of the load's clients
would in that subprotocol.

    python bench/codec_probe.py --url http://127.0.0.1:PORT --clients 10 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

import aiohttp
import msgpack
import orjson

SUBPROTOCOLS = ("ctb.v1.json", "ctb.v1.msgpack")


async def session(http: aiohttp.ClientSession, url: str) -> str:
    """A player and a WebSocket token. All come from one address: the server must allow that
    many sessions a minute (``compare.sh`` runs take ``SESSIONS_PER_MINUTE`` in ``PROJECT_ENV``)."""
    async with http.post(f"{url}/api/session", json={}) as reply:
        token = (await reply.json())["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/api/ws-token", headers=bearer) as reply:
        return str((await reply.json())["token"])


async def probe(
    http: aiohttp.ClientSession, url: str, protocol: str, index: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One client: push every push-rate seconds (±20 %), count bytes and messages in the window."""
    ws_token = await session(http, url)
    ws_url = url.replace("http", "ws", 1) + f"/ws?token={ws_token}"
    binary = protocol.endswith("msgpack")
    encode = msgpack.packb if binary else orjson.dumps
    counted = {"bytes": 0, "board": 0, "ack": 0, "other": 0}
    async with http.ws_connect(ws_url, protocols=[protocol], max_msg_size=0) as ws:
        start = time.monotonic() + args.settle
        end = start + args.duration

        async def push() -> None:
            n = 0
            while time.monotonic() < end:
                await asyncio.sleep(args.push_rate * random.uniform(0.85, 1.2))
                n += 1
                batch = {"type": "clicks", "batch_id": f"probe{index}-{n}"}
                payload = encode({**batch, "clicks": [random.randint(8, 12)]})
                await (ws.send_bytes(payload) if binary else ws.send_str(payload.decode()))

        pusher = asyncio.create_task(push())
        try:
            while (left := end - time.monotonic()) > 0:
                try:
                    message = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    break
                if time.monotonic() < start:
                    continue
                data = message.data
                raw = data if isinstance(data, bytes) else data.encode()
                kind = (msgpack.unpackb(raw) if binary else orjson.loads(raw)).get("type")
                counted["bytes"] += len(raw)
                counted[kind if kind in ("board", "ack") else "other"] += 1
        finally:
            pusher.cancel()
    return counted


async def run(args: argparse.Namespace) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        jobs = [
            probe(http, args.url, protocol, n * len(SUBPROTOCOLS) + i, args)
            for n in range(args.clients)
            for i, protocol in enumerate(SUBPROTOCOLS)
        ]
        results = await asyncio.gather(*jobs)
    report: dict[str, Any] = {}
    for i, protocol in enumerate(SUBPROTOCOLS):
        mine = results[i :: len(SUBPROTOCOLS)]
        total = {key: sum(r[key] for r in mine) for key in mine[0]}
        per_client = args.clients * args.duration
        report[protocol] = {
            "bytes_per_client_per_s": round(total["bytes"] / per_client, 1),
            "boards_per_client_per_s": round(total["board"] / per_client, 2),
            "bytes_per_message": round(total["bytes"] / max(1, total["board"] + total["ack"]), 1),
        }
    json_bytes = report["ctb.v1.json"]["bytes_per_client_per_s"]
    report["msgpack_to_json"] = round(
        report["ctb.v1.msgpack"]["bytes_per_client_per_s"] / max(1.0, json_bytes), 3
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--clients", type=int, default=10, help="probe clients per subprotocol")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--push-rate", type=float, default=1.0, help="seconds between pushes")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
