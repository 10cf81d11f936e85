"""POST /api/session: new players, their names, and the per-address session limit (SPEC §3, §5)."""

from __future__ import annotations

import ipaddress
import uuid

from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server import auth as auth_mod
from server.keys import AUTH
from tests.server.conftest import ClientFactory, auth, new_player

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


async def test_session_creates_a_player_with_a_token(client: TestClient) -> None:
    """A new session answers 201 with a player token and the full player object."""
    response = await client.post("/api/session", json={"name": "  Ada_99 "})
    assert response.status == 201
    body = await response.json()
    player = body["player"]
    assert set(player) == {
        "id",
        "name",
        "planet",
        "score",
        "round_score",
        "rank",
        "round_rank",
        "status",
        "created_at",
        "last_click_at",
        "key",
        "banned_until",
        "ban_reason",
    }
    assert player["name"] == "Ada_99"
    assert player["planet"] in {"earth", "mars"}
    assert (player["score"], player["round_score"], player["status"]) == (0, 0, "active")
    assert player["created_at"] == "2023-11-14T22:13:20Z"
    assert uuid.UUID(player["id"]).version == 4
    assert auth_mod.verify(client.app[AUTH], body["token"], auth_mod.PLAYER) == player["id"]


async def test_session_without_body_gets_a_default_name(client: TestClient) -> None:
    """A session with no body at all is a player with a generated name."""
    response = await client.post("/api/session")
    assert response.status == 201
    player = (await response.json())["player"]
    assert player["name"].startswith("player-")


async def test_players_are_spread_over_planets(client: TestClient) -> None:
    """New players go to the planet with the fewest players."""
    planets = [(await new_player(client))[1]["planet"] for _ in range(4)]
    assert sorted(planets) == ["earth", "earth", "mars", "mars"]


async def test_bad_names_are_refused(client: TestClient) -> None:
    """A name that is empty, too long, of the wrong type or with other characters is refused."""
    for name in ["", "   ", "x" * 25, "semi;colon", 7, None, ["a"]]:
        response = await client.post("/api/session", json={"name": name})
        assert response.status == 400, name
        assert (await response.json())["error"]["code"] == "invalid_request"
    response = await client.get("/api/snapshot")
    assert (await response.json())["players_total"] == 0


async def test_names_that_show_nothing_are_refused_and_others_normalised(
    client: TestClient,
) -> None:
    """A filler or zero-width name gets the error shape and creates no one; José is one spelling."""
    for name in ["\u3164", "\u115f\u1160", "Ann\u200b", "\u202eevil", "\u0301"]:
        response = await client.post("/api/session", json={"name": name})
        assert response.status == 400, ascii(name)
        error = (await response.json())["error"]
        assert (error["code"], error["details"]) == ("invalid_request", {"field": "name"})
    response = await client.get("/api/snapshot")
    assert (await response.json())["players_total"] == 0
    _, player = await new_player(client, "Jose\u0301")
    assert player["name"] == "José"


async def test_sessions_are_limited_per_address(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """The session after SESSIONS_PER_MINUTE in a minute gets 429 until the minute has passed."""
    client = await make_client(sessions_per_minute=3)
    for _ in range(3):
        await new_player(client)
    response = await client.post("/api/session", json={})
    assert response.status == 429
    assert response.headers["Retry-After"] == "60"
    error = (await response.json())["error"]
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retry_after": 60.0}
    app_clock.jump(59.5)
    assert (await client.post("/api/session", json={})).status == 429
    app_clock.jump(0.5)
    await new_player(client)


async def test_refused_session_does_not_use_the_limit(make_client: ClientFactory) -> None:
    """An invalid session request is refused before it counts against the address."""
    client = await make_client(sessions_per_minute=1)
    assert (await client.post("/api/session", json={"name": "!"})).status == 400
    await new_player(client)


async def test_forwarded_for_is_ignored_from_untrusted_peers(make_client: ClientFactory) -> None:
    """Without trusted proxies, X-Forwarded-For cannot give a client a fresh limit."""
    client = await make_client(sessions_per_minute=1)
    first = await client.post("/api/session", headers={"X-Forwarded-For": "203.0.113.1"})
    second = await client.post("/api/session", headers={"X-Forwarded-For": "203.0.113.2"})
    assert (first.status, second.status) == (201, 429)


async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
    make_client: ClientFactory,
) -> None:
    """Behind a trusted proxy, each forwarded client address has its own limit."""
    client = await make_client(sessions_per_minute=1, trusted_proxies=LOOPBACK)
    one = {"X-Forwarded-For": "203.0.113.1"}
    assert (await client.post("/api/session", headers=one)).status == 201
    assert (await client.post("/api/session", headers=one)).status == 429
    other = {"X-Forwarded-For": "203.0.113.2"}
    assert (await client.post("/api/session", headers=other)).status == 201


async def test_spoofed_left_hops_do_not_escape_the_limit(make_client: ClientFactory) -> None:
    """Addresses a client writes to the left of its real one are not believed."""
    client = await make_client(sessions_per_minute=1, trusted_proxies=LOOPBACK)
    first = {"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}
    second = {"X-Forwarded-For": "198.51.100.8, 203.0.113.1"}
    assert (await client.post("/api/session", headers=first)).status == 201
    assert (await client.post("/api/session", headers=second)).status == 429


async def test_session_token_works_at_once(client: TestClient) -> None:
    """The token from a new session authenticates the next request."""
    token, player = await new_player(client, "fresh")
    response = await client.get("/api/me", headers=auth(token))
    assert (await response.json())["id"] == player["id"]


async def test_a_padded_name_counts_its_length_after_trimming(client: TestClient) -> None:
    """A name of 24 letters with spaces around it is accepted, trimmed (SPEC §3: trimmed, then
    1-24); 25 letters are still refused however they are padded."""
    letters = "abcdefghijklmnopqrstuvwx"
    _, player = await new_player(client, f"   {letters}  ")
    assert player["name"] == letters
    response = await client.post("/api/session", json={"name": f" {letters}y "})
    assert response.status == 400
    assert (await response.json())["error"]["details"] == {"field": "name"}
