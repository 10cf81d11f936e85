"""The admin socket and the effects of admin actions on players' sockets (SPEC §6, §8)."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server import auth
from server.admin.ws import ADMIN_HUB
from server.keys import AUTH
from tests.server.conftest import ADMIN, ClientFactory, admin_json, ws_player
from tests.server.wsclient import recv, recv_close, recv_type, send


async def admin_socket(client: TestClient) -> ClientWebSocketResponse:
    token = (await admin_json(client, "POST", "/api/admin/ws-token"))["token"]
    return await client.ws_connect(f"/api/admin/ws?token={token}")


async def event_of(ws: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = await recv_type(ws, "event")
        if message["data"]["kind"] == kind:
            return message["data"]


async def player_socket(client: TestClient) -> tuple[ClientWebSocketResponse, str]:
    token, player_id = await ws_player(client)
    ws = await client.ws_connect(f"/ws?token={token}")
    await recv_type(ws, "snapshot")
    return ws, player_id


async def test_admin_socket_starts_with_the_figures_and_answers_ping(client: TestClient) -> None:
    """The first message is the figures; a ping gets a pong, anything else an error."""
    ws = await admin_socket(client)
    first = await recv_type(ws, "metrics")
    assert first["data"]["admin_sockets"] == 0 and "clicks_per_second" in first["data"]
    await send(ws, {"type": "ping"})
    assert (await recv_type(ws, "pong"))["type"] == "pong"
    await send(ws, {"type": "ban"})
    assert (await recv_type(ws, "error"))["code"] == "invalid_request"
    await ws.close()


async def test_admin_socket_needs_an_admin_ws_token(client: TestClient) -> None:
    """No token, the admin token itself or a player's ws token: 401 in the error shape."""
    for query in ("", "?token=test-admin-token-0123456789"):
        response = await client.get(f"/api/admin/ws{query}")
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
    token, _ = await ws_player(client)
    response = await client.get(f"/api/admin/ws?token={token}")
    assert response.status == 401


async def test_admin_socket_takes_the_bearer_header(client: TestClient) -> None:
    """A tool that is not a browser opens the admin socket with ``Authorization: Bearer`` and
    the admin token (SPEC §8); a wrong token in the header is refused with 401."""
    ws = await client.ws_connect("/api/admin/ws", headers=ADMIN)
    assert (await recv_type(ws, "metrics"))["type"] == "metrics"
    await send(ws, {"type": "ping"})
    assert (await recv_type(ws, "pong"))["type"] == "pong"
    await ws.close()
    wrong = {"Authorization": "Bearer not-the-admin-token-0123456789"}
    response = await client.get("/api/admin/ws", headers=wrong)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_the_admin_token_is_refused_in_the_url_even_with_the_header(
    client: TestClient,
) -> None:
    """The admin token in the URL is never taken, whatever else the handshake carries."""
    response = await client.get("/api/admin/ws?token=test-admin-token-0123456789", headers=ADMIN)
    assert response.status == 401


async def test_figures_are_pushed_on_the_interval(make_client: ClientFactory) -> None:
    """The socket pushes the figures every interval (5 s by default; shrunk here)."""
    client = await make_client(admin_metrics_interval=0.05)
    ws = await admin_socket(client)
    await recv_type(ws, "metrics")
    pushed = await recv_type(ws, "metrics")
    assert pushed["data"]["admin_sockets"] == 1
    await ws.close()


async def test_ban_closes_that_players_sockets_only_and_every_admin_hears_it(
    client: TestClient,
) -> None:
    """A ban closes the banned player's sockets with 4003, leaves others open, reaches admins."""
    admins = [await admin_socket(client) for _ in range(3)]
    banned_a, banned_id = await player_socket(client)
    second = auth.issue(client.server.app[AUTH], banned_id, auth.WS)
    banned_b = await client.ws_connect(f"/ws?token={second}")  # the same player's other tab
    await recv_type(banned_b, "snapshot")
    other, _ = await player_socket(client)
    await admin_json(
        client, "POST", f"/api/admin/players/{banned_id}/actions/ban", {"reason": "bot"}
    )
    assert await recv_close(banned_a) == 4003
    assert await recv_close(banned_b) == 4003
    for ws in admins:
        event = await event_of(ws, "ban")
        assert event["player_id"] == banned_id and event["reason"] == "bot"
        assert "banned" not in event  # whom to close is the server's business, not the page's
    await send(other, {"type": "ping"})
    assert (await recv_type(other, "pong"))["type"] == "pong"


