"""The admin's player endpoints: listing, detail, patch, actions, history, batch (SPEC §8)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from tests.server.conftest import ADMIN, admin_json, auth, new_player


async def push(client: TestClient, token: str, batch_id: str, clicks: list[int]) -> Any:
    body = {"batch_id": batch_id, "clicks": clicks}
    response = await client.post("/api/push_clicks", json=body, headers=auth(token))
    return response.status, await response.json()


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


async def test_listing_searches_sorts_and_times_itself(client: TestClient) -> None:
    """The listing finds players by name and reports filters, paging and query_time_ms."""
    for name in ("alice", "bob", "alicia"):
        await new_player(client, name)
    data = await admin_json(client, "GET", "/api/admin/players?search=ali&sort=name&order=asc")
    assert [p["name"] for p in data["players"]] == ["alice", "alicia"]
    assert data["total_count"] == 2
    assert data["filters_applied"] == {"search": "ali"}
    assert data["page"] == 1 and data["page_size"] == 50
    assert isinstance(data["query_time_ms"], float | int)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=colour", "sort"),
        ("score_min=-5", "score_min"),
        ("status=gone", "status"),
        ("active_since=NaN", "active_since"),
        ("active_since=inf", "active_since"),
        ("created_since=-inf", "created_since"),
        ("score_max=%C2%B2", "score_max"),  # a superscript 2, which int() cannot read
        ("round_score_min=--1", "round_score_min"),
    ],
)
async def test_bad_filters_are_400_naming_the_field(
    client: TestClient, query: str, field: str
) -> None:
    """A bad filter value is refused with invalid_request naming it."""
    response = await client.get(f"/api/admin/players?{query}", headers=ADMIN)
    assert response.status == 400
    error = error_of(await response.json())
    assert error["code"] == "invalid_request" and error["details"]["field"] == field


async def test_an_unknown_filter_is_refused(client: TestClient) -> None:
    """A parameter the listing does not know is named in the refusal, not ignored."""
    response = await client.get("/api/admin/players?colour=red", headers=ADMIN)
    assert response.status == 400
    assert error_of(await response.json())["details"]["fields"] == ["colour"]


async def test_detail_of_a_player_and_of_no_player(client: TestClient) -> None:
    """A player's detail carries scores, history and audit; an unknown id is 404."""
    _, player = await new_player(client, "carol")
    detail = await admin_json(client, "GET", f"/api/admin/players/{player['id']}")
    assert detail["player"]["name"] == "carol"
    assert {"round_batches", "rounds", "actions", "audit", "interventions"} <= set(detail)
    response = await client.get("/api/admin/players/nobody", headers=ADMIN)
    assert response.status == 404
    assert error_of(await response.json())["code"] == "not_found"


async def test_patch_changes_the_player_and_is_audited(client: TestClient) -> None:
    """A patch with a reason renames and moves the player; its history shows the change."""
    token, player = await new_player(client, "dave")
    pid = player["id"]
    planet = "mars" if player["planet"] != "mars" else "earth"
    body = {"name": "David", "planet": planet, "reason": "asked by support"}
    result = await admin_json(client, "PATCH", f"/api/admin/players/{pid}", body)
    assert result["player"]["name"] == "David" and result["player"]["planet"] == planet
    me = await (await client.get("/api/me", headers=auth(token))).json()
    assert me["name"] == "David"
    history = await admin_json(client, "GET", f"/api/admin/players/{pid}/actions")
    assert history["entries"][0]["action"] == "patch"
    assert history["entries"][0]["reason"] == "asked by support"
    assert history["entries"][0]["before"]["name"] == "dave"


async def test_an_admin_rename_counts_the_trimmed_length(client: TestClient) -> None:
    """An admin's patch takes 24 letters with spaces around them, trimmed (SPEC §3)."""
    _, player = await new_player(client, "dave")
    body = {"name": "  " + "d" * 24 + " ", "reason": "asked by support"}
    result = await admin_json(client, "PATCH", f"/api/admin/players/{player['id']}", body)
    assert result["player"]["name"] == "d" * 24


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Eve"}, "reason"),
        ({"name": "Eve", "reason": ""}, "reason"),
        ({"score": -1, "reason": "x"}, "score"),
        ({"status": "deleted", "reason": "x"}, "status"),
    ],
)
async def test_patch_refusals_name_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    """A missing reason or a bad value is 400 naming the field, and nothing changes."""
    _, player = await new_player(client, "eve")
    response = await client.patch(f"/api/admin/players/{player['id']}", json=body, headers=ADMIN)
    assert response.status == 400
    assert error_of(await response.json())["details"]["field"] == field
    detail = await admin_json(client, "GET", f"/api/admin/players/{player['id']}")
    assert detail["player"]["name"] == "eve" and detail["audit"] == []


async def test_patch_of_an_unknown_player_is_404(client: TestClient) -> None:
    """No such player: 404 in the error shape."""
    response = await client.patch(
        "/api/admin/players/ghost", json={"name": "x", "reason": "y"}, headers=ADMIN
    )
    assert response.status == 404
    assert error_of(await response.json())["code"] == "not_found"


