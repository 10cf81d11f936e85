"""Who may use the admin API, and how fast (SPEC §8).

Every admin request carries ``Authorization: Bearer <token>``, one of the admins' tokens
(``ADMIN_TOKEN``, whose admin is named ``admin``, and the named ``ADMIN_TOKENS``), compared in
constant time with each (``auth.admin_named``, ``hmac.compare_digest``); the request then acts
as that admin, by name. Three guards stand in front of it:

- *Failed attempts per client*: a wrong token counts against the client; after
  ``FAILURES_PER_MINUTE`` in a minute the client gets 429 *before* its token is looked at, so a
  locked-out guesser learns nothing, not even from a right guess. A missing token is not a guess
  and does not count. The client is its *device* when it shows a device cookie, else its address
  (the session limit's rule: ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``, IPv6 per /64).
  A request that used a right token gets the device cookie (``DEVICE_COOKIE``: an HS256 token
  naming that admin token's id, HttpOnly, 30 days, valid while the server has that token), so
  a guesser sharing the admin's address (an office, a NAT, a proxy not listed as trusted) locks
  out only clients without one: the admin page keeps working, a new client from that address
  waits out the minute, and guesses stay at ten a minute. This is OWASP's "device cookie"
  defence; comparing the token of a locked-out address and letting a right one in would tell
  the guesser which guess was right.
- *A token bucket per admin*: ``ADMIN_RATE`` requests a second, ``ADMIN_BURST`` at once,
  then 429 with ``Retry-After``. Each admin request is a turn of the actor that serves the
  players too, so a runaway script must not be able to queue thousands of them.
- *A read budget per admin*, for reads whose cost grows with the game (the player
  listing): each is charged its estimated cost in players scanned (``admin_query.cost``)
  against a bucket of ``ADMIN_SCAN_RATE`` players a second that holds ``SCAN_BURST_SECONDS``
  of them; a read the bucket cannot pay gets 429 with ``Retry-After``. The listing's work runs
  beside the game, not in its turns (``server/admin/listing.py``), but it still takes a core's
  time: the budget bounds how much.
- The audit's, the logs' and the admin events' "who" is the admin's name, never the token; an
  entry written before admins had names keeps the token's id it was written with (the first 8
  hex digits of its SHA-256).

Time is the game clock (``app[CLOCK]``), so tests move a fake clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TypeVar

from aiohttp import web

from engine.errors import RateLimited
from server import auth
from server.client_address import client_address, limit_key
from server.errors import Unauthorized
from server.keys import AUTH, CLOCK, SETTINGS
from server.session_limit import SessionLimiter
from server.token_bucket import TokenBucket

log = logging.getLogger("ctb.admin")

FAILURES_PER_MINUTE = 10
SCAN_BURST_SECONDS = 2.0
DEVICE_COOKIE = "ctb_admin_device"
NEW_DEVICE = web.RequestKey("admin_new_device", str)  # the token id to name in a new cookie
_CLIENT = web.RequestKey("admin_client", str)  # the key failures count against
T = TypeVar("T")


def token_id(token: str) -> str:
    """The name an admin token goes by in the audit and the logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass(slots=True)
