"""Timed bans through the API (SPEC §8): a ban that lifts itself, told to the player's page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.player_news import PLAYER_NEWS
from tests.server.conftest import ADMIN, admin_json, auth, new_player


async def push(client: TestClient, token: str, batch_id: str) -> tuple[int, Any]:
    body = {"batch_id": batch_id, "clicks": [1]}
    response = await client.post("/api/push_clicks", json=body, headers=auth(token))
    return response.status, await response.json()


async def me(client: TestClient, token: str, wait: int = 0) -> dict[str, Any]:
    response = await client.get(f"/api/me?wait={wait}", headers=auth(token))
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_ban_of_3_s_lifts_itself(client: TestClient, app_clock: FakeClock) -> None:
    """A ban of 3 s lifts itself: pushes are refused, then accepted again, with both in the
    audit; the page's held ``/api/me?wait`` answers at the lifting, not at its timeout."""
    token, player = await new_player(client, "Mallory")
    path = f"/api/admin/players/{player['id']}/actions/ban"
    banned = await admin_json(client, "POST", path, {"reason": "spam", "duration_seconds": 3})
    assert banned["player"]["banned_until"] == app_clock.now() + 3
    status, body = await push(client, token, "b1")
    assert (status, body["error"]["code"]) == (403, "banned")
    shown = await me(client, token)
    assert (shown["status"], shown["ban_reason"]) == ("banned", "spam")
    held = asyncio.create_task(me(client, token, wait=30))
    await until(lambda: player["id"] in client.server.app[PLAYER_NEWS].waiters)
    app_clock.jump(3)
    lifted = await asyncio.wait_for(held, timeout=10)  # the ticker's next turn, not 30 s
    assert (lifted["status"], lifted["banned_until"], lifted["ban_reason"]) == (
        "active",
        None,
        None,
    )
    status, body = await push(client, token, "b2")
    assert (status, body["accepted"]) == (200, 1)
    audit = await admin_json(client, "GET", f"/api/admin/audit?target={player['id']}")
    assert [(e["action"], e["admin"], e["reason"]) for e in audit["entries"]] == [
        ("unban", "system", "ban expired"),
        ("ban", "admin", "spam"),
    ]


async def until(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail after ``deadline`` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while not condition():
        assert loop.time() < give_up, "the condition never held"
        await asyncio.sleep(0.01)


async def test_a_ban_with_a_duration_out_of_range_is_refused(client: TestClient) -> None:
    """``duration_seconds`` of 0 or over a year is a 400 naming the field; the player stays."""
    token, player = await new_player(client)
    path = f"/api/admin/players/{player['id']}/actions/ban"
    for seconds in (0, 31_536_001, "60"):
        response = await client.post(
            path, json={"reason": "r", "duration_seconds": seconds}, headers=ADMIN
        )
        assert response.status == 400
        assert (await response.json())["error"]["details"]["field"] == "duration_seconds"
    assert (await me(client, token))["status"] == "active"
