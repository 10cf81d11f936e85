"""GET and PATCH /api/me: your player with ranks, and renaming (SPEC §5)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.keys import ACTOR
from tests.server.conftest import ClientFactory, auth, new_player


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


async def test_renames_are_limited_per_player(client: TestClient, app_clock: FakeClock) -> None:
    """Three renames pass at once; the fourth gets 429 with Retry-After and changes nothing,
    while another player may still rename; ten seconds later one more passes."""
    token, _ = await new_player(client, "First")
    other, _ = await new_player(client, "Other")
    for name in ("A", "B", "C"):
        response = await client.patch("/api/me", json={"name": name}, headers=auth(token))
        assert response.status == 200
    refused = await client.patch("/api/me", json={"name": "D"}, headers=auth(token))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "10"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert (await me(client, token))["name"] == "C"
    assert (await client.patch("/api/me", json={"name": "O"}, headers=auth(other))).status == 200
    app_clock.jump(10)
    assert (await client.patch("/api/me", json={"name": "D"}, headers=auth(token))).status == 200


async def test_reads_that_enter_the_game_are_limited_per_address(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """GET /api/me, the ranks around you and ws-tokens share the address's bucket (READ_BURST,
    then READ_RATE a second): beyond it 429 with Retry-After; the cached top is not counted."""
    client = await make_client(read_burst=3, read_rate=0.5)
    token, _ = await new_player(client, "Reader")
    assert (await client.get("/api/me", headers=auth(token))).status == 200
    around = await client.get("/api/leaderboard?around=me&scope=all", headers=auth(token))
    assert around.status == 200
    assert (await client.post("/api/ws-token", headers=auth(token))).status == 200
    for _ in range(5):
        assert (await client.get("/api/leaderboard?scope=all&limit=100")).status == 200
    refused = await client.get("/api/me", headers=auth(token))
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "2"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert (await client.post("/api/ws-token", headers=auth(token))).status == 429
    app_clock.jump(2)
    assert (await client.get("/api/me", headers=auth(token))).status == 200


async def test_a_padded_rename_counts_its_length_after_trimming(client: TestClient) -> None:
    """PATCH /api/me takes 24 letters with spaces around them, trimmed (SPEC §3)."""
    token, _ = await new_player(client, "Old")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWX"
    response = await client.patch("/api/me", json={"name": f"  {letters}   "}, headers=auth(token))
    assert response.status == 200
    assert (await response.json())["name"] == letters