async def test_kick_closes_with_4000_and_the_player_may_come_back(client: TestClient) -> None:
    """A kick closes every socket of the player with 4000; the player is not banned."""
    ws, player_id = await player_socket(client)
    await admin_json(
        client, "POST", f"/api/admin/players/{player_id}/actions/kick", {"reason": "reset"}
    )
    assert await recv_close(ws) == 4000
    detail = await admin_json(client, "GET", f"/api/admin/players/{player_id}")
    assert detail["player"]["status"] == "active"


async def test_patch_to_banned_closes_too(client: TestClient) -> None:
    """Setting the status to banned by a patch closes the sockets like a ban."""
    ws, player_id = await player_socket(client)
    await admin_json(
        client, "PATCH", f"/api/admin/players/{player_id}", {"status": "banned", "reason": "x"}
    )
    assert await recv_close(ws) == 4003


async def test_bulk_ban_closes_each_banned_players_sockets(client: TestClient) -> None:
    """A bulk ban over a list of ids closes their sockets and reports progress to admins."""
    admin = await admin_socket(client)
    sockets = [await player_socket(client) for _ in range(3)]
    spared, _ = await player_socket(client)
    ids = [player_id for _, player_id in sockets]
    job = await admin_json(
        client,
        "POST",
        "/api/admin/bulk",
        {"action": "ban", "player_ids": ids, "reason": "ring"},
        status=201,
    )
    for ws, _ in sockets:
        assert await recv_close(ws) == 4003
    while True:
        event = await event_of(admin, "bulk")
        if event["job"]["status"] == "done":
            break
    assert event["job"]["id"] == job["id"] and event["job"]["done"] == 3
    await send(spared, {"type": "ping"})
    assert (await recv_type(spared, "pong"))["type"] == "pong"


async def test_flag_and_pause_reach_the_admin_socket(client: TestClient) -> None:
    """Flags, pauses and resumes are pushed to admins as they happen."""
    ws = await admin_socket(client)
    _, player_id = await ws_player(client)
    await admin_json(
        client, "POST", "/api/admin/interventions", {"player_id": player_id, "reason": "r"}, 201
    )
    flagged = await event_of(ws, "flag")
    assert flagged["intervention"]["player_id"] == player_id
    await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "stop"})
    assert (await event_of(ws, "pause"))["reason"] == "stop"
    response = await client.get("/api/admin/game", headers=ADMIN)
    assert (await response.json())["paused"] is True


async def test_the_socket_opens_with_the_last_ten_minutes_of_figures(
    client: TestClient, app_clock: FakeClock
) -> None:
    """After N samples 5 s apart the socket's first message is the history holding those N
    points, oldest first, and a point older than 10 minutes is dropped."""
    hub = client.server.app[ADMIN_HUB]
    times = []
    for _ in range(4):
        app_clock.jump(5)
        hub.sample()
        times.append(app_clock.now())
    ws = await admin_socket(client)
    first = await recv(ws)
    assert first["type"] == "history" and first["data"]["interval"] == 5
    assert [point["at"] for point in first["data"]["points"]] == times
    assert "clicks_per_second" in first["data"]["points"][0]
    assert (await recv(ws))["type"] == "metrics"
    await ws.close()

    app_clock.jump(times[1] + 600 + 1 - app_clock.now())  # the first two are now too old
    hub.sample()
    answer = await admin_json(client, "GET", "/api/admin/metrics?history=1")
    assert [point["at"] for point in answer["history"]] == [*times[2:], app_clock.now()]
    assert "history" not in await admin_json(client, "GET", "/api/admin/metrics")


async def test_a_history_flag_that_is_not_one_or_zero_is_refused(client: TestClient) -> None:
    """``?history=maybe`` gets 400 in the error shape, naming the field."""
    response = await client.get("/api/admin/metrics?history=maybe", headers=ADMIN)
    assert response.status == 400
    assert (await response.json())["error"]["details"] == {"field": "history"}
