"""The game as many processes (SPEC §11) for tests: one engine and gateways, a real Redis.

Each process is started on its own (``ROLE=engine``, ``ROLE=gateway``), so a test can give two
gateways one shared port (``SO_REUSEPORT``, as ``ROLE=all`` does) or a port each (to put one
player's sockets on two gateways for certain), and can kill exactly the one it means to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, free_port
from tests.redis_server import RedisServer

DEADLINE = 20.0


@dataclass(slots=True)
class Cluster:
    base: Path
    redis: RedisServer
    args: tuple[str, ...] = ()
    engine: ServerProcess | None = None
    gateways: list[ServerProcess] = field(default_factory=list)

    def env(self, role: str, **more: str) -> dict[str, str | None]:
        # Unbuffered: a test reads a gateway's log to know it is the one ready.
        return {"REDIS_URL": self.redis.url, "ROLE": role, "PYTHONUNBUFFERED": "1", **more}

    def start_engine(self) -> ServerProcess:
        """The engine, on the cluster's data directory; ready once a gateway says so."""
        engine = ServerProcess(data_dir=self.base / "data", env=self.env("engine"))
        engine.args = list(self.args)
        engine.start(wait=False)
        self.engine = engine
        return engine

    def start_gateway(self, name: str, port: int | None = None) -> ServerProcess:
        """A gateway on ``port`` (its own free one if None), ready when this returns."""
        gateway = ServerProcess(
            data_dir=self.base / "data",  # a gateway keeps nothing there: the log goes beside
            port=port or free_port(),
            env=self.env("gateway", GATEWAY_ID=name),
        )
        gateway.args = list(self.args)
        gateway.start(wait=port is None)
        if port is not None:  # a shared port's /readyz may be another gateway's: read the log
            give_up = time.monotonic() + DEADLINE
            while '"listening"' not in gateway.log():
                assert gateway.proc is not None and gateway.proc.poll() is None, gateway.log()
                assert time.monotonic() < give_up, f"{name} never listened:\n{gateway.log()}"
                time.sleep(0.05)
        self.gateways.append(gateway)
        return gateway

    def stop(self) -> None:
        for process in [*self.gateways, self.engine]:
            if process is not None:
                process.stop()


async def eventually(check: Callable[[], Awaitable[bool]], deadline: float = DEADLINE) -> None:
    """Poll ``check`` until it holds; fail once ``deadline`` seconds have passed."""
    give_up = time.monotonic() + deadline
    while not await check():
        assert time.monotonic() < give_up, "the condition never held"
        await asyncio.sleep(0.05)


async def request(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One JSON request: its status, its decoded body and its headers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, base + path, json=body, headers=headers) as response:
        return response.status, await response.json(), dict(response.headers)


async def session(http: aiohttp.ClientSession, base: str, name: str) -> tuple[str, str]:
    """A new player: (token, player id)."""
    status, body, _ = await request(http, base, "POST", "/api/session", {"name": name})
    assert status in (200, 201), body
    return body["token"], body["player"]["id"]


async def socket(
    http: aiohttp.ClientSession, base: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    """A player's socket, its first message (the snapshot) read."""
    status, body, _ = await request(http, base, "POST", "/api/ws-token", token=token)
    assert status == 200, body
    ws = await http.ws_connect(f"{base}/ws?token={body['token']}")
    first = await ws.receive_json(timeout=10)
    assert first["type"] == "snapshot"
    return ws


async def admin(
    http: aiohttp.ClientSession, base: str, method: str, path: str, body: Any = None
) -> Any:
    status, reply, _ = await request(http, base, method, path, body, ADMIN_TOKEN)
    assert status == 200, reply
    return reply
