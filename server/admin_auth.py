"""Who may use the admin API, and how fast (SPEC §8).

Every admin request carries ``Authorization: Bearer <ADMIN_TOKEN>``, compared in constant time
(``auth.is_admin``, ``hmac.compare_digest``). Three guards stand in front of it:

- *Failed attempts per client address*: a wrong token counts against the address (the same
  rule as the session limit: ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``, IPv6 per /64);
  after ``FAILURES_PER_MINUTE`` in a minute the address gets 429 *before* its token is looked
  at, so a locked-out guesser learns nothing, not even from a right guess. A missing token is
  not a guess and does not count.
- *A token bucket per admin token*: ``ADMIN_RATE`` requests a second, ``ADMIN_BURST`` at once,
  then 429 with ``Retry-After``. Each admin request is a turn of the actor that serves the
  players too, so a runaway script must not be able to queue thousands of them.
- The audit's "who" is the token's id (the first 8 hex digits of its SHA-256), never the token.

Time is the game clock (``app[CLOCK]``), so tests move a fake clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
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
T = TypeVar("T")


def token_id(token: str) -> str:
    """The name an admin token goes by in the audit and the logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass(slots=True)
class AdminGuard:
    rate: float
    burst: int
    failures: SessionLimiter = field(default_factory=lambda: SessionLimiter(FAILURES_PER_MINUTE))
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def admit(self, request: web.Request) -> str:
        """The admin's id for a request with the admin token; 401 or 429 otherwise."""
        app = request.app
        token = self.guarded(request, lambda: auth.bearer(request))
        if not auth.is_admin(app[AUTH], token):
            self.failed(request)
            raise Unauthorized("not the admin token")
        admin = token_id(token)
        self.spend(admin, app[CLOCK].now())
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
        return limit_key(client_address(request, request.app[SETTINGS].trusted_proxies))

    def spend(self, admin: str, now: float) -> None:
        bucket = self.buckets.get(admin)
        if bucket is None:
            bucket = self.buckets[admin] = TokenBucket(self.rate, self.burst, self.burst, now)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited("admin requests are coming too fast", wait)


ADMIN_GUARD = web.AppKey("admin_guard", AdminGuard)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[ADMIN_GUARD] = AdminGuard(settings.admin_rate, settings.admin_burst)


def admit(request: web.Request) -> str:
    return request.app[ADMIN_GUARD].admit(request)


def admin_id(app: web.Application) -> str:
    """The id of this server's admin token (for the admin socket's handshake token)."""
    return token_id(app[AUTH].admin_token)
