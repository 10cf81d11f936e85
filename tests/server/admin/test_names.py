"""Named admin tokens (SPEC §8): each admin signs in with a token of their own and is audited,
logged and shown in the admin events by name."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server import auth as auth_mod
from server.admin.auth import FAILURES_PER_MINUTE, token_id
from server.keys import AUTH
from tests.server.admin.test_auth import guess
from tests.server.conftest import ADMIN, ClientFactory, auth, new_player
from tests.server.wsclient import recv_type

ALICE_TOKEN, BOB_TOKEN = "alice-token-0123456789", "bob-token-abcdefghijkl"
ALICE = {"Authorization": f"Bearer {ALICE_TOKEN}"}
BOB = {"Authorization": f"Bearer {BOB_TOKEN}"}
WRONG = {"Authorization": "Bearer not-an-admin-token-at-all"}


@pytest.fixture
async def named(make_client: ClientFactory) -> TestClient:
    """A server with ADMIN_TOKEN (admin) and ADMIN_TOKENS for alice and bob."""
    return await make_client(admin_tokens=(("alice", ALICE_TOKEN), ("bob", BOB_TOKEN)))


async def call(
    client: TestClient, headers: dict[str, str], method: str, path: str, body: Any = None
) -> Any:
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status < 300, await response.text()
    return await response.json()


async def test_each_admins_actions_are_audited_and_logged_under_their_name(
    named: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Alice bans and Bob pauses: the audit and the ``admin_action`` log lines say who, by
    name, and never a token; ADMIN_TOKEN keeps working as ``admin``."""
    _, player = await new_player(named, "Mallory")
    with caplog.at_level(logging.INFO, logger="ctb.admin"):
        path = f"/api/admin/players/{player['id']}/actions/ban"
        await call(named, ALICE, "POST", path, {"reason": "spam"})
        await call(named, BOB, "POST", "/api/admin/game/pause", {"reason": "drill"})
        await call(named, ADMIN, "POST", "/api/admin/game/resume", {"reason": "over"})
    entries = (await call(named, BOB, "GET", "/api/admin/audit"))["entries"]
    assert [(e["admin"], e["action"]) for e in entries] == [
        ("admin", "resume"),
        ("bob", "pause"),
        ("alice", "ban"),
    ]
    logged = [r for r in caplog.records if getattr(r, "event", None) == "admin_action"]
    assert [r.admin for r in logged] == ["alice", "bob", "admin"]  # type: ignore[attr-defined]
    for token in (ALICE_TOKEN, BOB_TOKEN):
        assert token not in str(entries) and token not in caplog.text


async def test_admin_me_names_the_signed_in_admin(named: TestClient) -> None:
    """``GET /api/admin/me`` answers each token with its admin's name; a wrong one is 401."""
    assert await call(named, ALICE, "GET", "/api/admin/me") == {"name": "alice"}
    assert await call(named, BOB, "GET", "/api/admin/me") == {"name": "bob"}
    assert await call(named, ADMIN, "GET", "/api/admin/me") == {"name": "admin"}
    assert (await named.get("/api/admin/me", headers=WRONG)).status == 401


async def test_the_admin_socket_shows_who_acted_by_name(named: TestClient) -> None:
    """Bob's socket (opened with a ws-token of his) hears Alice's ban as done by ``alice``."""
    token = (await call(named, BOB, "POST", "/api/admin/ws-token"))["token"]
    ws = await named.ws_connect(f"/api/admin/ws?token={token}")
    await recv_type(ws, "metrics")
    _, player = await new_player(named, "Mallory")
    path = f"/api/admin/players/{player['id']}/actions/ban"
    await call(named, ALICE, "POST", path, {"reason": "spam"})
    event = (await recv_type(ws, "event"))["data"]
    assert (event["kind"], event["admin"]) == ("ban", "alice")
    await ws.close()


async def test_a_ws_token_for_an_admin_the_server_lacks_is_refused(named: TestClient) -> None:
    """An admin ws token naming someone who is not one of the server's admins is 401."""
    keys = named.server.app[AUTH]
    for admin in ("carol", "system"):
        token = auth_mod.issue(keys, admin, auth_mod.ADMIN_WS)
        assert (await named.get(f"/api/admin/ws?token={token}")).status == 401


async def test_each_admins_device_cookie_is_a_device_of_its_own(named: TestClient) -> None:
    """After the address is locked out by guesses, a device cookie given to Bob's token still
    lets Bob in, and one naming a token the server does not have does not."""
    keys = named.server.app[AUTH]
    for _ in range(FAILURES_PER_MINUTE):
        assert await guess(named, WRONG) == 401
    bobs = auth_mod.issue(keys, token_id(BOB_TOKEN), auth_mod.ADMIN_DEVICE)
    stale = auth_mod.issue(keys, token_id("carol-token-0123456789"), auth_mod.ADMIN_DEVICE)
    assert await guess(named, BOB, bobs) == 200
    assert await guess(named, BOB, stale) == 429


async def test_each_admin_has_a_request_budget_of_their_own(make_client: ClientFactory) -> None:
    """Alice spending her burst does not slow Bob down."""
    client = await make_client(
        admin_tokens=(("alice", ALICE_TOKEN), ("bob", BOB_TOKEN)), admin_burst=2
    )
    statuses = [(await client.get("/api/admin/game", headers=ALICE)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert (await client.get("/api/admin/game", headers=BOB)).status == 200


async def test_named_tokens_alone_need_no_generated_token(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """With ADMIN_TOKENS and no ADMIN_TOKEN, no token is generated and only the named admins
    get in."""
    client = await make_client(admin_token=None, admin_tokens=(("alice", ALICE_TOKEN),))
    assert not (tmp_path / "data" / "admin.token").exists()
    assert await call(client, ALICE, "GET", "/api/admin/me") == {"name": "alice"}
    assert (await client.get("/api/admin/me", headers=ADMIN)).status == 401


async def test_the_api_names_players_in_the_audit_cases_and_detail(named: TestClient) -> None:
    """Through the API: a player renamed by Alice shows the rename in the detail's name
    history under her name, the audit names the target by its name now, a case by its
    player's name, and the detail carries the ban fields."""
    token, player = await new_player(named, "Mallory")
    pid = player["id"]
    response = await named.patch("/api/me", json={"name": "Mal"}, headers=auth(token))
    assert response.status == 200, await response.text()
    await call(named, ALICE, "PATCH", f"/api/admin/players/{pid}", {"name": "M1", "reason": "r"})
    await call(named, BOB, "POST", "/api/admin/interventions", {"player_id": pid, "reason": "x"})
    detail = await call(named, BOB, "GET", f"/api/admin/players/{pid}")
    assert [(n["name"], n["by"]) for n in detail["names"]] == [
        ("Mallory", "player"),
        ("Mal", "player"),
        ("M1", "alice"),
    ]
    assert (detail["banned_until"], detail["ban_reason"]) == (None, None)
    audit = (await call(named, BOB, "GET", f"/api/admin/audit?target={pid}"))["entries"]
    assert {(e["admin"], e["target_name"]) for e in audit} == {("alice", "M1"), ("bob", "M1")}
    cases = (await call(named, BOB, "GET", "/api/admin/interventions"))["interventions"]
    assert [(c["player_id"], c["player_name"]) for c in cases] == [(pid, "M1")]
