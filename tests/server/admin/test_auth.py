"""The admin API's door: the token, the lockout of guessing addresses, the rate limit (SPEC §8)."""

from __future__ import annotations

import logging
import os

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server import auth as auth_mod
from server.admin.auth import DEVICE_COOKIE, FAILURES_PER_MINUTE, token_id
from server.keys import AUTH
from tests.server.conftest import ADMIN, ADMIN_TOKEN, ClientFactory, admin_json

WRONG = {"Authorization": "Bearer not-the-admin-token-at-all"}


async def test_no_token_is_401_in_the_error_shape(client: TestClient) -> None:
    """An admin route without a token answers 401 with the error shape and a Bearer challenge."""
    response = await client.get("/api/admin/players")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = await response.json()
    assert body["error"]["code"] == "unauthorized"
    assert set(body["error"]) == {"code", "message", "details"}


async def test_wrong_token_is_401(client: TestClient) -> None:
    """A player's token or a wrong string is not the admin token."""
    response = await client.post("/api/admin/game/pause", json={"reason": "x"}, headers=WRONG)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"
    game = await admin_json(client, "GET", "/api/admin/game")
    assert game["paused"] is False


async def test_guessing_address_is_locked_out_even_with_the_right_token(
    client: TestClient, app_clock: FakeClock
) -> None:
    """After too many wrong tokens the address gets 429 before any token is looked at, for a
    client without a device cookie."""
    for _ in range(FAILURES_PER_MINUTE):
        assert (await client.get("/api/admin/game", headers=WRONG)).status == 401
    locked = await client.get("/api/admin/game", headers=ADMIN)
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 59
    assert (await locked.json())["error"]["code"] == "rate_limited"
    app_clock.jump(60.0)
    assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200


async def guess(client: TestClient, headers: dict[str, str], cookie: str | None = None) -> int:
    """One admin request from the test client's address without its cookie jar; the status."""
    sent = {**headers, "Cookie": f"{DEVICE_COOKIE}={cookie}"} if cookie else headers
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(client.make_url("/api/admin/game"), headers=sent) as response,
    ):
        return response.status


async def test_the_admin_page_keeps_working_while_its_address_is_locked_out(
    client: TestClient, app_clock: FakeClock
) -> None:
    """A client that used the right token keeps its access through its device cookie while
    guesses from its address are locked out; a client without one is still locked out."""
    await admin_json(client, "GET", "/api/admin/game")  # the admin page signs in: a cookie
    assert client.session.cookie_jar.filter_cookies(client.make_url("/api/admin/game"))
    for _ in range(FAILURES_PER_MINUTE):
        assert await guess(client, WRONG) == 401
    assert await guess(client, WRONG) == 429
    assert await guess(client, ADMIN) == 429  # a right guess teaches the guesser nothing
    for _ in range(3):
        assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200
    app_clock.jump(60.0)
    assert await guess(client, ADMIN) == 200


async def test_the_admin_socket_opens_from_a_locked_out_address_with_the_device_cookie(
    client: TestClient,
) -> None:
    """The socket's handshake honours the device cookie too; without it the address is
    locked out."""
    token = (await admin_json(client, "POST", "/api/admin/ws-token"))["token"]
    for _ in range(FAILURES_PER_MINUTE):
        assert await guess(client, WRONG) == 401
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        session.get(client.make_url(f"/api/admin/ws?token={token}")) as refused,
    ):
        assert refused.status == 429
    ws = await client.ws_connect(f"/api/admin/ws?token={token}")
    assert (await ws.receive_json())["type"] == "history"  # the first message, then metrics
    await ws.close()