class AdminGuard:
    rate: float
    burst: int
    scan_rate: float
    failures: SessionLimiter = field(default_factory=lambda: SessionLimiter(FAILURES_PER_MINUTE))
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    reads: dict[str, TokenBucket] = field(default_factory=dict)  # the read budgets

    def admit(self, request: web.Request) -> str:
        """The admin's name for a request with an admin's token; 401 or 429 otherwise."""
        app = request.app
        token = self.guarded(request, lambda: auth.bearer(request))
        admin = auth.admin_named(app[AUTH], token)
        if admin is None:
            self.failed(request)
            raise Unauthorized("not an admin token")
        self.spend(admin, app[CLOCK].now())
        if not self._key(request).startswith("device:"):
            request[NEW_DEVICE] = token_id(token)
        return admin

    def guarded(self, request: web.Request, read: Callable[[], T]) -> T:
        """``read()`` the credential, unless the address is locked out (429 first)."""
        key, now = self._key(request), request.app[CLOCK].now()
        wait = self.failures.wait(key, now)
        if wait > 0:
            raise RateLimited("too many failed admin attempts from this address", wait)
        return read()

    def failed(self, request: web.Request) -> None:
        """Count one wrong admin credential from the request's address, and log it."""
        self.failures.take(self._key(request), request.app[CLOCK].now())
        address = client_address(request, request.app[SETTINGS].trusted_proxies)
        log.warning(
            "admin token refused",
            extra={"event": "admin_auth_failed", "address": address, "path": request.path},
        )

    def _key(self, request: web.Request) -> str:
        """The client failures count against: its device, or else its address."""
        key = request.get(_CLIENT)
        if key is None:
            key = _device(request) or limit_key(
                client_address(request, request.app[SETTINGS].trusted_proxies)
            )
            request[_CLIENT] = key
        return key

    def spend(self, admin: str, now: float) -> None:
        bucket = self.buckets.get(admin)
        if bucket is None:
            bucket = self.buckets[admin] = TokenBucket(self.rate, self.burst, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited("admin requests are coming too fast", wait)

    def charge(self, admin: str, cost: int, now: float) -> None:
        """Pay a read's estimated cost (players scanned) from the admin's read budget, or 429."""
        bucket = self.reads.get(admin)
        if bucket is None:
            burst = max(1, int(self.scan_rate * SCAN_BURST_SECONDS))
            bucket = self.reads[admin] = TokenBucket(self.scan_rate, burst, burst, now)
        wait = bucket.take(now, cost)
        if wait > 0:
            message = "the admin's read budget is spent: heavy reads are coming too fast"
            raise RateLimited(message, wait)


def _device(request: web.Request) -> str | None:
    """``device:<hash>`` for a valid device cookie of one of this server's admin tokens, else
    None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    keys = request.app[AUTH]
    try:
        if auth.verify(keys, cookie, auth.ADMIN_DEVICE) not in token_ids(keys):
            return None  # made for an admin token this server no longer has
    except Unauthorized:
        return None
    return "device:" + hashlib.sha256(cookie.encode()).hexdigest()[:16]


async def give_device_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a client that used the right token without a device cookie gets one."""
    known = request.get(NEW_DEVICE)
    if known is None:
        return
    cookie: SimpleCookie = SimpleCookie()
    cookie[DEVICE_COOKIE] = auth.issue(request.app[AUTH], known, auth.ADMIN_DEVICE)
    morsel = cookie[DEVICE_COOKIE]
    morsel.update({"max-age": str(auth.DEVICE_TTL), "path": "/api/admin", "samesite": "Strict"})
    morsel["httponly"] = True
    morsel["secure"] = request.secure
    # The response has turned its own cookies into headers by the time this signal runs.
    response.headers.add("Set-Cookie", morsel.OutputString())


ADMIN_GUARD = web.AppKey("admin_guard", AdminGuard)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[ADMIN_GUARD] = AdminGuard(
        settings.admin_rate, settings.admin_burst, settings.admin_scan_rate
    )
    app.on_response_prepare.append(give_device_cookie)


def admit(request: web.Request) -> str:
    return request.app[ADMIN_GUARD].admit(request)


def charge(request: web.Request, admin: str, cost: int) -> None:
    request.app[ADMIN_GUARD].charge(admin, cost, request.app[CLOCK].now())


def token_ids(keys: auth.Auth) -> set[str]:
    """The ids of this server's admin tokens (what device cookies name)."""
    return {token_id(token) for _, token in keys.admins}


def is_admin(app: web.Application, name: str) -> bool:
    """Whether ``name`` is one of this server's admins (what an admin socket's token names)."""
    return any(admin == name for admin, _ in app[AUTH].admins)
