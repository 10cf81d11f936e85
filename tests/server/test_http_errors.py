"""Refusals in the SPEC's error shape: bad JSON, wrong media type, oversized bodies, bad routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from actor.clock import FakeClock
from server.app import init_app
from tests.server.conftest import auth, make_settings, new_player

LIMIT = 64 * 1024


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    return body["error"]


async def test_malformed_json_is_invalid_request(client: TestClient) -> None:
    """A body that is not JSON gets 400 invalid_request."""
    token, _ = await new_player(client)
    headers = {**auth(token), "Content-Type": "application/json"}
    for raw in [b"{", b'{"batch_id": "b", "clicks": [1]', b"\xff\xfe", b"nul"]:
        response = await client.post("/api/push_clicks", data=raw, headers=headers)
        await error_of(response, 400, "invalid_request")


async def test_body_must_be_an_object(client: TestClient) -> None:
    """A JSON body that is not an object gets 400 invalid_request."""
    for raw in [b"[]", b'"name"', b"3", b"null"]:
        response = await client.post(
            "/api/session", data=raw, headers={"Content-Type": "application/json"}
        )
        await error_of(response, 400, "invalid_request")


async def test_non_json_media_type_is_415(client: TestClient) -> None:
    """A body sent as anything but JSON gets 415 unsupported_media_type."""
    token, _ = await new_player(client)
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"]:
        response = await client.post(
            "/api/push_clicks",
            data=b'{"batch_id": "b", "clicks": [1]}',
            headers={**auth(token), "Content-Type": content_type},
        )
        await error_of(response, 415, "unsupported_media_type")


async def test_json_suffix_media_types_are_json(client: TestClient) -> None:
    """application/json with a charset, or a +json type, is read as JSON."""
    for content_type in ["application/json; charset=utf-8", "application/merge-patch+json"]:
        response = await client.post(
            "/api/session", data=b'{"name": "Ok"}', headers={"Content-Type": content_type}
        )
        assert response.status == 201


async def test_body_over_64_kib_is_413(client: TestClient) -> None:
    """A body over 64 KiB gets 413 in the error shape, whether its length is declared or not."""
    token, _ = await new_player(client)
    big = b'{"batch_id": "b", "clicks": [1], "pad": "' + b"x" * LIMIT + b'"}'
    headers = {**auth(token), "Content-Type": "application/json"}
    response = await client.post("/api/push_clicks", data=big, headers=headers)
    error = await error_of(response, 413, "payload_too_large")
    assert error["details"] == {"limit": LIMIT}

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    response = await client.post("/api/session", data=chunks(), headers=headers)
    await error_of(response, 413, "payload_too_large")


async def test_body_of_exactly_64_kib_is_read(client: TestClient) -> None:
    """A body right at the limit is read (and here refused only for its unknown field)."""
    prefix, suffix = b'{"pad": "', b'"}'
    body = prefix + b"x" * (LIMIT - len(prefix) - len(suffix)) + suffix
    response = await client.post(
        "/api/session", data=body, headers={"Content-Type": "application/json"}
    )
    error = await error_of(response, 400, "invalid_request")
    assert error["details"] == {"fields": ["pad"]}


async def test_unknown_route_is_404(client: TestClient) -> None:
    """A path no route serves gets 404 not_found in the error shape."""
    await error_of(await client.get("/api/nothing-here"), 404, "not_found")


async def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    """A known path with a method it does not serve gets 405 and an Allow header."""
    response = await client.delete("/api/snapshot")
    error = await error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"
    assert error["details"] == {"allowed": ["GET"]}
    response = await client.get("/api/push_clicks")
    await error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"


async def test_a_bug_is_a_500_in_the_error_shape(
    aiohttp_client: Any, tmp_path: Path, app_clock: FakeClock
) -> None:
    """An unexpected exception in a handler becomes a 500 internal_error without its details."""
    app = init_app(make_settings(tmp_path / "data"), clock=app_clock)

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    response = await client.get("/broken")
    error = await error_of(response, 500, "internal_error")
    assert "secret" not in error["message"]


async def test_redirects_pass_through_the_error_middleware(
    aiohttp_client: Any, tmp_path: Path, app_clock: FakeClock
) -> None:
    """An HTTP redirect raised by a handler reaches the client unchanged."""
    app = init_app(make_settings(tmp_path / "data"), clock=app_clock)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api/snapshot")

    app.router.add_get("/moved", moved)
    client = await aiohttp_client(app)
    response = await client.get("/moved", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/api/snapshot")


async def test_a_request_aiohttp_cannot_parse_gets_the_error_shape(client: TestClient) -> None:
    """The test app serves through the game's protocol: a malformed request line is a JSON 400."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"NOT-HTTP /secret-path\r\n\r\n")
    await writer.drain()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"400"
    assert b"application/json" in head
    error = orjson.loads(body)["error"]
    assert (error["code"], error["details"]) == ("invalid_request", None)
    assert b"secret-path" not in reply
