"""The WebSocket protocol of SPEC §6 through the real app and real sockets, one client at a time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import msgpack
import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server import auth, ws
from server.keys import ACTOR, AUTH
from server.ws_protocol import MSGPACK_PROTOCOL
from tests.server.conftest import auth as auth_header
from tests.server.conftest import metric, new_player, ws_player
from tests.server.wsclient import WAIT, recv, recv_close, recv_reply, recv_type, until


async def connect(client: TestClient, **kwargs: Any) -> tuple[Any, str, dict[str, Any]]:
    """A new player's socket and its snapshot; returns (ws, player_id, snapshot)."""
    token, player_id = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", **kwargs)
    snapshot = await recv(sock)
    assert snapshot["type"] == "snapshot"
    return sock, player_id, snapshot


async def refusal(client: TestClient, query: str) -> dict[str, Any]:
    """The handshake is refused: the status is checked by ws_connect, the body by a plain GET."""
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(f"/ws{query}")
    assert refused.value.status == 401
    response = await client.get(f"/ws{query}")
    assert response.status == 401
    return await response.json()


# -- the handshake --------------------------------------------------------------------------


async def test_connect_sends_the_snapshot_with_me_at_once(client: TestClient) -> None:
    """A new socket gets the public snapshot plus its own player object as its first message."""
    sock, player_id, snapshot = await connect(client)
    assert snapshot["version"] == 1
    data = snapshot["data"]
    assert {"round", "planets", "leaderboard", "online", "settings", "me"} <= set(data)
    assert data["settings"]["broadcast_interval"] == 0.05
    assert data["me"]["id"] == player_id
    assert data["me"]["score"] == 0
    assert sock.protocol is None  # nothing requested: JSON in text frames
    await sock.close()


def awaiting(coro: Any) -> list[Any]:
    """A coroutine and the coroutines it awaits, outermost first."""
    chain = []
    while hasattr(coro, "cr_frame"):
        chain.append(coro)
        coro = coro.cr_await
    return chain


async def test_an_open_socket_keeps_no_token_and_no_middleware_of_its_own(
    client: TestClient,
) -> None:
    """While a socket lives, its handler's frames hold neither its token nor a frame of the
    address-load middleware, which hands the handler's coroutine straight back."""
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}")
    await recv(sock)
    chains = [awaiting(task.get_coro()) for task in asyncio.all_tasks()]
    chain = next(c for c in chains if any(co.cr_code is ws.serve.__code__ for co in c))
    names = [co.cr_code.co_name for co in chain]
    assert "handle" in names and "shed_requests" not in names
    assert all(token not in co.cr_frame.f_locals.values() for co in chain)
    await sock.close()


async def test_a_token_from_the_http_api_opens_a_socket(client: TestClient) -> None:
    """The real path: a session, then a ws token for it, then the socket for that player."""
    player_token, player = await new_player(client)
    response = await client.post("/api/ws-token", headers=auth_header(player_token))
    assert response.status == 200
    token = (await response.json())["token"]
    sock = await client.ws_connect(f"/ws?token={token}")
    assert (await recv(sock))["data"]["me"]["id"] == player["id"]
    await sock.close()


async def test_json_subprotocol_is_chosen_when_asked_for(client: TestClient) -> None:
    """Asking for ctb.v1.json gets it, and messages come as text frames."""
    token, _ = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", protocols=("ctb.v1.json",))
    assert sock.protocol == "ctb.v1.json"
    assert (await sock.receive(timeout=WAIT)).type is WSMsgType.TEXT
    await sock.close()


async def test_missing_token_is_refused_with_401(client: TestClient) -> None:
    """Without a token the handshake is refused with the SPEC error shape."""
    body = await refusal(client, "")
    assert body["error"]["code"] == "unauthorized"
    assert set(body["error"]) == {"code", "message", "details"}


async def test_invalid_token_is_refused_with_401(client: TestClient) -> None:
    """A token that is not a valid JWT is refused."""
    body = await refusal(client, "?token=not-a-jwt")
    assert body["error"]["code"] == "unauthorized"


