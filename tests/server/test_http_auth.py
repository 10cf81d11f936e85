"""Bearer tokens on the HTTP API: which are taken and which get 401 (SPEC §5)."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import stat
import time
import uuid

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from persistence.errors import StartupError
from server import auth as auth_mod
from server.app import init_app
from server.http_api import HTTP
from server.keys import ACTOR, AUTH, SETTINGS
from settings import Settings
from tests.server.conftest import ClientFactory, auth, new_player

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


async def test_a_token_signed_with_secret_key_as_given_is_taken(client: TestClient) -> None:
    """A token PyJWT signs with SECRET_KEY itself is taken; one signed the old way (its SHA-256)
    still is, so players keep the tokens issued before; a token signed with the SHA-256 of
    another key is refused."""
    _, player = await new_player(client)
    key = client.app[SETTINGS].secret_key
    assert key is not None
    now = int(time.time())
    claims = {"sub": player["id"], "typ": "player", "iat": now, "exp": now + 3600}
    response = await client.get("/api/me", headers=auth(jwt.encode(claims, key, "HS256")))
    assert (response.status, (await response.json())["id"]) == (200, player["id"])
    old = hashlib.sha256(key.encode()).hexdigest()
    response = await client.get("/api/me", headers=auth(jwt.encode(claims, old, "HS256")))
    assert response.status == 200
    other = hashlib.sha256(b"another-key-that-is-long-enough-0123456789").hexdigest()
    await refused(client, auth(jwt.encode(claims, other, "HS256")))


async def test_a_generated_key_is_kept_and_used_as_given(
    make_client: ClientFactory, settings: Settings
) -> None:
    """Without SECRET_KEY the key is 32 random bytes or more, kept with mode 0600 and used as it
    is in the file; a key the old code generated there (43 characters) is used the same way."""
    client = await make_client(secret_key=None)
    path = settings.data_dir / auth_mod.SECRET_FILE
    key = path.read_text().strip()
    assert len(key.encode()) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    await client.close()
    old_key = secrets.token_urlsafe(32)  # what earlier versions wrote
    path.write_text(old_key + "\n")
    client = await make_client(secret_key=None)
    _, player = await new_player(client)
    now = int(time.time())
    claims = {"sub": player["id"], "typ": "player", "iat": now, "exp": now + 3600}
    response = await client.get("/api/me", headers=auth(jwt.encode(claims, old_key, "HS256")))
    assert response.status == 200


async def test_a_short_kept_key_stops_start_up(settings: Settings) -> None:
    """A key file holding fewer than 32 bytes stops start-up with a message naming the file."""
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / auth_mod.SECRET_FILE).write_text("x" * 31 + "\n")
    runner = web.AppRunner(init_app(dataclasses.replace(settings, secret_key=None)))
    with pytest.raises(StartupError, match=r"secret\.key .*at least 32 bytes"):
        await runner.setup()  # the app's start: the kept keys are read once DATA_DIR is locked
    await runner.cleanup()
    with pytest.raises(StartupError, match="SECRET_KEY must be at least 32 bytes"):
        init_app(dataclasses.replace(settings, secret_key="y" * 31))


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


async def test_ws_token_leaves_the_player_token_out_of_the_cache(client: TestClient) -> None:
    """A ws-token request (once a socket) keeps no verified token; GET /api/me does."""
    token, _ = await new_player(client)
    tokens = client.app[HTTP].tokens
    assert (await client.post("/api/ws-token", headers=auth(token))).status == 200
    assert len(tokens) == 0
    assert (await client.get("/api/me", headers=auth(token))).status == 200
    assert len(tokens) == 1


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
