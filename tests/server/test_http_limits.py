"""The pieces behind the session limit and token checks, tested without a server or a loop."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from engine.errors import RateLimited
from server.client_address import client_address, limit_key
from server.errors import Unauthorized
from server.session_limit import WINDOW, SessionLimiter
from server.token_cache import TokenCache

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def request_from(remote: str, forwarded: str | None = None) -> web.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/api/session", headers=headers).clone(remote=remote)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # spoofed left hop ignored
        ("10.0.0.2", "198.51.100.1, 10.0.0.7", "198.51.100.1"),  # our second proxy skipped
        ("10.0.0.2", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # all hops are proxies
        ("10.0.0.2", "garbage, 10.0.0.7", "10.0.0.7"),  # unreadable hop: last trusted one
        ("10.0.0.2", "198.51.100.1:5555", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_address(remote: str, forwarded: str | None, expected: str) -> None:
    """The client is the right-most forwarded address that is not a trusted proxy."""
    assert client_address(request_from(remote, forwarded), PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    """Without TRUSTED_PROXIES the peer's address is the client, whatever the header says."""
    request = request_from("10.0.0.2", "198.51.100.1")
    assert client_address(request, ()) == "10.0.0.2"


def test_ipv6_clients_are_limited_by_their_64() -> None:
    """Addresses of one IPv6 /64 share a limit; IPv4 addresses each have their own."""
    assert limit_key("2001:db8:1:2::1") == limit_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert limit_key("203.0.113.1") != limit_key("203.0.113.2")


def test_limiter_counts_a_sliding_minute() -> None:
    """The limit holds over any 60 s window, and Retry-After says when a slot frees."""
    limiter = SessionLimiter(per_minute=2)
    limiter.take("a", 0.0)
    limiter.take("a", 30.0)
    with pytest.raises(RateLimited) as refused:
        limiter.take("a", 59.0)
    assert refused.value.retry_after == pytest.approx(1.0)
    limiter.take("a", 60.0)  # the first session left the window
    with pytest.raises(RateLimited):
        limiter.take("a", 89.0)
    limiter.take("b", 89.0)  # another address is not affected


def test_limiter_forgets_quiet_addresses() -> None:
    """Addresses with no session in the last minute are dropped, so memory stays bounded."""
    limiter = SessionLimiter(per_minute=5)
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}", float(i) / 100)
    assert len(limiter) == 1000
    limiter.take("late", 10.0 + WINDOW)
    assert len(limiter) == 1


def test_limiter_caps_the_addresses_it_keeps() -> None:
    """A flood of distinct addresses within a minute never grows past the cap."""
    limiter = SessionLimiter(per_minute=1, max_addresses=100)
    for i in range(1000):
        limiter.take(f"addr-{i}", 1.0)
    assert len(limiter) == 100


def test_limiter_give_back_frees_the_slot() -> None:
    """A session that could not be made is taken back off the address's count."""
    limiter = SessionLimiter(per_minute=1)
    limiter.take("a", 0.0)
    limiter.give_back("a")
    limiter.take("a", 1.0)


def test_token_cache_verifies_once_and_checks_expiry() -> None:
    """A known token skips verification until it expires; then it is refused."""
    calls: list[str] = []
    clock = [100.0]

    def verify(token: str) -> tuple[str, float]:
        calls.append(token)
        return "player-1", 200.0

    cache = TokenCache()
    assert cache.player("tok", verify, lambda: clock[0]) == "player-1"
    assert cache.player("tok", verify, lambda: clock[0]) == "player-1"
    assert calls == ["tok"]
    clock[0] = 200.0
    with pytest.raises(Unauthorized):
        cache.player("tok", verify, lambda: clock[0])
    assert len(cache) == 0


def test_token_cache_never_keeps_a_refused_token() -> None:
    """A token that fails verification is not remembered."""

    def verify(token: str) -> tuple[str, float]:
        raise Unauthorized("invalid token")

    cache = TokenCache()
    for _ in range(2):
        with pytest.raises(Unauthorized):
            cache.player("forged", verify)
    assert len(cache) == 0


def test_token_cache_can_check_a_token_without_keeping_it() -> None:
    """remember=False verifies a new token and keeps nothing; a known token still hits."""
    calls: list[str] = []

    def verify(token: str) -> tuple[str, float]:
        calls.append(token)
        return "player-1", 1e18

    cache = TokenCache()
    assert cache.player("tok", verify, remember=False) == "player-1"
    assert len(cache) == 0
    cache.player("tok", verify)
    assert cache.player("tok", verify, remember=False) == "player-1"
    assert calls == ["tok", "tok"] and len(cache) == 1


def test_token_cache_is_bounded() -> None:
    """The cache drops its oldest tokens beyond its size."""
    cache = TokenCache(max_tokens=10)
    for i in range(50):
        cache.player(f"t{i}", lambda token: (token, 1e18))
    assert len(cache) == 10