async def test_player_token_is_not_a_ws_token(client: TestClient) -> None:
    """A long-lived player token cannot open a socket: only the short-lived ws token can."""
    _, player_id = await ws_player(client)
    token = auth.issue(client.server.app[AUTH], player_id, auth.PLAYER)
    body = await refusal(client, f"?token={token}")
    assert "ws" in body["error"]["message"]


async def test_expired_token_is_refused_with_401(client: TestClient) -> None:
    """A ws token past its expiry is refused."""
    _, player_id = await ws_player(client)
    now = int(time.time())
    claims = {"sub": player_id, "typ": auth.WS, "iat": now - 200, "exp": now - 100}
    token = jwt.encode(claims, client.server.app[AUTH].secret, algorithm="HS256")
    body = await refusal(client, f"?token={token}")
    assert body["error"]["message"] == "token expired"


async def test_unknown_player_is_refused_with_401(client: TestClient) -> None:
    """A well-signed token for a player the game does not know is refused."""
    token = auth.issue(client.server.app[AUTH], "00000000-0000-4000-8000-000000000000", auth.WS)
    body = await refusal(client, f"?token={token}")
    assert body["error"]["message"] == "unknown player"


async def test_banned_player_is_closed_with_4003_on_connect(client: TestClient) -> None:
    """A banned player's socket gets a banned error and is closed with 4003."""
    token, player_id = await ws_player(client)
    await client.server.app[ACTOR].call({"op": "ban", "player_id": player_id})
    sock = await client.ws_connect(f"/ws?token={token}")
    assert (await recv(sock))["code"] == "banned"
    assert await recv_close(sock) == 4003


# -- clicks ---------------------------------------------------------------------------------


async def test_clicks_are_acknowledged_with_the_players_standing(client: TestClient) -> None:
    """A push is applied and answered with what was accepted and where the player now stands."""
    sock, _, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [5, 3]})
    ack = await recv_reply(sock)
    assert ack == {
        "type": "ack",
        "batch_id": "b-1",
        "accepted": 8,
        "throttled": 0,
        "duplicate": False,
        "score": 8,
        "round_score": 8,
        "rank": 1,
        "round_rank": 1,
        "planet_total": 8,
    }
    assert metric(client, "pushes_total", result="ok") == 1
    assert metric(client, "clicks_accepted_total") == 8
    await sock.close()


async def test_throttled_clicks_are_reported_in_the_ack(make_client: Any) -> None:
    """Clicks beyond the bucket are clipped and counted as throttled."""
    client = await make_client(max_cps=2, burst_seconds=1)
    sock, _, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [5]})
    ack = await recv_reply(sock)
    assert (ack["accepted"], ack["throttled"]) == (2, 3)
    assert metric(client, "clicks_throttled_total") == 3
    await sock.close()


async def test_a_repeated_batch_id_returns_the_first_result(
    client: TestClient, app_clock: FakeClock
) -> None:
    """A retried batch is answered again, marked duplicate, and never counts twice."""
    sock, _, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "same", "clicks": [4]})
    first = await recv_reply(sock)
    app_clock.jump(1.0)
    await sock.send_json({"type": "clicks", "batch_id": "same", "clicks": [4]})
    again = await recv_reply(sock)
    assert again["duplicate"] is True
    assert {**again, "duplicate": False} == first
    assert metric(client, "pushes_total", result="duplicate") == 1
    await sock.close()


async def test_a_malformed_push_is_refused_whole(client: TestClient) -> None:
    """A push with a bad count gets an invalid_request error naming its batch, and no clicks."""
    sock, player_id, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [3, 0]})
    error = await recv_reply(sock)
    assert error["type"] == "error"
    assert error["code"] == "invalid_request"
    assert error["batch_id"] == "b-1"
    me = await client.server.app[ACTOR].call({"op": "me", "player_id": player_id})
    assert me["score"] == 0
    await sock.close()


