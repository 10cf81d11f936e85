"""The player listing through the API (SPEC §8): the same results as in one turn, its heavy part
beside the game's turns, and the admin's read budget."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from actor.admin_listing import MAX_WAITING
from actor.clock import FakeClock
from engine import commands
from engine.admin import query as admin_query
from engine.command_types import CreatePlayer
from engine.state import GameState
from server import auth as auth_mod
from server.keys import ACTOR, AUTH, CLOCK, GAME
from tests.conftest import T0
from tests.server.conftest import ADMIN, ClientFactory, admin_json, auth
from tests.server.wsclient import until

QUERIES: list[dict[str, Any]] = [
    {},
    {"sort": "name", "order": "asc", "limit": 7, "page": 2},
    {"search": "ba", "sort": "created"},
    {"search": "b", "sort": "round_score", "order": "asc", "limit": 3},
    {"score_min": 3, "sort": "last_click"},
    {"status": "banned"},
    {"flagged": "false", "planet": "mars", "sort": "score", "order": "asc"},
    {"active_since": T0, "round_score_max": 10, "limit": 500},
]


async def game_of(client: TestClient, players: int) -> list[str]:
    """``players`` players named from a few syllables, most of them pushing, two banned."""
    actor = client.server.app[ACTOR]
    ids = []
    for i in range(players):
        player_id, name = f"id-{i:03d}", ["bab", "bob", "abba", "cab"][i % 4] + str(i)
        await actor.call({"op": "create_player", "player_id": player_id, "name": name})
        ids.append(player_id)
        if i % 5:
            push = {"op": "push", "player_id": player_id, "batch_id": "b", "clicks": [1 + i % 7]}
            await actor.call(push)
    for player_id in ids[:2]:
        path = f"/api/admin/players/{player_id}/actions/ban"
        await admin_json(client, "POST", path, {"reason": "test"})
    return ids


async def player(client: TestClient, name: str) -> tuple[str, str]:
    """A new player and its token, made without POST /api/session (which overload may refuse
    on a busy machine); returns (token, player id)."""
    player_id = f"{name}-id"
    create = {"op": "create_player", "player_id": player_id, "name": name}
    await client.server.app[ACTOR].call(create)
    return auth_mod.issue(client.server.app[AUTH], player_id, auth_mod.PLAYER), player_id


async def in_one_turn(client: TestClient, raw: dict[str, Any]) -> dict[str, Any]:
    """The listing as the engine gives it in one actor turn, on the live index."""
    query = admin_query.parse_query({k: str(v) for k, v in raw.items()})
    now = client.server.app[CLOCK].now()
    return await client.server.app[ACTOR].between_turns(
        lambda state: admin_query.list_players(state, query, now)
    )


async def listed(client: TestClient, raw: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await admin_json(client, "GET", f"/api/admin/players?{urlencode(raw)}")
    return reply


async def test_the_listing_answers_as_one_turn_would(client: TestClient) -> None:
    """Every filter, search, sort and page answers exactly what the engine answers in one turn,
    also after changes made between two listings."""
    ids = await game_of(client, 24)
    for raw in QUERIES:
        expected = await in_one_turn(client, raw)
        got = await listed(client, raw)
        assert got.pop("query_time_ms") >= 0 and expected.pop("query_time_ms") >= 0
        assert got == expected, raw
    await admin_json(
        client, "PATCH", f"/api/admin/players/{ids[5]}", {"name": "zed", "reason": "r"}
    )
    await admin_json(
        client, "POST", "/api/admin/interventions", {"player_id": ids[6], "reason": "r"}, 201
    )
    for raw in ({"search": "zed"}, {"flagged": "true"}, {"sort": "name", "order": "desc"}):
        got, expected = await listed(client, raw), await in_one_turn(client, raw)
        got.pop("query_time_ms"), expected.pop("query_time_ms")
        assert got == expected, raw


async def test_an_unknown_planet_is_refused_and_the_next_listing_runs(client: TestClient) -> None:
    """A planet the game lacks is a 400 naming the field; the listing after it is answered."""
    await game_of(client, 3)
    refused = await client.get("/api/admin/players?planet=pluto", headers=ADMIN)
    assert refused.status == 400
    assert (await refused.json())["error"]["details"] == {"field": "planet"}
    assert (await listed(client, {"planet": "earth"}))["filters_applied"] == {"planet": "earth"}


async def test_a_listing_sees_every_change_acknowledged_before_it(client: TestClient) -> None:
    """A push, a ban and a new player answered before a listing are in it."""
    await game_of(client, 6)
    await listed(client, {})  # the copy exists; what follows must reach it
    token, player_id = await player(client, "newest")
    body = {"batch_id": "top", "clicks": [70]}
    assert (await client.post("/api/push_clicks", json=body, headers=auth(token))).status == 200
    top = await listed(client, {"sort": "score", "limit": 1})
    assert top["players"][0]["id"] == player_id and top["players"][0]["score"] == 70
    await admin_json(client, "POST", f"/api/admin/players/{player_id}/actions/ban", {"reason": "r"})
    banned = await listed(client, {"status": "banned", "search": "newest"})
    assert [p["id"] for p in banned["players"]] == [player_id]


@pytest.fixture
def held_select(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The listing's selection, made to wait in its thread until the test lets it go on."""
    entered, release = threading.Event(), threading.Event()
    real: Callable[..., Any] = admin_query.select

    def held(*args: Any) -> Any:
        entered.set()
        release.wait(timeout=30)
        return real(*args)

    monkeypatch.setattr(admin_query, "select", held)
    return entered, release