async def test_ban_refuses_pushes_and_unban_restores_them(
    client: TestClient, app_clock: FakeClock
) -> None:
    """A banned player's pushes get 403 banned at once; after an unban they count again."""
    token, player = await new_player(client, "frank")
    path = f"/api/admin/players/{player['id']}/actions"
    await admin_json(client, "POST", f"{path}/ban", {"reason": "bot"})
    status, body = await push(client, token, "b1", [3])
    assert status == 403 and body["error"]["code"] == "banned"
    await admin_json(client, "POST", f"{path}/unban", {"reason": "appeal"})
    app_clock.jump(1.0)
    status, body = await push(client, token, "b2", [3])
    assert status == 200 and body["accepted"] == 3
    history = await admin_json(client, "GET", path)
    assert [e["action"] for e in history["entries"]] == ["unban", "ban"]


async def test_reset_score_and_kick(client: TestClient) -> None:
    """reset_score zeroes the scores; kick changes nothing in the game but is audited."""
    token, player = await new_player(client, "gina")
    await push(client, token, "b1", [4])
    path = f"/api/admin/players/{player['id']}/actions"
    result = await admin_json(client, "POST", f"{path}/reset_score", {"reason": "glitch"})
    assert result["player"]["score"] == 0
    kicked = await admin_json(client, "POST", f"{path}/kick", {"reason": "reconnect"})
    assert kicked["kicked"] is True and kicked["player"]["status"] == "active"


async def test_unknown_action_is_404_in_the_error_shape(client: TestClient) -> None:
    """An action the API does not have is a 404 naming the actions it has."""
    _, player = await new_player(client)
    response = await client.post(
        f"/api/admin/players/{player['id']}/actions/delete", json={"reason": "x"}, headers=ADMIN
    )
    assert response.status == 404
    error = error_of(await response.json())
    assert error["code"] == "not_found" and "ban" in error["details"]["actions"]


async def test_action_without_reason_is_400_and_changes_nothing(client: TestClient) -> None:
    """Every admin change needs a reason."""
    _, player = await new_player(client)
    path = f"/api/admin/players/{player['id']}/actions/ban"
    response = await client.post(path, json={}, headers=ADMIN)
    assert response.status == 400
    assert error_of(await response.json())["details"]["field"] == "reason"
    detail = await admin_json(client, "GET", f"/api/admin/players/{player['id']}")
    assert detail["player"]["status"] == "active"


async def test_revoke_only_goes_with_ban(client: TestClient) -> None:
    """revoke_round_clicks on an unban is an unknown field for that action."""
    _, player = await new_player(client)
    response = await client.post(
        f"/api/admin/players/{player['id']}/actions/unban",
        json={"reason": "x", "revoke_round_clicks": True},
        headers=ADMIN,
    )
    assert response.status == 400


async def test_ban_with_revoke_restores_planet_totals_exactly(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Revoking takes exactly the banned player's round clicks out of their planet's total."""
    players = [await new_player(client, f"p{i}") for i in range(6)]
    clicks: dict[str, int] = {}
    for round_no in range(3):
        for i, (token, player) in enumerate(players):
            count = 1 + (i * 7 + round_no * 3) % 9
            status, _ = await push(client, token, f"b{round_no}", [count])
            assert status == 200
            clicks[player["id"]] = clicks.get(player["id"], 0) + count
        app_clock.jump(1.0)
    cheat = players[2][1]
    await admin_json(
        client,
        "POST",
        f"/api/admin/players/{cheat['id']}/actions/ban",
        {"reason": "cheat", "revoke_round_clicks": True},
    )
    snapshot = await (await client.get("/api/snapshot")).json()
    totals = {p["name"]: p["total"] for p in snapshot["planets"]}
    expected: dict[str, int] = {}
    for _, player in players:  # brute force: every other player's clicks on their planet
        if player["id"] != cheat["id"]:
            expected[player["planet"]] = expected.get(player["planet"], 0) + clicks[player["id"]]
    for planet, total in totals.items():
        assert total == expected.get(planet, 0), planet


async def test_batch_applies_all_with_a_result_each(client: TestClient) -> None:
    """A good batch applies every operation and reports each."""
    _, a = await new_player(client, "anna")
    _, b = await new_player(client, "ben")
    operations = [
        {"action": "patch", "player_id": a["id"], "name": "Anna", "reason": "typo"},
        {"action": "ban", "player_id": b["id"], "reason": "bot"},
    ]
    result = await admin_json(client, "POST", "/api/admin/batch", {"operations": operations})
    assert result["applied"] == 2 and [r["ok"] for r in result["results"]] == [True, True]


async def test_batch_with_one_bad_operation_applies_nothing(client: TestClient) -> None:
    """All or nothing: one unknown player refuses the batch and the others stay as they were."""
    _, a = await new_player(client, "anna")
    operations = [
        {"action": "ban", "player_id": a["id"], "reason": "bot"},
        {"action": "reset_score", "player_id": "ghost", "reason": "x"},
    ]
    response = await client.post("/api/admin/batch", json={"operations": operations}, headers=ADMIN)
    assert response.status == 400
    results = error_of(await response.json())["details"]["results"]
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]["code"] == "not_found"
    detail = await admin_json(client, "GET", f"/api/admin/players/{a['id']}")
    assert detail["player"]["status"] == "active" and detail["audit"] == []


async def test_batch_shape_is_checked_before_the_engine(client: TestClient) -> None:
    """An operation with an unknown action or field never reaches the actor."""
    bad = {"operations": [{"action": "delete", "player_id": "x", "reason": "y"}]}
    response = await client.post("/api/admin/batch", json=bad, headers=ADMIN)
    assert response.status == 400
    assert error_of(await response.json())["details"]["field"] == "operations"
    empty = await client.post("/api/admin/batch", json={"operations": []}, headers=ADMIN)
    assert empty.status == 400