async def test_clicks_between_rounds_get_round_not_active(client: TestClient) -> None:
    """During the break a push is refused with round_not_active."""
    sock, _, _ = await connect(client)
    await client.server.app[ACTOR].call({"op": "end_round"})
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [1]})
    error = await recv_reply(sock)
    assert (error["type"], error["code"], error["batch_id"]) == ("error", "round_not_active", "b-1")
    await sock.close()


async def test_a_fourth_push_back_to_back_is_rate_limited(client: TestClient) -> None:
    """Three pushes at one instant are acked; a fourth gets rate_limited with retry_after."""
    sock, _, _ = await connect(client)
    for batch_id in ("b-1", "b-2", "b-3"):
        await sock.send_json({"type": "clicks", "batch_id": batch_id, "clicks": [1]})
        assert (await recv_reply(sock))["type"] == "ack"
    await sock.send_json({"type": "clicks", "batch_id": "b-4", "clicks": [1]})
    error = await recv_reply(sock)
    assert error["code"] == "rate_limited"
    assert error["batch_id"] == "b-4"
    assert error["details"]["retry_after"] == 0.5
    assert metric(client, "pushes_total", result="rate_limited") == 1
    await sock.close()


# -- the other messages ---------------------------------------------------------------------


async def test_ping_is_answered_with_pong(client: TestClient) -> None:
    """An application ping gets a pong."""
    sock, _, _ = await connect(client)
    await sock.send_json({"type": "ping"})
    assert await recv_reply(sock) == {"type": "pong"}
    await sock.close()


async def test_resync_sends_the_snapshot_again(client: TestClient, app_clock: FakeClock) -> None:
    """A resync gets a fresh snapshot whose me shows the player's current score."""
    sock, _, _ = await connect(client)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [7]})
    await recv_reply(sock)
    await sock.send_json({"type": "resync"})
    snapshot = await recv_reply(sock)
    assert snapshot["type"] == "snapshot"
    assert snapshot["data"]["me"]["score"] == 7
    await sock.close()


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ('{"type": "ping", "pad": "' + "x" * 4100 + '"}', "payload_too_large", None),
        ("{not json", "invalid_request", "unparseable"),
        ("[1, 2, 3]", "invalid_request", "not_an_object"),
        ('{"no": "type"}', "invalid_request", "no_type"),
        ('{"type": "dance"}', "invalid_request", "unknown_type"),
    ],
)
async def test_bad_messages_get_an_error_and_the_socket_stays(
    client: TestClient, frame: str, code: str, reason: str | None
) -> None:
    """Oversized, unparseable, non-object and unknown messages are answered with error."""
    sock, _, _ = await connect(client)
    await sock.send_str(frame)
    error = await recv_reply(sock)
    assert (error["type"], error["code"]) == ("error", code)
    if reason is not None:
        assert error["details"]["reason"] == reason
    await sock.send_json({"type": "ping"})
    assert await recv_reply(sock) == {"type": "pong"}
    await sock.close()


async def test_more_than_20_bad_messages_a_minute_close_with_1008(client: TestClient) -> None:
    """Twenty bad messages are answered; the twenty-first closes the socket with 1008."""
    sock, _, _ = await connect(client)
    for _ in range(20):
        await sock.send_str("{bad")
        assert (await recv_reply(sock))["code"] == "invalid_request"
    await sock.send_json({"type": "ping"})
    assert await recv_reply(sock) == {"type": "pong"}
    await sock.send_str("{bad")
    assert (await recv_reply(sock))["code"] == "invalid_request"
    assert await recv_close(sock) == 1008
    await until(lambda: metric(client, "ws_disconnect_total", reason="policy") == 1)


