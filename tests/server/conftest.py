"""Fixtures for tests through the real aiohttp app and real sockets (pytest-aiohttp)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner

from actor.clock import FakeClock
from server.app import init_app
from server.http_protocol import GameAppRunner
from server.keys import METRICS
from settings import Settings
from tests.conftest import T0

ClientFactory = Callable[..., Awaitable[TestClient]]


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test app: its own data directory, fixed keys, fast broadcasts."""
    base = Settings(
        data_dir=data_dir,
        secret_key="test-secret-key-0123456789-abcdefghij",
        admin_token="test-admin-token-0123456789",
        broadcast_interval=0.05,
        # The test process also runs the clients and hypothesis: its CPU says nothing of the
        # server's, so only the loop's lag may turn overload on (tests/server/test_overload.py).
        overload_cpu=1000.0,
    )
    return dataclasses.replace(base, **overrides)


class GameTestServer(TestServer):
    """aiohttp's test server with the game's HTTP protocol, as run.py serves (http_protocol.py)."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return GameAppRunner(self.app, **kwargs)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def app_clock() -> FakeClock:
    """The game clock of the test app; tests jump it to move rounds along."""
    return FakeClock(T0)


@pytest.fixture
async def make_client(aiohttp_client: Any, tmp_path: Path, app_clock: FakeClock) -> ClientFactory:
    """Build a client for an app with settings overridden per test."""

    async def build(**overrides: Any) -> TestClient:
        app = init_app(make_settings(tmp_path / "data", **overrides), clock=app_clock)
        return await aiohttp_client(GameTestServer(app))

    return build


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient:
    return await make_client()


def metric(client: TestClient, name: str, **labels: str) -> float:
    """A sample of the test app's metrics; 0 when it has not been set yet."""
    value = client.server.app[METRICS].registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def new_player(client: TestClient, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """Create a player through the API; returns (token, player object)."""
    body = {} if name is None else {"name": name}
    response = await client.post("/api/session", json=body)
    assert response.status == 201, await response.text()
    data = await response.json()
    return data["token"], data["player"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ws_player(client: TestClient, name: str | None = None) -> tuple[str, str]:
    """Create a player in the actor and mint its WebSocket token; returns (ws_token, player_id).

    Goes around ``POST /api/session`` and ``POST /api/ws-token`` so WebSocket tests depend on
    nothing but the socket under test.
    """
    from uuid import uuid4

    from server import auth as auth_mod
    from server.keys import ACTOR, AUTH

    app = client.server.app
    player_id = str(uuid4())
    await app[ACTOR].call({"op": "create_player", "player_id": player_id, "name": name})
    return auth_mod.issue(app[AUTH], player_id, auth_mod.WS), player_id


ADMIN_TOKEN = "test-admin-token-0123456789"  # make_settings' admin_token
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def admin_json(
    client: TestClient, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    """An admin request with the admin token; asserts the status and returns the JSON reply."""
    response = await client.request(method, path, json=body, headers=ADMIN)
    assert response.status == status, await response.text()
    return await response.json()
