"""The OpenAPI document stays true: every route is in it, it validates, real replies match it."""

from __future__ import annotations

import asyncio
import itertools
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from actor.clock import FakeClock
from engine.errors import InvalidRequest
from engine.players import MAX_NAME_LENGTH, clean_name
from server.admin.routes import operations as admin_operations
from server.app import init_app
from server.models import NAME_FORMAT
from tests.conftest import T0
from tests.server.conftest import ADMIN, ClientFactory, make_settings


def is_name(text: str) -> bool:
    try:
        clean_name(text)
    except InvalidRequest:
        return False
    return True


# Names are letters of any script (SPEC §3): the document says so in words and with its own
# format, and valid examples are drawn here through the engine's rule, the only one there is.
NAME_CHARS = st.characters(categories=("L", "N"), include_characters=" _-")
schemathesis.openapi.format(
    NAME_FORMAT, st.text(NAME_CHARS, min_size=1, max_size=MAX_NAME_LENGTH).filter(is_name)
)

# Pages and the WebSocket answer HTML, files and a protocol switch; the fuzzing is for the API.
NOT_FUZZED = ("/", "/admin", "/static/{name}", "/static/admin/{name}", "/ws", "/api/admin/ws")
EXAMPLES_PER_OPERATION = 15


async def fetch_document(client: TestClient) -> dict:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    return await response.json()


async def test_every_registered_route_is_documented(client: TestClient) -> None:
    """Each method and path the app registers has an operation in the document, and back."""
    paths = (await fetch_document(client))["paths"]
    registered = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.resource is not None
    }
    documented = {(path, method) for path, item in paths.items() for method in item}
    assert registered - documented == set()
    assert documented - registered == set()


async def test_document_is_valid_openapi_3_1(client: TestClient) -> None:
    """The served document is a valid OpenAPI 3.1 document."""
    document = await fetch_document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)


async def test_document_states_the_running_limits(make_client: ClientFactory) -> None:
    """The push limits in the document follow the server's settings."""
    client = await make_client(max_cps=50, click_push_rate=2.0)
    schemas = (await fetch_document(client))["components"]["schemas"]
    assert schemas["PushRequest"]["properties"]["clicks"]["items"]["maximum"] == 1000


async def test_document_takes_a_name_with_spaces_around_it(client: TestClient) -> None:
    """The name's schema lets through 24 letters with spaces around them, as the server does
    (SPEC §3: trimmed, then 1-24), in a session, a rename and an admin's patch."""
    schemas = (await fetch_document(client))["components"]["schemas"]
    padded = "   " + "n" * MAX_NAME_LENGTH + "  "
    for model in ("SessionRequest", "RenameRequest", "PatchPlayer"):
        name = schemas[model]["properties"]["name"]
        assert Draft202012Validator(name).is_valid(padded), (model, name)
        assert not Draft202012Validator(name).is_valid(""), model


class SteppingClock(FakeClock):
    """A fake clock that moves one second each time it is read.

    Under fuzzing, every push and session then comes a game second after the one before, so
    generated requests reach the real push path instead of stopping at the push-gap 429.
    """

    def now(self) -> float:
        self.jump(1.0)
        return super().now()


@dataclass(slots=True)
class LiveServer:
    url: str
    app: web.Application


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app on a real loopback socket, served by an event loop in its own thread.

    Schemathesis sends blocking requests, so the server cannot share the test's loop.
    """
    loop = asyncio.new_event_loop()
    settings = make_settings(
        tmp_path / "data", round_seconds=604_800, round_target=10**12, admin_rate=10_000.0
    )
    app = init_app(settings, clock=SteppingClock(T0))
    runner = web.AppRunner(app)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    thread = threading.Thread(target=loop.run_forever, name="live-server", daemon=True)
    thread.start()
    try:
        url = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        yield LiveServer(url, app)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())


def test_api_replies_match_the_document(live_server: LiveServer) -> None:
    """Generated valid and invalid requests get no 5xx and only documented, schema-true replies."""
    with urllib.request.urlopen(live_server.url + "/api/openapi.json", timeout=10) as response:
        document = orjson.loads(response.read())
    token = post_json(live_server.url + "/api/session", {"name": "fuzzer"})["token"]
    player_headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzzed = [op for op in operations if op.path not in NOT_FUZZED]
    assert len(fuzzed) >= 34
    # Every admin operation is fuzzed with the admin token; each reply has a model to fit.
    admin_routes = {(op.method.upper(), op.path) for op in admin_operations()}
    assert {(op.method.upper(), op.path) for op in fuzzed if op.path.startswith("/api/admin/")} == (
        admin_routes
    )

    for operation, mode in itertools.product(fuzzed, GenerationMode):
        admin = operation.path.startswith("/api/admin/")
        # An admin change may be refused for what the state holds (a planet that does not
        # exist, no active round, a resolved case): a 400 no schema can foresee.
        excluded = [positive_data_acceptance] if admin else []
        fuzz(live_server.url, operation, mode, ADMIN if admin else player_headers, excluded)


def fuzz(url: str, operation: Any, mode: GenerationMode, headers: dict, excluded: list) -> None:
    """Send one operation's generated requests in one mode and check every reply: no 5xx, a
    documented status, and a body that fits the schema of that status (every check but
    ``excluded``: status code, content type, headers and response schema conformance among
    them)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=url, headers=headers, excluded_checks=excluded)

    try:
        check()
    except Unsatisfiable:
        # Some inputs have no invalid form (a header is any string): nothing to send.
        assert mode is GenerationMode.NEGATIVE, operation.label
