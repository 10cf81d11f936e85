"""A player hears at once of an admin's change to their player: ``me`` on their sockets, and
the end of a banned player's ``GET /api/me?wait`` at the unban (SPEC §8, §9)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from server import auth as auth_mod
from server.keys import AUTH
from server.player_news import PLAYER_NEWS
from tests.server.conftest import admin_json, auth, new_player, ws_player
from tests.server.wsclient import recv, recv_type, send, until


async def socket_of(client: TestClient, token: str, protocol: str = "ctb.v1.json") -> Any:
    ws = await client.ws_connect(f"/ws?token={token}", protocols=(protocol,))
    await recv_type(ws, "snapshot")
    return ws


async def no_me_before_pong(ws: ClientWebSocketResponse) -> None:
    """Nothing but boards and round events came to ``ws`` before the answer to a ping."""
    await send(ws, {"type": "ping"})
    while (message := await recv(ws))["type"] != "pong":
        assert message["type"] in ("board", "round"), message


async def test_a_move_by_an_admin_reaches_every_tab_of_that_player_only(
    client: TestClient,
) -> None:
    """Moved to another planet, both of the player's sockets (JSON and msgpack) get ``me`` with
    the new planet; another player's socket gets none."""
    token, player_id = await ws_player(client)
    first = await socket_of(client, token)
    second_token, _ = await ws_player(client)
    other = await socket_of(client, second_token)
    tab = auth_mod.issue(client.server.app[AUTH], player_id, auth_mod.WS)
    msgpack_tab = await socket_of(client, tab, "ctb.v1.msgpack")
    me = await admin_json(client, "GET", f"/api/admin/players/{player_id}")
    planet = "mars" if me["player"]["planet"] == "earth" else "earth"
    body = {"planet": planet, "reason": "balance"}
    await admin_json(client, "PATCH", f"/api/admin/players/{player_id}", body)
    for ws in (first, msgpack_tab):
        told = await recv_type(ws, "me")
        assert (told["data"]["id"], told["data"]["planet"]) == (player_id, planet)
    await no_me_before_pong(other)


async def test_a_bulk_move_tells_each_moved_player(client: TestClient) -> None:
    """A bulk job's steps tell every online player they moved, with the new planet."""
    players = [await ws_player(client) for _ in range(3)]
    sockets = [await socket_of(client, token) for token, _ in players]
    body = {
        "action": "move_planet",
        "planet": "mars",
        "player_ids": [player_id for _, player_id in players],
        "reason": "rebalance",
    }
    await admin_json(client, "POST", "/api/admin/bulk", body, status=201)
    for ws in sockets:
        assert (await recv_type(ws, "me"))["data"]["planet"] == "mars"


async def test_a_rename_and_a_reset_are_told_with_the_new_figures(client: TestClient) -> None:
    """After an admin's rename and score reset, ``me`` carries the new name and zero scores."""
    token, player = await new_player(client, "before")
    push = {"batch_id": "b1", "clicks": [4]}
    await client.post("/api/push_clicks", json=push, headers=auth(token))
    ws_token = (await (await client.post("/api/ws-token", headers=auth(token))).json())["token"]
    ws = await socket_of(client, ws_token)
    path = f"/api/admin/players/{player['id']}"
    await admin_json(client, "PATCH", path, {"name": "after", "reason": "rude"})
    assert (await recv_type(ws, "me"))["data"]["name"] == "after"
    await admin_json(client, "POST", f"{path}/actions/reset_score", {"reason": "cheat"})
    told = (await recv_type(ws, "me"))["data"]
    assert (told["score"], told["round_score"], told["rank"]) == (0, 0, None)


async def test_a_banned_players_wait_ends_at_the_unban(client: TestClient) -> None:
    """A banned player's ``/api/me?wait=30`` is answered when an admin lifts the ban, with the
    player active again."""
    token, player = await new_player(client)
    path = f"/api/admin/players/{player['id']}/actions"
    await admin_json(client, "POST", f"{path}/ban", {"reason": "spam"})
    waiting = asyncio.create_task(client.get("/api/me?wait=30", headers=auth(token)))
    await asyncio.sleep(0)  # the request is on its way; the unban may come before or after
    await admin_json(client, "POST", f"{path}/unban", {"reason": "appeal"})
    response = await asyncio.wait_for(waiting, 10)
    assert response.status == 200
    assert (await response.json())["status"] == "active"


async def test_a_wait_answers_at_once_unless_banned_and_ends_banned_when_time_is_up(
    client: TestClient,
) -> None:
    """An active player's wait is answered at once; a banned one's after ``wait`` seconds,
    still banned; a wait over 30 s is refused."""
    token, player = await new_player(client)
    response = await asyncio.wait_for(client.get("/api/me?wait=30", headers=auth(token)), 10)
    assert (await response.json())["status"] == "active"
    path = f"/api/admin/players/{player['id']}/actions/ban"
    await admin_json(client, "POST", path, {"reason": "spam"})
    response = await asyncio.wait_for(client.get("/api/me?wait=1", headers=auth(token)), 10)
    assert (await response.json())["status"] == "banned"
    response = await client.get("/api/me?wait=31", headers=auth(token))
    assert response.status == 400
    assert (await response.json())["error"]["details"]["field"] == "wait"


async def test_a_held_wait_is_answered_when_the_server_shuts_down(client: TestClient) -> None:
    """Shutting down answers a banned player's held ``/api/me?wait`` at once, still banned,
    so the server never waits out a held request."""
    token, player = await new_player(client)
    path = f"/api/admin/players/{player['id']}/actions/ban"
    await admin_json(client, "POST", path, {"reason": "spam"})
    waiting = asyncio.create_task(client.get("/api/me?wait=30", headers=auth(token)))
    news = client.server.app[PLAYER_NEWS]
    await until(lambda: player["id"] in news.waiters)
    await client.server.app.shutdown()
    response = await asyncio.wait_for(waiting, 10)
    assert (await response.json())["status"] == "banned"
