"""What one client may hold through the WebSocket: buffers, sockets, resyncs, and the log of it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

import orjson
import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from server.keys import ACTOR, METRICS
from tests.server.conftest import ClientFactory, metric, ws_player
from tests.server.wsclient import WAIT, RawSocket, recv, recv_close, recv_reply, until


async def refused(client: TestClient, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """A refused handshake's status (from ws_connect) and body (from the same request as GET)."""
    with pytest.raises(WSServerHandshakeError) as refusal:
        await client.ws_connect(path, **kwargs)
    response = await client.get(path, **kwargs)
    assert response.status == refusal.value.status
    return refusal.value.status, await response.json()


async def test_replies_a_client_never_reads_are_held_to_the_buffer_limit(
    make_client: ClientFactory,
) -> None:
    """With no board going out, a socket that asks for pongs and never reads is closed 1013."""
    client = await make_client(ws_buffer_limit=16 * 1024, ws_send_buffer=4096)
    token, _ = await ws_player(client)
    raw = await RawSocket.connect(client.host, client.port, f"/ws?token={token}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10 * WAIT
    try:
        while metric(client, "ws_connections_active"):
            assert loop.time() < deadline, "the socket was never closed"
            if not raw.try_send(b'{"type":"ping"}'):
                await asyncio.sleep(0.01)  # the server stopped reading: wait for its close
            else:
                await asyncio.sleep(0)
    finally:
        raw.close()
    reasons = client.server.app[METRICS].ws_disconnect_total.collect()[0].samples
    counted = {s.labels["reason"]: s.value for s in reasons if s.name.endswith("_total")}
    assert {reason: n for reason, n in counted.items() if n} == {"slow": 1.0}


async def test_resync_is_rate_limited(make_client: ClientFactory) -> None:
    """After the burst, a resync is answered with a small rate_limited error, not a snapshot."""
    client = await make_client(ws_resync_burst=3, ws_resync_interval=3600.0)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    assert (await recv(sock))["type"] == "snapshot"
    for _ in range(3):
        await sock.send_json({"type": "resync"})
        assert (await recv_reply(sock))["type"] == "snapshot"
    await sock.send_json({"type": "resync"})
    reply = await recv_reply(sock)
    assert reply["type"] == "error"
    assert reply["code"] == "rate_limited"
    assert reply["details"]["retry_after"] > 0
    await sock.close()


async def test_a_resync_flood_is_closed_as_a_policy_violation(make_client: ClientFactory) -> None:
    """Refused resyncs count as bad messages: a flood ends with 1008."""
    client = await make_client(ws_resync_burst=1, ws_resync_interval=3600.0)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    for _ in range(30):
        await sock.send_json({"type": "resync"})
    assert await recv_close(sock, timeout=WAIT) == 1008
    await until(lambda: metric(client, "ws_disconnect_total", reason="policy") == 1)


async def test_sockets_per_player_are_capped(make_client: ClientFactory) -> None:
    """Beyond WS_MAX_PER_PLAYER sockets the handshake gets 429 in the error shape."""
    client = await make_client(ws_max_per_player=2)
    token, _ = await ws_player(client)
    first = await client.ws_connect(f"/ws?token={token}")
    second = await client.ws_connect(f"/ws?token={token}")
    status, body = await refused(client, f"/ws?token={token}")
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert set(body["error"]) == {"code", "message", "details"}
    other, _ = await ws_player(client)  # another player is not affected
    third = await client.ws_connect(f"/ws?token={other}")
    await first.close()
    await until(lambda: metric(client, "ws_connections_active") == 2)
    again = await client.ws_connect(f"/ws?token={token}")  # a freed place can be taken again
    for sock in (second, third, again):
        await sock.close()


async def test_sockets_per_forwarded_address_are_capped_behind_a_trusted_proxy(
    make_client: ClientFactory,
) -> None:
    """Behind a trusted proxy the cap counts each forwarded client, not the proxy."""
    client = await make_client(
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),), max_connections_per_address=2
    )
    one = {"X-Forwarded-For": "203.0.113.7"}
    socks = []
    for _ in range(2):
        token, _ = await ws_player(client)
        socks.append(await client.ws_connect(f"/ws?token={token}", headers=one))
    token, _ = await ws_player(client)
    status, body = await refused(client, f"/ws?token={token}", headers=one)
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    other = {"X-Forwarded-For": "203.0.113.8"}
    socks.append(await client.ws_connect(f"/ws?token={token}", headers=other))
    for sock in socks:
        await sock.close()


async def test_online_counts_players_not_sockets(client: TestClient) -> None:
    """One player with three sockets is one player online; the count drops when the last goes."""
    actor = client.server.app[ACTOR]
    token, _ = await ws_player(client)
    mine = [await client.ws_connect(f"/ws?token={token}") for _ in range(3)]
    await until(lambda: actor.board.online == 1 and metric(client, "ws_connections_active") == 3)
    other, _ = await ws_player(client)
    theirs = await client.ws_connect(f"/ws?token={other}")
    await until(lambda: actor.board.online == 2)
    await mine[0].close()
    await mine[1].close()
    await until(lambda: metric(client, "ws_connections_active") == 2)
    assert actor.board.online == 2
    await mine[2].close()
    await until(lambda: actor.board.online == 1)
    await theirs.close()
    await until(lambda: actor.board.online == 0)


def ws_logs(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


async def test_a_policy_close_is_logged_with_its_code(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A 1008 close is logged as 1008 even though the client answers it with 1000."""
    caplog.set_level(logging.INFO, logger="ctb.ws")
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    for _ in range(21):
        await sock.send_str("not json")
    assert await recv_close(sock) == 1008
    await until(lambda: bool(ws_logs(caplog, "ws_disconnect")))
    (line,) = ws_logs(caplog, "ws_disconnect")
    assert (line.reason, line.code) == ("policy", 1008)


async def test_a_frame_too_big_is_logged_as_1009(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A frame over the frame limit is logged with code 1009 and reason too_big."""
    caplog.set_level(logging.INFO, logger="ctb.ws")
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    await sock.send_bytes(orjson.dumps({"type": "ping", "pad": "x" * 70_000}))
    assert await recv_close(sock) == 1009
    await until(lambda: bool(ws_logs(caplog, "ws_disconnect")))
    (line,) = ws_logs(caplog, "ws_disconnect")
    assert (line.reason, line.code) == ("too_big", 1009)
    assert metric(client, "ws_disconnect_total", reason="too_big") == 1


async def test_refused_handshakes_are_logged(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A handshake refused for its token or a cap leaves a log line with reason and status."""
    caplog.set_level(logging.INFO)
    client = await make_client(ws_max_per_player=1)
    await refused(client, "/ws?token=nonsense")
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    await refused(client, f"/ws?token={token}")
    lines = ws_logs(caplog, "ws_refused")
    assert [(r.reason, r.status) for r in lines] == [("unauthorized", 401), ("per_player", 429)]
    assert all(r.address == "127.0.0.1" for r in lines)
    await sock.close()
