"""How the server serves the pages and their files (SPEC §9): types, caching, nothing else."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from email.message import Message

import pytest

from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def test_pages_and_static_files_are_served_with_their_types(
    server_process: ServerProcess,
) -> None:
    """Each page and file has its Content-Type and revalidates; unknown paths are JSON 404s."""
    server_process.start()
    base = server_process.url
    expected = {
        "/": "text/html; charset=utf-8",
        "/admin": "text/html; charset=utf-8",
        "/static/game.js": "text/javascript; charset=utf-8",
        "/static/admin/admin.js": "text/javascript; charset=utf-8",
        "/static/queue.js": "text/javascript; charset=utf-8",
        "/static/view.js": "text/javascript; charset=utf-8",
        "/static/api.js": "text/javascript; charset=utf-8",
        "/static/dom.js": "text/javascript; charset=utf-8",
        "/static/input.js": "text/javascript; charset=utf-8",
        "/static/pusher.js": "text/javascript; charset=utf-8",
        "/static/socket.js": "text/javascript; charset=utf-8",
        "/static/state.js": "text/javascript; charset=utf-8",
        "/static/timing.js": "text/javascript; charset=utf-8",
        "/static/style.css": "text/css; charset=utf-8",
        "/static/game.css": "text/css; charset=utf-8",
        "/static/favicon.svg": "image/svg+xml",
    }
    for path, content_type in expected.items():
        status, headers, body = fetch(base + path)
        assert status == 200, path
        assert headers["Content-Type"] == content_type, path
        assert headers["Cache-Control"] == "no-cache", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert body, path
        status, _, body = fetch(base + path, headers={"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b""), path

    _, headers, body = fetch(base + "/")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'<button id="big-button"' in body
    assert fetch(base + "/", method="HEAD")[0] == 200

    for path in (
        "/static/",
        "/static/missing.js",
        "/static/..%2fpages.py",
        "/static/.hidden",
        "/static/admin/",
        "/static/admin/../pages.py",
        "/static/admin/admin/admin.js",
        "/static/admin-api.js",
    ):
        status, headers, body = fetch(base + path)
        assert status == 404, path
        assert json.loads(body)["error"]["code"] == "not_found", path


def test_text_files_are_gzipped_for_clients_that_accept_it(
    server_process: ServerProcess,
) -> None:
    """A script asked for with Accept-Encoding: gzip comes compressed and unpacks to the same
    bytes as the plain reply; both carry one ETag, and a client that sends neither gets it plain."""
    server_process.start()
    url = server_process.url + "/static/game.js"
    _, plain_headers, plain = fetch(url)
    status, headers, packed = fetch(url, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert len(packed) < len(plain) // 2
    assert gzip.decompress(packed) == plain
    assert plain_headers.get("Content-Encoding") is None
    assert headers["ETag"] == plain_headers["ETag"] and "Accept-Encoding" in headers["Vary"]