async def test_players_are_served_while_a_listing_selects(
    client: TestClient, held_select: tuple[threading.Event, threading.Event]
) -> None:
    """While a listing's selection is under way, players' pushes and the admin's other requests
    are answered: the selection runs beside the actor's turns, not in one."""
    await game_of(client, 8)
    entered, release = held_select
    listing = asyncio.create_task(listed(client, {"sort": "score"}))
    try:
        await until(entered.is_set)
        token, _ = await player(client, "during")
        pushed = await client.post(
            "/api/push_clicks", json={"batch_id": "d", "clicks": [3]}, headers=auth(token)
        )
        assert pushed.status == 200 and (await pushed.json())["accepted"] == 3
        assert (await admin_json(client, "GET", "/api/admin/game"))["paused"] is False
        assert not listing.done()
    except BaseException:
        listing.cancel()
        raise
    finally:
        release.set()
    assert (await listing)["total_count"] == 8


async def test_listings_that_wait_together_each_get_their_own_answer(
    client: TestClient, held_select: tuple[threading.Event, threading.Event]
) -> None:
    """Listings asked while one is selecting are answered together afterwards, each with its
    own page, and one refused (an unknown planet) refuses only itself."""
    await game_of(client, 30)
    entered, release = held_select
    first = asyncio.create_task(listed(client, {"sort": "created", "limit": 4}))
    await until(entered.is_set)
    raws = [{"search": "ab", "sort": "name"}, {"status": "banned"}, {"page": 3, "limit": 5}]
    waiting = [asyncio.create_task(listed(client, raw)) for raw in raws]
    unknown = asyncio.create_task(client.get("/api/admin/players?planet=pluto", headers=ADMIN))
    await asyncio.sleep(0.05)  # they reach the server and wait behind the first
    release.set()
    assert [p["id"] for p in (await first)["players"]] == ["id-000", "id-001", "id-002", "id-003"]
    for raw, task in zip(raws, waiting, strict=True):
        got, expected = await task, await in_one_turn(client, raw)
        got.pop("query_time_ms"), expected.pop("query_time_ms")
        assert got == expected, raw
    assert (await unknown).status == 400


