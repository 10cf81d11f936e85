"""Requests aiohttp cannot parse, sent over raw sockets to a real server process (SPEC §5).

Each gets the error shape with a fitting status and a closed connection; none is quoted back.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ServerProcess

MARK = b"ECHO-ME"  # a recognisable part of each bad request, which must not come back


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: every request here is refused before it reaches the game."""
    process = ServerProcess(data_dir=tmp_path_factory.mktemp("protocol") / "data")
    process.start()
    yield process
    process.stop()


def exchange(server: ServerProcess, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; return status, headers and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


BAD_REQUESTS = [
    pytest.param(
        b"GET /api/snapshot HTTP/1.1\r\nHost: x\r\nX-Big: " + MARK + b"a" * 100_000 + b"\r\n\r\n",
        431,
        "headers_too_large",
        id="100 KB header",
    ),
    pytest.param(
        b"GET /" + MARK + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        414,
        "uri_too_long",
        id="20 KB URL",
    ),
    pytest.param(
        b"GET /api/snapshot HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: " % i + MARK + b"\r\n" for i in range(200))
        + b"\r\n",
        431,
        "headers_too_large",
        id="200 headers",
    ),
    pytest.param(MARK + b" NOT HTTP\r\n\r\n", 400, "invalid_request", id="malformed line"),
    pytest.param(
        b"GET /" + MARK + b" HTTP/9.9\r\nHost: x\r\n\r\n",
        400,
        "invalid_request",
        id="unknown version",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header " + MARK + b": v\r\n\r\n",
        400,
        "invalid_request",
        id="invalid header name",
    ),
    pytest.param(
        b"POST /api/push_clicks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + MARK
        + b"\r\n",
        400,
        "invalid_request",
        id="bad chunk size",
    ),
]


@pytest.mark.parametrize(("request_bytes", "status", "code"), BAD_REQUESTS)
def test_an_unparseable_request_gets_the_error_shape_and_is_not_echoed(
    server: ServerProcess, request_bytes: bytes, status: int, code: str
) -> None:
    """The reply is JSON in the error shape with a fitting status and quotes nothing sent."""
    got_status, headers, body = exchange(server, request_bytes)
    assert got_status == status
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert MARK not in body and b"aaaa" not in body
    status, _, body = exchange(
        server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 200, body  # and the server goes on serving


def test_the_limits_are_named_in_details(server: ServerProcess) -> None:
    """A long URL and a long header each name the limit they broke, in bytes."""
    _, _, body = exchange(server, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert json.loads(body)["error"]["details"] == {"limit": 8192}
    _, _, body = exchange(server, b"GET / HTTP/1.1\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n")
    assert json.loads(body)["error"]["details"] == {"limit": 8190}