async def test_a_device_that_guesses_is_locked_out_on_its_own(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Wrong tokens sent with a device cookie count against that device, not the address."""
    await admin_json(client, "GET", "/api/admin/game")
    for _ in range(FAILURES_PER_MINUTE):
        assert (await client.get("/api/admin/game", headers=WRONG)).status == 401
    assert (await client.get("/api/admin/game", headers=ADMIN)).status == 429
    assert await guess(client, ADMIN) == 200


@pytest.mark.parametrize("kind", ["forged", "player", "other admin token", "expired"])
async def test_a_cookie_this_server_did_not_give_its_admin_is_no_device(
    client: TestClient, app_clock: FakeClock, kind: str
) -> None:
    """A forged, wrong-kind, other admin's or expired device cookie leaves the address's
    lockout in force."""
    keys = client.server.app[AUTH]
    cookie = {
        "forged": auth_mod.issue(
            auth_mod.Auth("another-secret-key-0123456789-abcdef", keys.admin_token),
            token_id(ADMIN_TOKEN),
            auth_mod.ADMIN_DEVICE,
        ),
        "player": auth_mod.issue(keys, token_id(ADMIN_TOKEN), auth_mod.PLAYER),
        "other admin token": auth_mod.issue(keys, token_id("x" * 20), auth_mod.ADMIN_DEVICE),
        "expired": jwt.encode(
            {"sub": token_id(ADMIN_TOKEN), "typ": auth_mod.ADMIN_DEVICE, "exp": 1},
            keys.secret,
            algorithm="HS256",
        ),
    }[kind]
    for _ in range(FAILURES_PER_MINUTE):
        assert await guess(client, WRONG) == 401
    assert await guess(client, ADMIN, cookie) == 429


async def test_the_device_cookie_is_http_only_and_kept_to_the_admin_api(
    client: TestClient,
) -> None:
    """The cookie is HttpOnly, SameSite=Strict, scoped to /api/admin, and names no token."""
    response = await client.get("/api/admin/game", headers=ADMIN)
    morsel = response.cookies[DEVICE_COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/api/admin" and int(morsel["max-age"]) == auth_mod.DEVICE_TTL
    assert ADMIN_TOKEN not in morsel.value
    again = await client.get("/api/admin/game", headers=ADMIN)
    assert DEVICE_COOKIE not in again.cookies  # the client shows it: no new one


async def test_a_missing_token_does_not_count_as_a_guess(client: TestClient) -> None:
    """Requests without any token are refused but never lock the address out."""
    for _ in range(FAILURES_PER_MINUTE + 5):
        assert (await client.get("/api/admin/game")).status == 401
    assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200


async def test_the_lockout_counts_the_forwarded_client_behind_a_trusted_proxy(
    make_client: ClientFactory,
) -> None:
    """Behind a trusted proxy each forwarded client has its own count of failures."""
    import ipaddress

    client = await make_client(trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),))
    guesser = {**WRONG, "X-Forwarded-For": "203.0.113.7"}
    for _ in range(FAILURES_PER_MINUTE):
        assert (await client.get("/api/admin/game", headers=guesser)).status == 401
    guesser_ok = {**ADMIN, "X-Forwarded-For": "203.0.113.7"}
    assert (await client.get("/api/admin/game", headers=guesser_ok)).status == 429
    other = {**ADMIN, "X-Forwarded-For": "198.51.100.1"}
    assert (await client.get("/api/admin/game", headers=other)).status == 200


async def test_admin_requests_are_rate_limited_per_token(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """Beyond the bucket the admin gets 429 with Retry-After; the bucket refills with time."""
    client = await make_client(admin_rate=2.0, admin_burst=3)
    for _ in range(3):
        assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200
    refused = await client.get("/api/admin/game", headers=ADMIN)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    app_clock.jump(0.5)
    assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200


async def test_rate_limited_admins_leave_players_served(
    make_client: ClientFactory,
) -> None:
    """A runaway admin script meets 429 while a player's request is still answered."""
    client = await make_client(admin_rate=1.0, admin_burst=2)
    statuses = [(await client.get("/api/admin/game", headers=ADMIN)).status for _ in range(10)]
    assert statuses.count(429) == 8
    assert (await client.get("/api/snapshot")).status == 200


async def test_audit_names_the_admin_never_the_token(client: TestClient) -> None:
    """ADMIN_TOKEN's admin is audited as ``admin``; the token is nowhere in the entry."""
    await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "maintenance"})
    entries = (await admin_json(client, "GET", "/api/admin/audit"))["entries"]
    assert entries[0]["admin"] == "admin"
    assert ADMIN_TOKEN not in str(entries)


async def test_generated_admin_token_is_kept_0600_and_named_in_the_log(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    """Without ADMIN_TOKEN one is generated, kept in the data directory and the log says where."""
    with caplog.at_level(logging.WARNING, logger="ctb.auth"):
        client = await make_client(admin_token=None)
    lines = [r for r in caplog.records if getattr(r, "event", None) == "admin_token"]
    assert len(lines) == 1
    path = lines[0].path  # type: ignore[attr-defined]  # the log call's extra
    assert path in lines[0].getMessage()
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as handle:
        token = handle.read().strip()
    response = await client.get("/api/admin/game", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


async def test_each_admin_change_is_one_structured_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An applied and a refused change each log admin_action with the admin's name, not the
    token."""
    with caplog.at_level(logging.INFO, logger="ctb.admin"):
        await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "drill"})
        await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "again"}, 409)
    lines = [r for r in caplog.records if getattr(r, "event", None) == "admin_action"]
    # op, outcome, reason and admin come from the log call's ``extra``: unknown to LogRecord.
    assert [(r.op, r.outcome, r.reason) for r in lines] == [  # type: ignore[attr-defined]
        ("admin_pause", "ok", "drill"),
        ("admin_pause", "conflict", "again"),
    ]
    assert {r.admin for r in lines} == {"admin"}  # type: ignore[attr-defined]
    assert ADMIN_TOKEN not in caplog.text
