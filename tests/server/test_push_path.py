"""One push path for both transports: the same checks, results and metrics (SPEC §4, §6)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.keys import METRICS
from tests.server.conftest import auth, new_player
from tests.server.wsclient import recv, recv_reply


def pushes(client: TestClient, result: str) -> float:
    value = client.server.app[METRICS].registry.get_sample_value("pushes_total", {"result": result})
    return 0.0 if value is None else value


async def test_names_of_any_script_are_players_names(client: TestClient) -> None:
    """José and 名前 are names for a session and for a rename (SPEC §3: letters)."""
    token, player = await new_player(client, "José")
    assert player["name"] == "José"
    response = await client.patch("/api/me", json={"name": " 名前 "}, headers=auth(token))
    assert response.status == 200
    assert (await response.json())["name"] == "名前"


async def test_a_batch_pushed_over_http_is_a_duplicate_over_the_socket(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Both transports reach the same push: a retry on the other one is answered duplicate."""
    player_token, _ = await new_player(client)
    response = await client.post(
        "/api/push_clicks", json={"batch_id": "b-1", "clicks": [4]}, headers=auth(player_token)
    )
    assert response.status == 200
    assert pushes(client, "ok") == 1
    # The same player's socket: a ws token for the player token.
    ws_token = await client.post("/api/ws-token", headers=auth(player_token))
    sock = await client.ws_connect(f"/ws?token={(await ws_token.json())['token']}")
    assert (await recv(sock))["type"] == "snapshot"
    app_clock.jump(1)
    await sock.send_json({"type": "clicks", "batch_id": "b-1", "clicks": [4]})
    ack = await recv_reply(sock)
    assert (ack["type"], ack["duplicate"], ack["score"]) == ("ack", True, 4)
    assert pushes(client, "duplicate") == 1
    await sock.close()


async def test_a_malformed_push_is_refused_alike_on_both_transports(client: TestClient) -> None:
    """An unknown field is refused naming it, over HTTP and over the socket, counted invalid."""
    token, _ = await new_player(client)
    body = {"batch_id": "b-1", "clicks": [1], "bonus": 9}
    response = await client.post("/api/push_clicks", json=body, headers=auth(token))
    assert response.status == 400
    http_error = (await response.json())["error"]
    ws_token = await client.post("/api/ws-token", headers=auth(token))
    sock = await client.ws_connect(f"/ws?token={(await ws_token.json())['token']}")
    await recv(sock)
    await sock.send_json({"type": "clicks", **body})
    ws_error = await recv_reply(sock)
    assert ws_error["type"] == "error" and ws_error["batch_id"] == "b-1"
    for error in (http_error, ws_error):
        assert (error["code"], error["details"]) == ("invalid_request", {"fields": ["bonus"]})
    assert pushes(client, "invalid") == 2
    me = await (await client.get("/api/me", headers=auth(token))).json()
    assert me["score"] == 0
    await sock.close()
