"""Whose requests load the server: requests counted per client address, and the addresses shed.

The overload mark (``server/overload.py``) sees the process's CPU and the loop's lag, not whose
requests take the core. 32 keep-alive connections from one process reading the leaderboard
2,200 times a second held the core and put the server in overload, and 47 % of new players got
503. So every request is counted under its client address (``limit_key``: the address or its
IPv6 /64, ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``) over windows of ``WINDOW`` seconds,
and while the process's CPU is over its overload mark, an address that sent at least
``SHED_SHARE`` of the last window's requests, and more than the setting ``SHED_RATE`` a second,
is **shed** for ``SHED_SECONDS`` (renewed while it stays that heavy and the overload lasts):

- its requests get 429 ``rate_limited`` with ``Retry-After`` and ``Connection: close``
  (``shed_requests``, the first check of every request; a trusted proxy's connection, which
  carries other clients too, stays open);
- its new connections get the same reply as they are accepted, before aiohttp reads a byte
  (``server/listener.py``): a few microseconds instead of a request's work.

A page makes an HTTP request every few seconds (its clicks go over the WebSocket); an address
sending a quarter of the server's requests, over 50 a second by default, while the core is full
is a script, or a crowd behind one address that the server cannot serve anyway. What the overload
refuses everyone else meanwhile is ``server/overload.py``'s to decide.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from engine.errors import RateLimited
from server.client_address import client_address, is_trusted_proxy, limit_key
from server.errors import http_error
from server.keys import METRICS, SETTINGS

WINDOW = 2.0  # seconds of requests each decision looks at
SHED_SHARE = 0.25  # of all requests in a window, and at least SHED_RATE a second
SHED_SECONDS = 10.0


@dataclass(slots=True)
class AddressLoad:
    shed_rate: float  # SHED_RATE; 0 sheds nobody
    clock: Callable[[], float] = time.monotonic
    counts: dict[str, int] = field(default_factory=dict)  # requests in the current window
    started: float = float("-inf")  # when the current window began
    heavy: tuple[str, ...] = ()  # the addresses over both marks in the last whole window
    shed: dict[str, float] = field(default_factory=dict)  # address -> shed until (clock)

    def note(self, key: str) -> None:
        """Count one request (or connection) from ``key``."""
        if self.clock() - self.started >= WINDOW:
            self._roll()
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def shed_for(self, key: str) -> float:
        """Seconds ``key`` stays shed; 0 when it is not."""
        until = self.shed.get(key)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self.shed[key]
            return 0.0
        return left

    def shed_heavy(self) -> list[str]:
        """Shed the heavy addresses of the last whole window, renewing any already shed;
        returns the ones newly shed."""
        now = self.clock()
        if now - self.started >= WINDOW:
            self._roll()
        newly = []
        for key in self.heavy:
            if self.shed_for(key) == 0:
                newly.append(key)
            self.shed[key] = now + SHED_SECONDS
        return newly

    def shedding(self) -> bool:
        """Whether any address is shed now."""
        now = self.clock()
        for key in [k for k, until in self.shed.items() if until <= now]:
            del self.shed[key]
        return bool(self.shed)

    def _roll(self) -> None:
        now = self.clock()
        elapsed = now - self.started
        counts = self.counts
        if counts and elapsed < 2 * WINDOW and self.shed_rate > 0:  # not after a gap
            mark = max(self.shed_rate * elapsed, SHED_SHARE * sum(counts.values()))
            self.heavy = tuple(key for key, n in counts.items() if n >= mark)
        else:
            self.heavy = ()
        self.counts = {}
        self.started = now


ADDRESS_LOAD = web.AppKey("address_load", AddressLoad)


@web.middleware
def shed_requests(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Count the request under its client address; refuse it while the address is shed.

    A plain function that hands back the handler's own coroutine rather than awaiting it: a
    middleware that awaits stays on the request's stack for as long as the handler runs, and
    a WebSocket's handler runs as long as the socket (a coroutine of about 270 bytes kept for
    each socket, and one more level to resume for each of its frames).
    """
    app = request.app
    load = app[ADDRESS_LOAD]
    proxies = app[SETTINGS].trusted_proxies
    key = limit_key(client_address(request, proxies))
    load.note(key)
    wait = load.shed_for(key)
    if wait <= 0:
        return handler(request)
    app[METRICS].overload_refused_total.labels(what="shed_request").inc()
    error = RateLimited("this address sends more requests than the server can take now", wait)
    response = http_error(error)
    if not is_trusted_proxy(request.remote or "", proxies):
        response.force_close()  # a script must connect again, and is refused at accept
    return _answered(response)


async def _answered(response: web.StreamResponse) -> web.StreamResponse:
    return response
