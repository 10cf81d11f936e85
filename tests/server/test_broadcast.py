"""The broadcaster through real sockets: boards and round events to many clients (SPEC §6).

The game clock is a FakeClock; the broadcaster runs on real time at the test interval (0.05 s),
so every wait here is a receive with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server import ws_protocol
from server.broadcaster import BROADCASTER
from server.keys import ACTOR
from server.models import BoardMessage
from server.ws_protocol import MSGPACK_PROTOCOL
from tests.server.conftest import ClientFactory, metric, ws_player
from tests.server.wsclient import (
    WAIT,
    RawSocket,
    board_where,
    recv,
    recv_reply,
    recv_type,
    send,
    until,
)

INTERVAL = 0.05


async def open_socket(client: TestClient, protocol: str | None = None) -> ClientWebSocketResponse:
    token, _ = await ws_player(client)
    protocols = (protocol,) if protocol else ()
    sock = await client.ws_connect(f"/ws?token={token}", protocols=protocols)
    assert (await recv(sock))["type"] == "snapshot"
    return sock


@contextlib.asynccontextmanager
async def changing_state(client: TestClient, clock: FakeClock) -> AsyncIterator[None]:
    """Keep the board moving: ten players with long names push in turn every few milliseconds.

    Ten long names fill both top-10 lists, so each board is a few KiB, as in a real game.
    """
    actor = client.server.app[ACTOR]
    players = [(await ws_player(client, name=f"{i:02d}" + "x" * 22))[1] for i in range(10)]

    async def push_forever() -> None:
        n = 0
        while True:
            clock.jump(0.1)  # ten players in turn: each one's pushes are 1 s apart
            cmd = {"op": "push", "player_id": players[n % 10], "batch_id": f"k{n}", "clicks": [1]}
            await actor.call(cmd)
            n += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(push_forever())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_each_clients_clicks_appear_in_every_other_clients_next_board(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Clicks acknowledged to one client show up in the boards all clients receive next."""
    socks = [await open_socket(client), await open_socket(client, MSGPACK_PROTOCOL)]
    socks.append(await open_socket(client))
    for n, sock in enumerate(socks):
        # Asked before the push: a resync between the ack and the next board would skip that
        # board while waiting for its snapshot, and no later board comes to carry the total.
        me = await sock_me(client, sock)
        app_clock.jump(1.0)
        await send(sock, {"type": "clicks", "batch_id": f"b{n}", "clicks": [n + 1]})
        ack = await recv_reply(sock)
        for other in socks:
            board = await board_where(other, me["planet"], ack["planet_total"])
            assert board["v"] >= 1
    for sock in socks:
        await sock.close()


async def sock_me(client: TestClient, sock: ClientWebSocketResponse) -> dict[str, Any]:
    await send(sock, {"type": "resync"})
    return (await recv_reply(sock))["data"]["me"]


async def test_a_board_goes_out_only_when_something_changed(client: TestClient) -> None:
    """Once the state is still, no more boards are sent."""
    sock = await open_socket(client)
    await client.server.app[ACTOR].call({"op": "end_round"})  # the last change for a while
    await recv_type(sock, "round")
    with pytest.raises(TimeoutError):
        while True:
            await recv_type(sock, "board", timeout=10 * INTERVAL)
    await sock.close()


async def test_boards_come_at_most_once_per_interval(
    client: TestClient, app_clock: FakeClock
) -> None:
    """While the state changes every few milliseconds, boards still come one per interval."""
    sock = await open_socket(client)
    loop = asyncio.get_running_loop()
    async with changing_state(client, app_clock):
        arrivals = []
        while len(arrivals) < 20:
            await recv_type(sock, "board")
            arrivals.append(loop.time())
    # Ticks keep a fixed cadence, so arrival jitter may bring two boards close together; what
    # must hold is the rate: no more boards in a stretch of time than ticks in it. (How close to
    # one per interval they come is speed, measured by bench/ws_load.py, not asserted here.)
    span = arrivals[-1] - arrivals[0]
    assert len(arrivals) - 1 <= span / INTERVAL + 1
    await sock.close()


