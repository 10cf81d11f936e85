"""One game, many processes (SPEC §11): an engine and gateways joined by a real Redis.

Every process is real (``run.py`` with ``ROLE=engine`` or ``ROLE=gateway``), every failure is
real: ``kill -9`` of a gateway or of the engine, Redis stopped and started again on its port.
What must hold through each: nothing acknowledged is lost, nothing counts twice, and what cannot
be served now is refused with 503 ``unavailable`` and ``Retry-After``, never left hanging.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.cluster import Cluster, admin, eventually, request, session, socket
from tests.e2e.conftest import ROOT, free_port
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e

ARGS = (
    "--click-push-rate", "0.05", "--round-target", "1000000", "--snapshot-interval", "3600",
    "--sessions-per-minute", "1000",
)  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path, redis_server: RedisServer) -> Iterator[Cluster]:
    game = Cluster(tmp_path, redis_server, ARGS)
    yield game
    game.stop()


async def online(http: aiohttp.ClientSession, base: str) -> int:
    status, body, _ = await request(http, base, "GET", "/api/snapshot")
    return int(body["online"]) if status == 200 else -1


async def test_one_ban_closes_a_players_sockets_on_every_gateway(cluster: Cluster) -> None:
    """A player with a socket on each of two gateways is counted online once, and one ban made
    through either gateway closes both sockets with 4003."""
    cluster.start_engine()
    one, two = (cluster.start_gateway(name).url for name in ("g1", "g2"))
    async with aiohttp.ClientSession() as http:
        token, player = await session(http, one, "twice")
        here, there = await socket(http, one, token), await socket(http, two, token)
        other_token, _ = await session(http, two, "other")
        other = await socket(http, two, other_token)

        async def two_online() -> bool:
            return await online(http, one) == 2 and await online(http, two) == 2

        await eventually(two_online)
        await admin(http, two, "POST", f"/api/admin/players/{player}/actions/ban", {"reason": "x"})
        assert await asyncio.gather(closed(here), closed(there)) == [4003, 4003]
        assert not other.closed
        await other.close()


async def closed(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """Read ``ws`` (answering the server's close at once, as a page does) until it closes."""
    while (message := await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
        pass  # boards and the player's own news come before the close
    assert message.type == aiohttp.WSMsgType.CLOSE, message
    return int(message.data)  # the code in the server's close frame


async def test_a_gateway_killed_mid_play_loses_and_doubles_nothing(cluster: Cluster) -> None:
    """Players push through a port two gateways share; one gateway is killed with SIGKILL.
    Its players reconnect through the same port and resend what was not acknowledged, with the
    same batch ids: every acknowledged click is in the scores exactly once, and new sessions
    and sockets work at once."""
    cluster.start_engine()
    port = free_port()
    first = cluster.start_gateway("g1", port)
    cluster.start_gateway("g2", port)
    base = first.url
    acked: dict[str, int] = {}  # batch id -> clicks accepted, each batch once
    async with aiohttp.ClientSession() as http:
        players = [await session(http, base, f"p{i}") for i in range(12)]

        async def play(token: str, name: str, batches: int) -> None:
            ws = await socket(http, base, token)
            for n in range(batches):
                batch = f"{name}-{n}"
                while batch not in acked:
                    try:
                        await ws.send_json({"type": "clicks", "batch_id": batch, "clicks": [2]})
                        while (reply := await ws.receive_json(timeout=5))["type"] != "ack":
                            if reply["type"] == "error":
                                await asyncio.sleep(0.2)  # 503 while the engine is away
                                break
                        else:
                            acked[batch] = reply["accepted"]
                    except (TypeError, ConnectionError, TimeoutError, aiohttp.ClientError):
                        await asyncio.sleep(0.05)  # the socket died with its gateway
                        ws = await reconnect(token)
                await asyncio.sleep(0.06)
            await ws.close()

        async def reconnect(token: str) -> aiohttp.ClientWebSocketResponse:
            while True:
                try:
                    return await socket(http, base, token)
                except (ConnectionError, TimeoutError, aiohttp.ClientError, AssertionError):
                    await asyncio.sleep(0.05)

        games = [
            asyncio.create_task(play(token, f"p{i}", 30)) for i, (token, _) in enumerate(players)
        ]
        await eventually(lambda: _true(len(acked) >= 60))
        cluster.gateways[0].kill(signal.SIGKILL)
        fresh: list[aiohttp.ClientWebSocketResponse] = []

        async def a_new_player_plays() -> bool:
            """The survivor takes the port's new connections; a connect the kernel had hashed
            to the dead listener as it closed is refused, and the client's retry goes through."""
            try:
                token, _ = await session(http, base, "new")
                fresh.append(await socket(http, base, token))
            except aiohttp.ClientConnectionError:
                return False
            return True

        await eventually(a_new_player_plays, deadline=2)
        await fresh[0].close()
        await asyncio.wait_for(asyncio.gather(*games), 120)
        scores = [
            (await request(http, base, "GET", "/api/me", token=token))[1]["score"]
            for token, _ in players
        ]
    assert len(acked) == 12 * 30
    assert sum(scores) == sum(acked.values()) == 12 * 30 * 2


async def _true(value: bool) -> bool:
    return value


async def test_redis_stopped_and_started_again(cluster: Cluster, redis_server: RedisServer) -> None:
    """With Redis gone, pushes and new sessions get 503 unavailable with Retry-After within
    seconds while open sockets stay open; once Redis is back on its port, play resumes without
    restarting anything, and every acknowledged click is still counted."""
    cluster.start_engine()
    base = cluster.start_gateway("g1").url
    async with aiohttp.ClientSession() as http:
        token, _ = await session(http, base, "steady")
        ws = await socket(http, base, token)
        body: dict[str, Any] = {"batch_id": "before", "clicks": [3]}
        status, ack, _ = await request(http, base, "POST", "/api/push_clicks", body, token)
        assert status == 200 and ack["accepted"] == 3
        redis_server.stop()
        refusals: list[tuple[int, Any, dict[str, str]]] = []

        async def refused() -> bool:
            n = len(refusals)
            push = {"batch_id": f"during-{n}", "clicks": [1]}
            refusals.append(await request(http, base, "POST", "/api/push_clicks", push, token))
            return refusals[-1][0] == 503

        await eventually(refused, deadline=10)
        status, reply, headers = refusals[-1]
        assert reply["error"]["code"] == "unavailable" and int(headers["Retry-After"]) >= 1
        status, reply, _ = await request(http, base, "POST", "/api/session", {"name": "late"})
        assert status == 503 and reply["error"]["code"] == "unavailable"
        status, _, _ = await request(http, base, "GET", "/readyz")
        assert status == 503
        assert not ws.closed
        redis_server.start()
        pushed: list[int] = []

        async def resumed() -> bool:
            push = {"batch_id": "after", "clicks": [4]}
            status, reply, _ = await request(http, base, "POST", "/api/push_clicks", push, token)
            if status == 200:
                pushed.append(reply["accepted"])
            return status == 200

        await eventually(resumed)
        _, me, _ = await request(http, base, "GET", "/api/me", token=token)
        accepted_during = sum(
            1 for status, reply, _ in refusals if status == 200 and not reply["duplicate"]
        )
        assert me["score"] == 3 + accepted_during + pushed[0]
        assert not ws.closed
        await ws.close()


async def test_the_engine_killed_and_started_again(cluster: Cluster) -> None:
    """A gateway whose engine died answers 503 within seconds and says so on /readyz; a new
    engine on the same data directory brings play back through the same gateway, with every
    acknowledged click."""
    engine = cluster.start_engine()
    base = cluster.start_gateway("g1").url
    async with aiohttp.ClientSession() as http:
        token, _ = await session(http, base, "patient")
        push: dict[str, Any] = {"batch_id": "one", "clicks": [5]}
        assert (await request(http, base, "POST", "/api/push_clicks", push, token))[0] == 200
        engine.kill(signal.SIGKILL)

        async def unready() -> bool:
            return (await request(http, base, "GET", "/readyz"))[0] == 503

        await eventually(unready, deadline=10)
        status, reply, headers = await request(http, base, "POST", "/api/push_clicks", push, token)
        assert status == 503 and "Retry-After" in headers, reply
        cluster.start_engine()

        async def ready() -> bool:
            return (await request(http, base, "GET", "/readyz"))[0] == 200

        await eventually(ready)
        again = {"batch_id": "two", "clicks": [1]}
        assert (await request(http, base, "POST", "/api/push_clicks", again, token))[0] == 200
        _, me, _ = await request(http, base, "GET", "/api/me", token=token)
        assert me["score"] == 6


def test_a_gateway_without_the_keys_refuses_to_start(tmp_path: Path) -> None:
    """A gateway keeps no keys and never reads them from Redis: started without SECRET_KEY or
    an admin token it exits at once, naming what is missing."""
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:1/0", "ROLE": "gateway"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py")],
        cwd=ROOT,
        env={**env, "DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert b"SECRET_KEY" in done.stderr and b"ADMIN_TOKEN" in done.stderr


async def test_new_sessions_per_address_are_counted_across_gateways(cluster: Cluster) -> None:
    """SESSIONS_PER_MINUTE holds for an address whichever gateways its sessions go through."""
    cluster.args = (*ARGS, "--sessions-per-minute", "3")
    cluster.start_engine()
    one, two = (cluster.start_gateway(name).url for name in ("g1", "g2"))
    async with aiohttp.ClientSession() as http:
        made = [
            (await request(http, base, "POST", "/api/session", {"name": f"s{i}"}))[0]
            for i, base in enumerate((one, two, one, two))
        ]
        assert made == [201, 201, 201, 429]
        status, reply, headers = await request(http, one, "POST", "/api/session", {})
        assert status == 429 and reply["error"]["code"] == "rate_limited"
        assert int(headers["Retry-After"]) >= 1


async def test_a_gateway_sheds_new_players_while_the_engine_is_behind(cluster: Cluster) -> None:
    """While the engine falls behind (here: stopped, so a push waits past the 0.3 s mark but
    not long enough to count the engine gone) a gateway refuses new sessions with 503 and
    Retry-After, says so on /metrics, and the waiting player's push is acknowledged once the
    engine goes on."""
    cluster.args = (*ARGS, "--bus-shed-latency", "0.3")
    engine = cluster.start_engine()
    base = cluster.start_gateway("g1").url
    async with aiohttp.ClientSession() as http:
        token, _ = await session(http, base, "early")
        ws = await socket(http, base, token)
        assert engine.proc is not None
        engine.proc.send_signal(signal.SIGSTOP)
        try:
            await ws.send_json({"type": "clicks", "batch_id": "w", "clicks": [2]})

            async def behind() -> bool:
                async with http.get(base + "/metrics") as response:
                    return "bus_behind 1.0" in await response.text()

            await eventually(behind, deadline=1.5)
            status, reply, headers = await request(http, base, "POST", "/api/session", {})
        finally:
            engine.proc.send_signal(signal.SIGCONT)
        assert status == 503 and reply["error"]["code"] == "unavailable", reply
        assert "engine" in reply["error"]["message"] and int(headers["Retry-After"]) >= 1
        while (message := await ws.receive_json(timeout=10))["type"] != "ack":
            pass
        assert message["accepted"] == 2 and not message["duplicate"]
        async with http.get(base + "/metrics") as response:
            lines = (await response.text()).splitlines()
        figures = dict(line.rsplit(" ", 1) for line in lines if line and line[0] != "#")
        assert figures["bus_redis_reachable"] == "1.0" and float(figures["bus_calls_total"]) >= 3
        await ws.close()


async def test_the_connection_cap_per_address_holds_across_gateways(cluster: Cluster) -> None:
    """MAX_CONNECTIONS_PER_ADDRESS counts an address's connections on every gateway: with four
    sockets open on one gateway, the other takes two more and refuses the next with 429."""
    cluster.args = (*ARGS, "--max-connections-per-address", "6")
    cluster.start_engine()
    one, two = (cluster.start_gateway(name).url for name in ("g1", "g2"))
    closing = aiohttp.TCPConnector(force_close=True)  # no HTTP connection outlives its request
    async with aiohttp.ClientSession(connector=closing) as http:
        players = [await session(http, one, f"c{i}") for i in range(7)]
        tickets = [
            (await request(http, one, "POST", "/api/ws-token", token=token))[1]["token"]
            for token, _ in players
        ]
        sockets = [await http.ws_connect(f"{one}/ws?token={t}") for t in tickets[:4]]

        async def counted_on_two() -> bool:
            async with http.get(two + "/metrics") as response:
                return "bus_connections_elsewhere 4.0" in await response.text()

        await eventually(counted_on_two)
        sockets += [await http.ws_connect(f"{two}/ws?token={t}") for t in tickets[4:6]]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{two}/ws?token={tickets[6]}")
        assert refused.value.status == 429
        for ws in sockets:
            await ws.close()
