"""POST /api/push_clicks: accepted, throttled, duplicate and every refusal (SPEC §4, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.keys import ACTOR
from tests.server.conftest import ClientFactory, auth, new_player

RESULT_KEYS = {
    "batch_id",
    "accepted",
    "throttled",
    "duplicate",
    "score",
    "round_score",
    "rank",
    "round_rank",
    "planet_total",
    "next_push_after",
}


async def push(
    client: TestClient, token: str, batch_id: Any, clicks: Any, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"batch_id": batch_id, "clicks": clicks, **extra}
    response = await client.post("/api/push_clicks", json=body, headers=auth(token))
    return response.status, await response.json()


async def score(client: TestClient, token: str) -> int:
    response = await client.get("/api/me", headers=auth(token))
    return (await response.json())["score"]


async def test_push_adds_clicks_and_reports_standing(client: TestClient) -> None:
    """An accepted push answers with the SPEC's fields and moves score and planet total."""
    token, player = await new_player(client)
    status, body = await push(client, token, "batch-1", [3, 4])
    assert status == 200
    assert set(body) == RESULT_KEYS
    assert body == {
        "batch_id": "batch-1",
        "accepted": 7,
        "throttled": 0,
        "duplicate": False,
        "score": 7,
        "round_score": 7,
        "rank": 1,
        "round_rank": 1,
        "planet_total": 7,
        "next_push_after": 1.0,
    }
    snapshot = await (await client.get("/api/snapshot")).json()
    totals = {p["name"]: p["total"] for p in snapshot["planets"]}
    assert totals[player["planet"]] == 7


async def test_clicks_beyond_the_bucket_are_throttled(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Clicks beyond the bucket (burst plus refill) are clipped and reported as throttled."""
    token, _ = await new_player(client)
    status, body = await push(client, token, "b1", [200])
    assert (status, body["accepted"], body["throttled"]) == (200, 200, 0)
    app_clock.jump(1)
    status, body = await push(client, token, "b2", [200])
    assert (status, body["accepted"], body["throttled"]) == (200, 20, 180)
    assert body["score"] == 220


async def test_duplicate_batch_returns_the_first_result(
    client: TestClient, app_clock: FakeClock
) -> None:
    """A retried batch id answers the first result marked duplicate and counts nothing twice."""
    token, _ = await new_player(client)
    _, first = await push(client, token, "same", [5])
    status, again = await push(client, token, "same", [5])
    assert status == 200
    assert again == {**first, "duplicate": True}
    app_clock.jump(1)
    _, later = await push(client, token, "other", [1])
    assert later["score"] == 6


async def test_a_fourth_push_back_to_back_is_rate_limited(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Three pushes pass; a fourth 0.25 s later gets 429 with Retry-After and counts nothing."""
    token, _ = await new_player(client)
    for batch_id in ("b1", "b2", "b3"):
        assert (await push(client, token, batch_id, [1]))[0] == 200
    app_clock.jump(0.25)
    response = await client.post(
        "/api/push_clicks", json={"batch_id": "b4", "clicks": [1]}, headers=auth(token)
    )
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    error = (await response.json())["error"]
    assert error["code"] == "rate_limited"
    assert error["details"] == {"retry_after": 0.25}
    app_clock.jump(0.25)
    status, body = await push(client, token, "b4", [1])
    assert (status, body["score"]) == (200, 4)


async def test_banned_player_cannot_push(client: TestClient) -> None:
    """A banned player's push is refused with 403 banned."""
    token, player = await new_player(client)
    await client.app[ACTOR].call({"op": "ban", "player_id": player["id"]})
    status, body = await push(client, token, "b1", [1])
    assert (status, body["error"]["code"]) == (403, "banned")
    assert await score(client, token) == 0


async def test_push_between_rounds_is_refused(client: TestClient) -> None:
    """A push during the break between rounds gets 409 round_not_active."""
    token, _ = await new_player(client)
    await client.app[ACTOR].call({"op": "end_round"})
    status, body = await push(client, token, "b1", [1])
    assert (status, body["error"]["code"]) == (409, "round_not_active")
    assert body["error"]["details"]["next_round_at"] == 1_700_000_010.0


async def test_push_after_the_break_counts_in_the_new_round(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Once the break is over the next round takes clicks, with a fresh round score."""
    token, _ = await new_player(client)
    await push(client, token, "b1", [4])
    await client.app[ACTOR].call({"op": "end_round"})
    app_clock.jump(10)
    status, body = await push(client, token, "b2", [2])
    assert status == 200
    assert (body["score"], body["round_score"], body["planet_total"]) == (6, 2, 2)


@pytest.mark.parametrize(
    ("batch_id", "clicks"),
    [
        ("b1", [0]),
        ("b1", [-1]),
        ("b1", [201]),
        ("b1", ["1"]),
        ("b1", [1.5]),
        ("b1", [1e300]),
        ("b1", [True]),
        ("b1", [None]),
        ("b1", []),
        ("b1", [1] * 33),
        ("b1", 5),
        ("b1", None),
        ("", [1]),
        ("has space", [1]),
        ("x" * 65, [1]),
        (12, [1]),
        (None, [1]),
    ],
)
async def test_invalid_push_is_refused_whole(
    client: TestClient, batch_id: Any, clicks: Any
) -> None:
    """A push breaking any shape rule is refused with invalid_request and nothing is applied."""
    token, _ = await new_player(client)
    status, body = await push(client, token, batch_id, clicks)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    # Nothing was applied: not the clicks, not the push time, not the batch id.
    status, body = await push(client, token, "b1", [1])
    assert (status, body["duplicate"], body["score"]) == (200, False, 1)


async def test_whole_numbers_with_a_fraction_count_as_integers(client: TestClient) -> None:
    """A count written 3.0 or 2e0 is the integer it equals, as JSON Schema reads it."""
    token, _ = await new_player(client)
    status, body = await push(client, token, "b1", [3.0, 2e0])
    assert (status, body["accepted"]) == (200, 5)


async def test_push_with_unknown_or_missing_fields_is_refused(client: TestClient) -> None:
    """A push with an extra field or without its fields is refused with invalid_request."""
    token, _ = await new_player(client)
    status, body = await push(client, token, "b1", [1], bonus=100)
    assert (status, body["error"]["details"]) == (400, {"fields": ["bonus"]})
    for payload in [{"clicks": [1]}, {"batch_id": "b1"}, {}]:
        response = await client.post("/api/push_clicks", json=payload, headers=auth(token))
        assert response.status == 400
    assert await score(client, token) == 0


async def test_largest_valid_push_is_accepted(make_client: ClientFactory) -> None:
    """32 counts of the largest size and a 64-character batch id are within the rules."""
    client = await make_client(max_cps=1000, burst_seconds=60)
    token, _ = await new_player(client)
    status, body = await push(client, token, "A-z_9" * 12 + "abcd", [10_000] * 32)
    assert status == 200
    assert body["accepted"] + body["throttled"] == 320_000
