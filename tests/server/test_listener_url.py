"""The start-up log names the address to open (``server/listener.py``)."""

from __future__ import annotations

import pytest

from server.listener import page_url


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("0.0.0.0", 8080, "http://localhost:8080/"),
        ("127.0.0.1", 9000, "http://localhost:9000/"),
        ("::", 8080, "http://localhost:8080/"),
        ("game.example", 80, "http://game.example:80/"),
        ("2001:db8::1", 8080, "http://[2001:db8::1]:8080/"),
    ],
)
def test_the_url_to_open_names_localhost_for_local_hosts(host: str, port: int, url: str) -> None:
    """A wildcard or loopback host is shown as localhost; any other host as itself."""
    assert page_url(host, port) == url
