"""GET /metrics: every SPEC §10 metric, push results, and request durations by route template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.app import init_app
from server.keys import ACTOR
from tests.server.conftest import auth, make_settings, new_player

SPEC_METRICS = [
    "ws_connections_active",
    "ws_connect_total",
    "ws_disconnect_total",
    "ws_broadcast_total",
    "ws_broadcast_fail_total",
    "ws_heartbeat_fail_total",
    "clicks_accepted_total",
    "clicks_throttled_total",
    "pushes_total",
    "http_request_duration_seconds",
    "actor_queue_depth",
    "actor_turn_seconds",
    "snapshot_write_seconds",
    "snapshot_bytes",
    "players_total",
]


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return await response.text()


def value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert match is not None, series
    return float(match.group(1))


async def test_every_spec_metric_is_exposed(client: TestClient) -> None:
    """The exposition names every metric SPEC §10 asks for."""
    text = await scrape(client)
    for name in SPEC_METRICS:
        assert f"# TYPE {name} " in text, name


async def test_push_results_and_clicks_are_counted(
    client: TestClient, app_clock: FakeClock
) -> None:
    """Each push counts under its result, and accepted and throttled clicks add up."""
    token, player = await new_player(client)

    async def push(batch_id: str, clicks: list[Any]) -> int:
        body = {"batch_id": batch_id, "clicks": clicks}
        return (await client.post("/api/push_clicks", json=body, headers=auth(token))).status

    assert await push("a", [150]) == 200  # ok
    assert await push("a", [150]) == 200  # duplicate
    assert await push("a2", [10]) == 200  # ok
    assert await push("d", [100]) == 200  # throttled: 40 of 100 accepted
    assert await push("b", [1]) == 429  # rate_limited: the bucket's 3 pushes are spent
    assert await push("c", [0]) == 400  # invalid
    app_clock.jump(1)
    await client.app[ACTOR].call({"op": "end_round"})
    app_clock.jump(1)
    assert await push("e", [1]) == 409  # round_not_active
    await client.app[ACTOR].call({"op": "ban", "player_id": player["id"]})
    assert await push("f", [1]) == 403  # banned
    text = await scrape(client)
    for result, count in [("ok", 2), ("duplicate", 1), ("rate_limited", 1), ("invalid", 1)]:
        assert value(text, f'pushes_total{{result="{result}"}}') == count, result
    assert value(text, 'pushes_total{result="throttled"}') == 1.0
    assert value(text, 'pushes_total{result="round_not_active"}') == 1.0
    assert value(text, 'pushes_total{result="banned"}') == 1.0
    assert value(text, "clicks_accepted_total") == 200.0
    assert value(text, "clicks_throttled_total") == 60.0
    assert value(text, "players_total") == 1.0


async def test_durations_are_labelled_by_route_template(
    aiohttp_client: Any, tmp_path: Path, app_clock: FakeClock
) -> None:
    """Requests to one parametrised route share one series; unknown paths share another."""
    app = init_app(make_settings(tmp_path / "data"), clock=app_clock)

    async def item(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"]})

    app.router.add_get("/items/{id}", item)
    client = await aiohttp_client(app)
    for i in range(3):
        assert (await client.get(f"/items/{i}")).status == 200
    await client.get("/no/such/path/1")
    await client.get("/no/such/path/2")
    text = await scrape(client)
    assert "/items/1" not in text
    count = 'http_request_duration_seconds_count{method="GET",route="/items/{id}",status="200"}'
    assert value(text, count) == 3.0
    unmatched = 'http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}'
    assert value(text, unmatched) == 2.0