async def test_round_events_reach_every_client(client: TestClient, app_clock: FakeClock) -> None:
    """A round's finish and the next round's start go to every client as round messages."""
    socks = [await open_socket(client), await open_socket(client, MSGPACK_PROTOCOL)]
    for sock in socks:  # the first board comes after the first round's start event
        await recv_type(sock, "board")
    await client.server.app[ACTOR].call({"op": "end_round"})
    for sock in socks:
        finished = await recv_type(sock, "round")
        assert finished["event"] == "finished"
        assert finished["data"]["id"] == 1
        assert finished["data"]["reason"] == "admin"
    app_clock.jump(10.0)  # the break is over; the actor's ticker starts the next round
    for sock in socks:
        started = await recv_type(sock, "round")
        assert (started["event"], started["data"]["id"]) == ("started", 2)
        board = await recv_type(sock, "board")
        assert board["data"]["round"]["id"] == 2
        await sock.close()


async def test_a_board_is_encoded_once_per_subprotocol(
    client: TestClient, app_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many clients, each board is encoded once for JSON and once for msgpack."""
    socks = [await open_socket(client) for _ in range(3)]
    socks += [await open_socket(client, MSGPACK_PROTOCOL) for _ in range(2)]
    encoded: list[tuple[str, int]] = []
    real = ws_protocol.encode_frame

    def counting(codec: ws_protocol.Codec, message: Any) -> bytes:
        if isinstance(message, BoardMessage):
            encoded.append((codec.name, message.v))
        return real(codec, message)

    monkeypatch.setattr(ws_protocol, "encode_frame", counting)
    app_clock.jump(1.0)
    await socks[0].send_json({"type": "clicks", "batch_id": "b1", "clicks": [3]})
    await recv_reply(socks[0])
    target = client.server.app[ACTOR].board.version
    seen = set()
    for sock in socks:
        board = await recv_type(sock, "board")
        while board["v"] < target:
            board = await recv_type(sock, "board")
        seen.add(board["v"])
    assert len(seen) == 1  # one tick, one version for everyone
    assert sorted(name for name, v in encoded if v in seen) == sorted(
        [ws_protocol.JSON_PROTOCOL, ws_protocol.MSGPACK_PROTOCOL]
    )
    assert metric(client, "ws_broadcast_total") >= 5
    for sock in socks:
        await sock.close()


async def test_a_client_that_stops_reading_is_dropped_without_delaying_the_others(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """A socket that never reads is closed with 1013 while the others get every board."""
    client = await make_client(
        ws_buffer_limit=16 * 1024, ws_send_buffer=4096, round_seconds=86400.0
    )
    readers = [await open_socket(client), await open_socket(client, MSGPACK_PROTOCOL)]
    token, _ = await ws_player(client)
    slow = await RawSocket.connect(client.host, client.port, f"/ws?token={token}")
    received: list[list[int]] = [[], []]

    async def read_boards(sock: ClientWebSocketResponse, versions: list[int]) -> None:
        while True:
            versions.append((await recv_type(sock, "board"))["v"])

    def fanouts() -> float:
        return metric(client, "ws_fanout_seconds_count")

    tasks = [asyncio.create_task(read_boards(s, v)) for s, v in zip(readers, received, strict=True)]
    async with changing_state(client, app_clock):
        await until(lambda: all(received))  # both readers have their first board
        first, base = fanouts(), [len(v) for v in received]
        await until(lambda: metric(client, "ws_disconnect_total", reason="slow") >= 1, 15.0)
        dropped = fanouts()
        await until(lambda: fanouts() >= dropped + 10)  # and the broadcasts go on
    last = fanouts()
    # Every fan-out since ``first`` reached both readers: the slow socket cost them no board.
    await until(
        lambda: all(len(v) - b >= last - first for v, b in zip(received, base, strict=True))
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for versions in received:
        assert versions == sorted(set(versions))  # in order, none twice
    assert metric(client, "ws_broadcast_fail_total") >= 3
    assert await slow.close_code(timeout=WAIT) == 1013
    slow.close()
    for sock in readers:
        await sock.close()


async def test_a_wait_for_the_end_of_a_fan_out_ends_with_the_next_board(
    client: TestClient,
) -> None:
    """``after_fan_out`` (the snapshot's fork waits on it) returns once the next board is out
    to every socket; with nothing to send it returns at its limit instead of hanging."""
    sock = await open_socket(client)
    broadcaster = client.server.app[BROADCASTER]
    await asyncio.wait_for(broadcaster.after_fan_out(0.01), 5)  # nothing changed: the limit
    waiting = asyncio.create_task(broadcaster.after_fan_out(60.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    await client.post("/api/session", json={})  # a new player: the next tick has a board
    await asyncio.wait_for(waiting, 5)  # released by that fan-out, long before its limit
    board = await recv_type(sock, "board", timeout=0.5)  # already in this socket's buffer
    assert board["data"]["players_total"] >= 2
    await sock.close()