async def test_a_full_queue_of_listings_answers_429_at_once(
    client: TestClient, held_select: tuple[threading.Event, threading.Event]
) -> None:
    """With MAX_WAITING listings waiting behind one under way, the next gets 429 with
    Retry-After at once; those waiting are answered."""
    await game_of(client, 5)
    entered, release = held_select
    first = asyncio.create_task(listed(client, {}))
    await until(entered.is_set)
    listing = client.server.app[GAME].listing
    waiting = [asyncio.create_task(listed(client, {"page": 2})) for _ in range(MAX_WAITING)]
    await until(lambda: len(listing.waiting) == MAX_WAITING)
    refused = await client.get("/api/admin/players", headers=ADMIN)
    release.set()
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert (await first)["total_count"] == 5
    assert [(await task)["players"] for task in waiting] == [[]] * MAX_WAITING


async def test_a_listing_over_the_read_budget_is_429_until_the_budget_refills(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """Each listing is charged its estimated cost in players scanned; one the budget cannot
    pay gets 429 rate_limited with Retry-After, and passes once the budget has refilled."""
    client = await make_client(admin_scan_rate=20_000.0)  # 40,000 at once
    await game_of(client, 3)
    cost = admin_query.cost(admin_query.parse_query({"limit": "19"}), 3)  # 19,003
    assert (await client.get("/api/admin/players?limit=19", headers=ADMIN)).status == 200
    assert (await client.get("/api/admin/players?limit=19", headers=ADMIN)).status == 200
    refused = await client.get("/api/admin/players?limit=19", headers=ADMIN)
    assert refused.status == 429
    body = await refused.json()
    assert body["error"]["code"] == "rate_limited" and set(body["error"]) == {
        "code",
        "message",
        "details",
    }
    wait = body["error"]["details"]["retry_after"]
    assert wait == pytest.approx((cost - (40_000 - 2 * cost)) / 20_000, abs=0.01)
    assert refused.headers["Retry-After"] == "1"
    assert (await client.get("/api/admin/game", headers=ADMIN)).status == 200  # reads stay
    app_clock.jump(wait + 0.001)  # the reply rounds it to the millisecond
    assert (await client.get("/api/admin/players?limit=19", headers=ADMIN)).status == 200


async def test_a_listing_larger_than_the_budget_passes_when_it_is_full_then_waits(
    make_client: ClientFactory, app_clock: FakeClock
) -> None:
    """A listing that costs more than the whole budget passes on a full budget and leaves the
    next one waiting for the debt to be paid back."""
    client = await make_client(admin_scan_rate=1_000.0)  # 2,000 at once; a listing 50,000+
    assert (await client.get("/api/admin/players", headers=ADMIN)).status == 200
    refused = await client.get("/api/admin/players", headers=ADMIN)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 50
    app_clock.jump(52.0)
    assert (await client.get("/api/admin/players", headers=ADMIN)).status == 200


async def test_the_keys_a_start_up_deferred_are_built_without_a_listing(
    make_client: ClientFactory,
) -> None:
    """After a start-up on a saved game, the players' id and name keys are built between turns
    with no listing asking for them."""
    first = await make_client()

    def populate(state: GameState) -> None:
        for i in range(5000):
            commands.apply(state, CreatePlayer(player_id=f"p{i:05d}", name=f"n{i}", now=T0))

    await first.server.app[ACTOR].between_turns(populate)
    await first.close()  # saves the game on the way out
    client = await make_client()
    actor = client.server.app[ACTOR]

    async def keyed() -> bool:
        return await actor.between_turns(lambda state: state.index.keyed)

    assert await actor.between_turns(lambda state: len(state.players)) == 5000
    deadline = asyncio.get_running_loop().time() + 60  # the warm-up waits 5 s after the start
    while not await keyed():
        assert asyncio.get_running_loop().time() < deadline, "the keys were never built"
        await asyncio.sleep(0.01)
    found = await listed(client, {"search": "p0499"})
    assert [p["id"] for p in found["players"]] == [f"p0499{i}" for i in range(10)]