async def test_msgpack_subprotocol_round_trip(client: TestClient) -> None:
    """With ctb.v1.msgpack every message travels as msgpack in binary frames, both ways."""
    token, player_id = await ws_player(client)
    sock = await client.ws_connect(f"/ws?token={token}", protocols=(MSGPACK_PROTOCOL,))
    assert sock.protocol == MSGPACK_PROTOCOL
    first = await sock.receive(timeout=WAIT)
    assert first.type is WSMsgType.BINARY
    assert msgpack.unpackb(first.data)["data"]["me"]["id"] == player_id
    await sock.send_bytes(msgpack.packb({"type": "clicks", "batch_id": "m-1", "clicks": [2]}))
    ack = await recv_reply(sock)
    assert (ack["type"], ack["accepted"], ack["batch_id"]) == ("ack", 2, "m-1")
    kinds = set()
    while "board" not in kinds:  # the first round's start event may come before the board
        frame = await sock.receive(timeout=WAIT)
        assert frame.type is WSMsgType.BINARY
        kinds.add(msgpack.unpackb(frame.data)["type"])
    await sock.send_bytes(b"\xc1")  # never used in msgpack
    assert (await recv_reply(sock))["details"]["reason"] == "unparseable"
    await sock.close()


# -- closing --------------------------------------------------------------------------------


async def test_a_ban_while_connected_closes_the_players_sockets_with_4003(
    client: TestClient,
) -> None:
    """After an admin ban, close_player closes every socket of that player with 4003."""
    sock_a, player_id, _ = await connect(client)
    token = auth.issue(client.server.app[AUTH], player_id, auth.WS)
    sock_b = await client.ws_connect(f"/ws?token={token}")
    other, _, _ = await connect(client)
    await client.server.app[ACTOR].call({"op": "ban", "player_id": player_id})
    assert ws.close_player(client.server.app, player_id) == 2
    assert await recv_close(sock_a) == 4003
    assert await recv_close(sock_b) == 4003
    await other.send_json({"type": "ping"})
    assert await recv_reply(other) == {"type": "pong"}
    await until(lambda: metric(client, "ws_disconnect_total", reason="banned") == 2)
    await other.close()


async def test_a_push_from_a_banned_player_closes_with_4003(client: TestClient) -> None:
    """A push refused as banned is answered with the error and the socket is closed with 4003."""
    sock, player_id, _ = await connect(client)
    await client.server.app[ACTOR].call({"op": "ban", "player_id": player_id})
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [1]})
    assert (await recv_reply(sock))["code"] == "banned"
    assert await recv_close(sock) == 4003


async def test_shutdown_closes_every_socket_with_1001(client: TestClient) -> None:
    """On shutdown every socket is closed with 1001 and new handshakes are refused."""
    sock_a, _, _ = await connect(client)
    sock_b, _, _ = await connect(client, protocols=(MSGPACK_PROTOCOL,))
    closing = asyncio.create_task(ws.close_all(client.server.app))
    assert await recv_close(sock_a) == 1001
    assert await recv_close(sock_b) == 1001
    await closing
    assert metric(client, "ws_disconnect_total", reason="shutdown") == 2
    token, _ = await ws_player(client)
    response = await client.get(f"/ws?token={token}")
    assert response.status == 503


async def test_connections_are_counted_and_shown_online(client: TestClient) -> None:
    """Connects and disconnects move the metrics and the board's online count."""
    sock, _, _ = await connect(client)
    assert metric(client, "ws_connections_active") == 1
    assert metric(client, "ws_connect_total") == 1
    board = await recv_type(sock, "board")
    while board["data"]["online"] != 1:
        board = await recv_type(sock, "board")
    await sock.close()
    await until(lambda: metric(client, "ws_disconnect_total", reason="client_close") == 1)
    assert metric(client, "ws_connections_active") == 0
    await until(lambda: client.server.app[ACTOR].board.online == 0)


async def test_connect_and_disconnect_are_logged_as_json_events(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Connect and disconnect each write one log record with an event, a player and a reason."""
    caplog.set_level("INFO", logger="ctb.ws")
    sock, player_id, _ = await connect(client)
    await sock.close()
    await until(lambda: any(getattr(r, "event", "") == "ws_disconnect" for r in caplog.records))
    events = {r.event: r for r in caplog.records if hasattr(r, "event")}
    # The record's fields come from the log call's ``extra``: unknown to LogRecord's type.
    assert events["ws_connect"].player_id == player_id  # type: ignore[attr-defined]
    assert events["ws_disconnect"].reason == "client_close"  # type: ignore[attr-defined]
