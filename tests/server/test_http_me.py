"""GET and PATCH /api/me: your player with ranks, and renaming (SPEC §5)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.keys import ACTOR
from tests.server.conftest import auth, new_player


async def me(client: TestClient, token: str) -> dict[str, object]:
    response = await client.get("/api/me", headers=auth(token))
    assert response.status == 200
    return await response.json()


async def test_me_shows_scores_ranks_and_last_click(
    client: TestClient, app_clock: FakeClock
) -> None:
    """After a push, /api/me shows the new scores, both ranks and the click time in ISO 8601."""
    token, player = await new_player(client, "Ada")
    app_clock.jump(2)
    response = await client.post(
        "/api/push_clicks", json={"batch_id": "b1", "clicks": [7]}, headers=auth(token)
    )
    assert response.status == 200
    body = await me(client, token)
    assert body["id"] == player["id"]
    assert (body["score"], body["round_score"]) == (7, 7)
    assert (body["rank"], body["round_rank"]) == (1, 1)
    assert body["last_click_at"] == "2023-11-14T22:13:22Z"


async def test_rename_changes_the_name(client: TestClient) -> None:
    """PATCH /api/me with a valid name renames the player, trimmed."""
    token, _ = await new_player(client, "Old")
    response = await client.patch("/api/me", json={"name": " New name "}, headers=auth(token))
    assert response.status == 200
    assert (await response.json())["name"] == "New name"
    assert (await me(client, token))["name"] == "New name"


async def test_refused_rename_changes_nothing(client: TestClient) -> None:
    """A rename with a bad, missing or extra field is refused and the name stays."""
    token, _ = await new_player(client, "Keep")
    for body in [{"name": "bad!"}, {"name": 3}, {}, {"name": "Ok", "planet": "mars"}, ["x"]]:
        response = await client.patch("/api/me", json=body, headers=auth(token))
        assert response.status == 400, body
        assert (await response.json())["error"]["code"] == "invalid_request"
    assert (await me(client, token))["name"] == "Keep"


async def test_banned_player_cannot_rename(client: TestClient) -> None:
    """A banned player's rename is refused with 403 banned, while /api/me still answers."""
    token, player = await new_player(client, "Before")
    await client.app[ACTOR].call({"op": "ban", "player_id": player["id"]})
    response = await client.patch("/api/me", json={"name": "After"}, headers=auth(token))
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "banned"
    body = await me(client, token)
    assert (body["name"], body["status"]) == ("Before", "banned")


async def test_a_padded_rename_counts_its_length_after_trimming(client: TestClient) -> None:
    """PATCH /api/me takes 24 letters with spaces around them, trimmed (SPEC §3)."""
    token, _ = await new_player(client, "Old")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWX"
    response = await client.patch("/api/me", json={"name": f"  {letters}   "}, headers=auth(token))
    assert response.status == 200
    assert (await response.json())["name"] == letters
