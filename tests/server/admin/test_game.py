"""The admin's game endpoints: pause, rounds, interventions, audit, metrics (SPEC §8)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.server.conftest import ADMIN, admin_json, auth, new_player


async def test_pause_refuses_pushes_and_boards_say_so(client: TestClient) -> None:
    """While paused a push gets 409 paused and the snapshot says paused, with the reason."""
    token, _ = await new_player(client)
    paused = await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "incident"})
    assert paused["paused"] is True and paused["reason"] == "incident"
    response = await client.post(
        "/api/push_clicks", json={"batch_id": "b1", "clicks": [1]}, headers=auth(token)
    )
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "paused"
    snapshot = await (await client.get("/api/snapshot")).json()
    assert snapshot["paused"] is True and snapshot["pause_reason"] == "incident"
    assert (await admin_json(client, "GET", "/api/admin/game"))["paused"] is True
    again = await client.post("/api/admin/game/pause", json={"reason": "x"}, headers=ADMIN)
    assert again.status == 409
    await admin_json(client, "POST", "/api/admin/game/resume", {"reason": "fixed"})
    response = await client.post(
        "/api/push_clicks", json={"batch_id": "b1", "clicks": [1]}, headers=auth(token)
    )
    assert response.status == 200


async def test_pause_needs_a_reason(client: TestClient) -> None:
    """No reason, no pause."""
    response = await client.post("/api/admin/game/pause", json={}, headers=ADMIN)
    assert response.status == 400
    assert (await response.json())["error"]["details"]["field"] == "reason"


async def test_queue_and_end_rounds(client: TestClient) -> None:
    """A queued round is answered with its settings; ending the active one reports its summary."""
    queued = await admin_json(
        client, "POST", "/api/admin/rounds", {"reason": "event", "target": 500}, status=201
    )
    assert queued["target"] == 500
    ended = await admin_json(client, "POST", "/api/admin/rounds/current/end", {"reason": "over"})
    assert ended["id"] == 1
    bad = await client.post(
        "/api/admin/rounds", json={"reason": "x", "planets": ["earth", "pluto"]}, headers=ADMIN
    )
    assert bad.status == 400


async def test_interventions_flag_assign_and_resolve_with_a_ban(client: TestClient) -> None:
    """A manual flag opens a case; assigning and resolving it as ban bans the player."""
    _, player = await new_player(client, "sus")
    case = await admin_json(
        client,
        "POST",
        "/api/admin/interventions",
        {"player_id": player["id"], "reason": "reported"},
        status=201,
    )
    assert case["status"] == "open" and case["kind"] == "manual"
    path = f"/api/admin/interventions/{case['id']}"
    assigned = await admin_json(client, "PATCH", path, {"assignee": "ops", "reason": "mine"})
    assert assigned["status"] == "assigned"
    listing = await admin_json(client, "GET", "/api/admin/interventions?status=assigned")
    assert [c["id"] for c in listing["interventions"]] == [case["id"]]
    resolved = await admin_json(client, "PATCH", path, {"resolve": "ban", "reason": "confirmed"})
    assert resolved["status"] == "resolved" and resolved["resolution"] == "ban"
    detail = await admin_json(client, "GET", f"/api/admin/players/{player['id']}")
    assert detail["player"]["status"] == "banned"


async def test_a_second_flag_answers_200_with_the_open_case(client: TestClient) -> None:
    """Flagging a player whose case is open answers 200 with that case, not a second one."""
    _, player = await new_player(client, "twice")
    body = {"player_id": player["id"], "reason": "first report"}
    case = await admin_json(client, "POST", "/api/admin/interventions", body, status=201)
    body["reason"] = "second report"
    again = await admin_json(client, "POST", "/api/admin/interventions", body, status=200)
    assert again["id"] == case["id"] and again["existing"] is True
    assert [n["text"] for n in again["notes"]] == ["Flagged again: second report"]
    queue = await admin_json(client, "GET", f"/api/admin/interventions?player_id={player['id']}")
    assert queue["total_count"] == 1


async def test_intervention_refusals(client: TestClient) -> None:
    """An unknown case is 404, an unknown template 400, a flag of no player 404."""
    missing = await client.patch(
        "/api/admin/interventions/999", json={"note": "x", "reason": "y"}, headers=ADMIN
    )
    assert missing.status == 404
    not_a_number = await client.patch(
        "/api/admin/interventions/abc", json={"note": "x", "reason": "y"}, headers=ADMIN
    )
    assert not_a_number.status == 404
    _, player = await new_player(client)
    case = await admin_json(
        client, "POST", "/api/admin/interventions", {"player_id": player["id"], "reason": "r"}, 201
    )
    bad = await client.patch(
        f"/api/admin/interventions/{case['id']}",
        json={"resolve": "shrug", "reason": "y"},
        headers=ADMIN,
    )
    assert bad.status == 400
    ghost = await client.post(
        "/api/admin/interventions", json={"player_id": "ghost", "reason": "r"}, headers=ADMIN
    )
    assert ghost.status == 404


async def test_audit_is_filtered_and_paged(client: TestClient) -> None:
    """The audit log filters by action and pages, newest first."""
    await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "one"})
    await admin_json(client, "POST", "/api/admin/game/resume", {"reason": "two"})
    await admin_json(client, "POST", "/api/admin/game/pause", {"reason": "three"})
    pauses = await admin_json(client, "GET", "/api/admin/audit?action=pause&limit=1")
    assert pauses["total_count"] == 2 and pauses["page_size"] == 1
    assert [e["reason"] for e in pauses["entries"]] == ["three"]
    bad = await client.get("/api/admin/audit?since=yesterday", headers=ADMIN)
    assert bad.status == 400


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("field", ["since", "until"])
async def test_the_audit_refuses_times_that_are_not_finite(
    client: TestClient, field: str, value: str
) -> None:
    """since=NaN (or an infinity) is refused with 400 invalid_request naming the field."""
    response = await client.get(f"/api/admin/audit?{field}={value}", headers=ADMIN)
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["code"], error["details"]) == ("invalid_request", {"field": field})


async def test_metrics_carry_the_live_figures(client: TestClient) -> None:
    """The figures name players, online, rates, connections, round, actor and persistence."""
    token, _ = await new_player(client)
    body = {"batch_id": "b", "clicks": [2]}
    assert (await client.post("/api/push_clicks", json=body, headers=auth(token))).status == 200
    figures = await admin_json(client, "GET", "/api/admin/metrics")
    expected = {
        "players",
        "online",
        "connections",
        "clicks_per_second",
        "pushes_per_second",
        "throttled_per_second",
        "round_id",
        "paused",
        "actor_queue_depth",
        "actor_turn_ms",
        "actor_turn_ms_max",
        "snapshot_age_seconds",
        "snapshot_bytes",
        "journal",
        "admin_sockets",
    }
    assert expected <= set(figures)
    assert figures["players"] == 1 and figures["round_id"] == 1
    assert figures["pushes_per_second"] > 0 and figures["clicks_per_second"] > 0
    assert figures["journal"] == "ok"
