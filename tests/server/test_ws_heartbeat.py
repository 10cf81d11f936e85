"""The WebSocket heartbeat (SPEC §6, ``server/heartbeat.py``) through real sockets: a silent
client is pinged, one that answers stays, one that does not is cut; the client's pings are
answered."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType

from actor.clock import FakeClock
from server.broadcaster import BROADCASTER
from server.heartbeat import HEARTBEAT
from server.keys import ACTOR
from tests.server.conftest import ClientFactory, metric, ws_player
from tests.server.wsclient import recv_reply, recv_type, until


async def test_a_client_that_never_answers_pings_is_closed(make_client: ClientFactory) -> None:
    """With no pong within half the heartbeat, the socket is closed and counted."""
    client = await make_client(ws_heartbeat=0.2)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", autoping=False)
    await until(lambda: metric(client, "ws_heartbeat_fail_total") == 1)
    assert metric(client, "ws_disconnect_total", reason="heartbeat") == 1
    assert metric(client, "ws_connections_active") == 0
    await sock.close()


async def test_a_client_that_answers_pings_stays(make_client: ClientFactory) -> None:
    """A client that answers the heartbeat pings stays connected through several of them."""
    client = await make_client(ws_heartbeat=0.1)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    await recv_type(sock, "snapshot")
    await client.server.app[ACTOR].call({"op": "end_round"})  # nothing changes after this
    with pytest.raises(TimeoutError):  # receive() answers the pings meanwhile
        while True:
            await asyncio.wait_for(sock.receive(), 0.6)
    await sock.send_json({"type": "ping"})
    assert await recv_reply(sock) == {"type": "pong"}
    assert metric(client, "ws_heartbeat_fail_total") == 0
    await sock.close()


async def test_a_clients_own_ping_gets_its_pong(make_client: ClientFactory) -> None:
    """The server answers a protocol-level ping with a pong carrying the same data."""
    client = await make_client(ws_heartbeat=5.0)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", autoping=False)
    await sock.ping(b"are-you-there")
    while (message := await asyncio.wait_for(sock.receive(), 5)).type is not WSMsgType.PONG:
        assert message.type is WSMsgType.TEXT  # the snapshot, boards
    assert message.data == b"are-you-there"
    await sock.close()


async def test_a_silent_client_is_pinged_after_a_heartbeat_and_kept_by_its_pong(
    make_client: ClientFactory,
) -> None:
    """A silent socket gets a ping after a heartbeat; each pong keeps it open, ping after ping."""
    client = await make_client(ws_heartbeat=0.4)
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", autoping=False)
    while (message := await asyncio.wait_for(sock.receive(), 5)).type is not WSMsgType.PING:
        assert message.type is WSMsgType.TEXT
    await sock.pong(message.data)
    while (message := await asyncio.wait_for(sock.receive(), 5)).type is not WSMsgType.PING:
        assert message.type is WSMsgType.TEXT
    await sock.pong(message.data)
    assert metric(client, "ws_heartbeat_fail_total") == 0
    assert metric(client, "ws_connections_active") == 1
    await sock.close()


@pytest.mark.parametrize("phase", [0.001, 0.5, 1.0])
async def test_a_silent_socket_is_pinged_after_20_to_25_s_and_cut_after_30_to_35_s(
    make_client: ClientFactory, phase: float
) -> None:
    """On a fake clock scaled to the SPEC's 20-s heartbeat, a socket silent since it connected
    gets its ping 20-25 s later and is cut 30-35 s later, never past the documented 40 s,
    whatever the phase of the sweeps against its last frame."""
    client = await make_client(ws_heartbeat=2000.0)  # the app's own sweeps never come here
    heartbeat = client.server.app[HEARTBEAT]
    step = heartbeat.period * 20.0 / heartbeat.interval  # one sweep, on the 20-s scale
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", autoping=False)
    await recv_type(sock, "snapshot")
    conn = next(iter(client.server.app[BROADCASTER].conns))
    clock = FakeClock(0.0)  # the socket's last frame (its handshake) at 0
    clock.jump(phase * step)  # the first sweep after it
    pinged_at = cut_at = None
    for sweep in range(12):
        heartbeat.sweep()
        conn.send({"type": "mark", "sweep": sweep})  # comes after whatever the sweep wrote
        while True:
            message = await sock.receive(timeout=5)
            if message.type is WSMsgType.PING:
                pinged_at = clock.now()
            elif message.type is WSMsgType.TEXT and '"mark"' in message.data:
                break
            elif message.type in (WSMsgType.CLOSED, WSMsgType.CLOSE, WSMsgType.ERROR):
                cut_at = clock.now()
                break
        if cut_at is not None:
            break
        clock.jump(step)
    assert step == 5.0
    assert pinged_at is not None and 20.0 <= pinged_at <= 25.0
    assert cut_at is not None and 30.0 <= cut_at <= 35.0
    assert metric(client, "ws_disconnect_total", reason="heartbeat") == 1
