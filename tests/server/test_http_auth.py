"""Bearer tokens on the HTTP API: which are taken and which get 401 (SPEC §5)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from aiohttp.test_utils import TestClient

from server import auth as auth_mod
from server.keys import ACTOR, AUTH
from tests.server.conftest import auth, new_player

PROTECTED = [
    ("GET", "/api/me", None),
    ("PATCH", "/api/me", {"name": "Renamed"}),
    ("POST", "/api/ws-token", None),
    ("POST", "/api/push_clicks", {"batch_id": "b1", "clicks": [1]}),
    ("GET", "/api/leaderboard?around=me", None),
]


def signed(client: TestClient, claims: dict[str, object], key: str | None = None) -> str:
    return jwt.encode(claims, key or client.app[AUTH].secret, algorithm="HS256")


async def refused(client: TestClient, headers: dict[str, str]) -> list[dict[str, object]]:
    """Send every protected request with ``headers``; all must be 401 in the error shape."""
    errors = []
    for method, path, body in PROTECTED:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        errors.append((await response.json())["error"])
    assert {e["code"] for e in errors} == {"unauthorized"}
    return errors


async def test_missing_token_is_refused(client: TestClient) -> None:
    """A request without a bearer token is refused with 401."""
    await refused(client, {})
    await refused(client, {"Authorization": "Basic dXNlcjpwdw=="})


async def test_forged_token_is_refused(client: TestClient) -> None:
    """A token signed with another key is refused with 401."""
    _, player = await new_player(client)
    now = int(time.time())
    claims = {"sub": player["id"], "typ": "player", "iat": now, "exp": now + 3600}
    token = signed(client, claims, key="another-key-that-is-long-enough-0123456789")
    errors = await refused(client, auth(token))
    assert errors[0]["message"] == "invalid token"
    await refused(client, auth("not.a.jwt"))


async def test_expired_token_is_refused(client: TestClient) -> None:
    """A player token past its expiry is refused with 401."""
    _, player = await new_player(client)
    now = int(time.time())
    claims = {"sub": player["id"], "typ": "player", "iat": now - 7200, "exp": now - 3600}
    errors = await refused(client, auth(signed(client, claims)))
    assert errors[0]["message"] == "token expired"


async def test_ws_token_is_not_a_player_token(client: TestClient) -> None:
    """The short-lived WebSocket token cannot be used as a bearer token."""
    token, _ = await new_player(client)
    response = await client.post("/api/ws-token", headers=auth(token))
    ws_token = (await response.json())["token"]
    errors = await refused(client, auth(ws_token))
    assert errors[0]["message"] == "not a player token"


async def test_token_without_required_claims_is_refused(client: TestClient) -> None:
    """A well-signed token without a subject or a kind is refused with 401."""
    now = int(time.time())
    await refused(client, auth(signed(client, {"typ": "player", "exp": now + 60})))
    await refused(client, auth(signed(client, {"sub": "x", "exp": now + 60})))


async def test_token_for_unknown_player_is_refused(client: TestClient) -> None:
    """A valid token naming a player the game does not know is refused with 401."""
    token = auth_mod.issue(client.app[AUTH], str(uuid.uuid4()), auth_mod.PLAYER)
    errors = await refused(client, auth(token))
    assert errors[0]["message"] == "this token's player does not exist"


async def test_ws_token_is_short_lived_and_of_its_own_kind(client: TestClient) -> None:
    """POST /api/ws-token gives a ws token for the same player, valid 90 seconds."""
    token, player = await new_player(client)
    response = await client.post("/api/ws-token", headers=auth(token))
    assert response.status == 200
    body = await response.json()
    assert body["expires_in"] == 90
    secret = client.app[AUTH]
    assert auth_mod.verify(secret, body["token"], auth_mod.WS) == player["id"]
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 90


async def test_banned_player_gets_no_ws_token(client: TestClient) -> None:
    """A banned player is refused a WebSocket token with 403 banned."""
    token, player = await new_player(client)
    await client.app[ACTOR].call({"op": "ban", "player_id": player["id"]})
    response = await client.post("/api/ws-token", headers=auth(token))
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "banned"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_bearer_scheme_is_case_insensitive(client: TestClient, scheme: str) -> None:
    """The auth scheme name is matched without regard to case (RFC 9110 §11.1)."""
    token, _ = await new_player(client)
    response = await client.get("/api/me", headers={"Authorization": f"{scheme} {token}"})
    assert response.status == 200
