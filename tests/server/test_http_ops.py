"""Operations: liveness, readiness and the round events in the JSON log (SPEC §5, §10)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from actor.actor import Actor
from actor.clock import FakeClock
from bus.local import LocalGame
from engine.errors import Unavailable
from engine.rules import Rules
from engine.state import new_state
from persistence import journal as journal_mod
from server import http_api
from server.app import init_app
from server.keys import METRICS, STORE
from server.logs import JsonFormatter
from server.middleware import errors
from tests.server.conftest import auth, make_settings, new_player


async def test_healthz_answers(client: TestClient) -> None:
    """/healthz answers 200 while the process is up."""
    response = await client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_readyz_answers_once_the_game_runs(client: TestClient) -> None:
    """/readyz answers 200 once the state is loaded and the actor runs."""
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (200, {"status": "ready"})
    assert client.app[METRICS].registry.get_sample_value("journal_writable") == 1


async def test_readyz_is_503_before_the_state_is_loaded(tmp_path: Path) -> None:
    """An app whose game has not started yet answers /readyz with 503 unavailable."""
    app = init_app(make_settings(tmp_path / "data"), clock=FakeClock())
    request = make_mocked_request("GET", "/readyz", app=app)
    with pytest.raises(Unavailable):
        await http_api.readyz(request)
    response = await errors(request, http_api.readyz)
    assert response.status == 503
    assert json.loads(response.body)["error"]["code"] == "unavailable"


async def test_readyz_is_503_when_the_actor_is_not_running(tmp_path: Path) -> None:
    """An actor that has not started (or has stopped) makes the app not ready."""
    app = init_app(make_settings(tmp_path / "data"), clock=FakeClock())
    app[http_api.GAME] = LocalGame(Actor(new_state(Rules(), ["earth", "mars"]), FakeClock()))
    request = make_mocked_request("GET", "/readyz", app=app)
    response = await errors(request, http_api.readyz)
    assert response.status == 503


async def test_readyz_is_503_while_changes_cannot_be_saved(client: TestClient) -> None:
    """When the journal's file stops taking writes (here its descriptor turns read-only, as a
    file system remounted read-only would), pushes are refused, /readyz says why, and the
    journal_writable gauge drops to 0."""
    store = client.app[STORE]
    token, _ = await new_player(client)
    segment = journal_mod.segment_name(store.journal.segment)
    read_only = store.data_dir.open_fd(segment, os.O_RDONLY)
    os.dup2(read_only, store.journal._fd)
    os.close(read_only)
    pushed = await client.post(
        "/api/push_clicks", json={"batch_id": "b1", "clicks": [3]}, headers=auth(token)
    )
    assert (pushed.status, (await pushed.json())["error"]["code"]) == (503, "unavailable")
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert "changes cannot be saved" in (await ready.json())["error"]["message"]
    gauge = client.app[METRICS].registry.get_sample_value("journal_writable")
    assert gauge == 0


async def test_round_events_are_logged_as_json(
    client: TestClient, app_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Each round that starts or finishes writes one structured log line."""
    caplog.set_level(logging.INFO, logger="ctb.rounds")
    token, _ = await new_player(client)
    await client.post(
        "/api/push_clicks", json={"batch_id": "b", "clicks": [3]}, headers=auth(token)
    )
    await client.app[http_api.GAME].call({"op": "end_round"})
    app_clock.jump(10)
    await client.app[http_api.GAME].call({"op": "tick"})  # what the actor's ticker sends
    records = [r for r in caplog.records if r.name == "ctb.rounds"]
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    assert [line["event"] for line in lines] == ["round_started", "round_finished", "round_started"]
    _, finished, started = lines
    assert (finished["round_id"], finished["reason"]) == (1, "admin")
    assert sum(finished["totals"].values()) == 3
    assert (started["round_id"], started["ends_at"]) == (2, 1_700_000_010.0 + 600)
