"""The public reads: /api/snapshot with its ETag, /api/leaderboard and /api/rounds (SPEC §5)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.http_api import HTTP
from server.keys import ACTOR
from tests.server.conftest import auth, new_player


async def test_snapshot_carries_state_and_client_settings(client: TestClient) -> None:
    """The snapshot holds round, planets, leaderboard, online and the client's settings,
    the push and name limits included, so the page never restates them."""
    await client.app[ACTOR].call({"op": "tick"})  # the first tick starts round 1
    response = await client.get("/api/snapshot")
    assert response.status == 200
    body = await response.json()
    assert {"round", "planets", "leaderboard", "online", "settings", "version"} <= set(body)
    assert body["round"]["status"] == "active"
    assert [p["name"] for p in body["planets"]] == ["earth", "mars"]
    assert body["settings"] == {
        "click_push_rate": 1.0,
        "max_cps": 20,
        "burst_seconds": 10.0,
        "broadcast_interval": 0.05,
        "max_count": 200,
        "max_counts_per_push": 32,
        "batch_id_pattern": "^[A-Za-z0-9_-]{1,64}$",
        "name_max_length": 24,
    }


async def test_snapshot_etag_gives_304_until_the_state_changes(client: TestClient) -> None:
    """If-None-Match with the current ETag gets 304; a change makes a new ETag and a 200."""
    # Start round 1 now: otherwise the actor's own ticker may start it between two requests.
    await client.app[ACTOR].call({"op": "tick"})
    first = await client.get("/api/snapshot")
    tag = first.headers["ETag"]
    unchanged = await client.get("/api/snapshot", headers={"If-None-Match": tag})
    assert unchanged.status == 304
    assert unchanged.headers["ETag"] == tag
    assert await unchanged.read() == b""
    await new_player(client)
    changed = await client.get("/api/snapshot", headers={"If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag
    assert (await changed.json())["players_total"] == 1


@pytest.mark.parametrize("header", ["W/{tag}", '"nope", {tag}', "*"])
async def test_snapshot_if_none_match_forms(client: TestClient, header: str) -> None:
    """A weak tag, a list holding the tag, or * all count as a match (RFC 9110 §13.1.2)."""
    tag = (await client.get("/api/snapshot")).headers["ETag"]
    response = await client.get("/api/snapshot", headers={"If-None-Match": header.format(tag=tag)})
    assert response.status == 304


async def test_leaderboard_lists_the_top_by_scope(client: TestClient, app_clock: FakeClock) -> None:
    """Both boards hold only players who clicked: a player with no clicks has no rank."""
    tokens = [(await new_player(client, f"p{i}"))[0] for i in range(3)]
    for i, token in enumerate(tokens[:2]):
        clicks = {"batch_id": "b", "clicks": [i + 1]}
        assert (await client.post("/api/push_clicks", json=clicks, headers=auth(token))).ok
    round_board = await (await client.get("/api/leaderboard")).json()
    assert round_board["scope"] == "round"
    assert [(e["rank"], e["name"], e["score"]) for e in round_board["entries"]] == [
        (1, "p1", 2),
        (2, "p0", 1),
    ]
    all_board = await (await client.get("/api/leaderboard?scope=all&limit=1")).json()
    assert (all_board["total"], len(all_board["entries"])) == (2, 1)


async def test_leaderboard_around_me(client: TestClient) -> None:
    """around=me returns the entries either side of the caller's own."""
    tokens = [(await new_player(client, f"p{i}"))[0] for i in range(5)]
    for i, token in enumerate(tokens):
        clicks = {"batch_id": "b", "clicks": [10 - i]}
        assert (await client.post("/api/push_clicks", json=clicks, headers=auth(token))).ok
    response = await client.get(
        "/api/leaderboard?scope=all&around=me&limit=1", headers=auth(tokens[2])
    )
    assert response.status == 200
    entries = (await response.json())["entries"]
    assert [e["name"] for e in entries] == ["p1", "p2", "p3"]


async def test_leaderboard_around_me_needs_a_token(client: TestClient) -> None:
    """around=me without a bearer token is refused with 401."""
    response = await client.get("/api/leaderboard?around=me")
    assert response.status == 401


@pytest.mark.parametrize(
    "query", ["scope=week", "limit=0", "limit=101", "limit=ten", "limit=+5", "around=you"]
)
async def test_leaderboard_refuses_bad_parameters(client: TestClient, query: str) -> None:
    """A scope, limit or around outside the allowed values is refused with invalid_request."""
    response = await client.get(f"/api/leaderboard?{query}")
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_request"


async def test_rounds_lists_finished_rounds_newest_first(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Finished rounds come newest first, each with its summary."""
    assert (await (await client.get("/api/rounds")).json()) == {"rounds": []}
    token, _ = await new_player(client)
    await client.post(
        "/api/push_clicks", json={"batch_id": "b", "clicks": [9]}, headers=auth(token)
    )
    await client.app[ACTOR].call({"op": "end_round"})
    app_clock.jump(10)
    await client.app[ACTOR].call({"op": "end_round"})
    rounds = (await (await client.get("/api/rounds")).json())["rounds"]
    assert [r["id"] for r in rounds] == [2, 1]
    assert rounds[1]["reason"] == "admin"
    assert rounds[1]["top"][0]["score"] == 9
    assert sum(rounds[1]["totals"].values()) == 9
    limited = (await (await client.get("/api/rounds?limit=1")).json())["rounds"]
    assert [r["id"] for r in limited] == [2]
    assert (await client.get("/api/rounds?limit=0")).status == 400


async def test_the_leaderboard_top_is_read_once_per_state_and_carries_an_etag(
    client: TestClient,
) -> None:
    """Readers of one state share one read from the actor and the same bytes; If-None-Match
    with its ETag gets 304; a click makes a new state, a new ETag and the new scores."""
    token, _ = await new_player(client, "Top")
    replies = await asyncio.gather(
        *(client.get(f"/api/leaderboard?scope=all&limit={n}") for n in (1, 5, 100) * 7)
    )
    held = client.app[HTTP].public.held["leaderboard:all"]
    assert {r.headers["ETag"] for r in replies} == {replies[0].headers["ETag"]}
    # a player with no clicks yet holds no all-time rank
    assert {len((await r.json())["entries"]) for r in replies} == {0}
    tag = replies[0].headers["ETag"]
    again = await client.get("/api/leaderboard?scope=all", headers={"If-None-Match": tag})
    assert again.status == 304 and await again.read() == b""
    assert client.app[HTTP].public.held["leaderboard:all"] is held  # no second read
    clicks = {"batch_id": "b", "clicks": [4]}
    assert (await client.post("/api/push_clicks", json=clicks, headers=auth(token))).ok
    changed = await client.get("/api/leaderboard?scope=all", headers={"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["ETag"] != tag
    assert [e["score"] for e in (await changed.json())["entries"]] == [4]


async def test_the_rounds_etag_changes_only_when_a_round_ends(client: TestClient) -> None:
    """Clicks do not change the finished rounds (304 with the old ETag); ending a round does."""
    await client.app[ACTOR].call({"op": "tick"})  # round 1 starts
    tag = (await client.get("/api/rounds")).headers["ETag"]
    token, _ = await new_player(client)
    clicks = {"batch_id": "b", "clicks": [2]}
    assert (await client.post("/api/push_clicks", json=clicks, headers=auth(token))).ok
    assert (await client.get("/api/rounds", headers={"If-None-Match": tag})).status == 304
    await client.app[ACTOR].call({"op": "end_round"})
    ended = await client.get("/api/rounds", headers={"If-None-Match": tag})
    assert ended.status == 200 and ended.headers["ETag"] != tag
    assert [r["id"] for r in (await ended.json())["rounds"]] == [1]
