"""How many connections one client may hold, and the log line when one is refused.

One address opening thousands of idle connections can use up the process's descriptors, after
which nobody can connect (uvloop then accepts and drops every new connection without a word);
one player opening hundreds of sockets can hold that many send buffers. The counts that stop
both live here and nowhere else:

- ``per_address``: open connections per client address (``client_address.limit_key``: the
  address, or its /64 for IPv6). A direct client's TCP connections are counted when accepted
  (``server/listener.py``), HTTP and WebSocket alike. A trusted proxy's own connections are not
  counted (it speaks for many clients); behind it each WebSocket is counted at the handshake
  under the forwarded address (``server/ws.py``).
- ``per_player``: open WebSockets per player, from the handshake to the handler's end.
- ``total``: every accepted connection, capped below the descriptor limit so that ``accept``
  itself never fails for want of a descriptor: the journal, the snapshot and static files
  keep a reserve.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from settings import Settings

log = logging.getLogger("ctb.conn")

# Descriptors kept for everything that is not a client connection (files, the journal, the
# snapshot child's pipe): a quarter of the limit, at most this many.
DESCRIPTOR_RESERVE = 1000
# How long a refused client is told to wait (Retry-After).
RETRY_AFTER = 5.0
# A refusal is logged at once, then at most once per this many seconds per reason, with the
# number refused meanwhile: a flood of refusals must not become a flood of log lines.
LOG_EVERY = 10.0


@dataclass(slots=True)
class Counts:
    """Open things per key, each key capped at ``cap``; a key back at 0 is forgotten."""

    cap: int
    open: dict[str, int] = field(default_factory=dict)

    def take(self, key: str) -> bool:
        held = self.open.get(key, 0)
        if held >= self.cap:
            return False
        self.open[key] = held + 1
        return True

    def give_back(self, key: str) -> None:
        held = self.open.get(key, 0) - 1
        if held > 0:
            self.open[key] = held
        else:
            self.open.pop(key, None)


@dataclass(slots=True)
class Refusals:
    """Rate-limited log lines for refused connections, one stream per event and reason."""

    every: float = LOG_EVERY
    last: dict[tuple[str, str], float] = field(default_factory=dict)
    missed: dict[tuple[str, str], int] = field(default_factory=dict)

    def note(self, event: str, reason: str, **fields: Any) -> None:
        now = time.monotonic()
        key = (event, reason)
        last = self.last.get(key)
        if last is not None and now - last < self.every:
            self.missed[key] = self.missed.get(key, 0) + 1
            return
        self.last[key] = now
        also = self.missed.pop(key, 0)
        log.warning(
            event.replace("_", " "),
            extra={"event": event, "reason": reason, "also_refused": also, **fields},
        )


def descriptor_budget() -> int | None:
    """Connections the process may hold beside its reserve; None when there is no limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, soft - min(DESCRIPTOR_RESERVE, soft // 4))


@dataclass(slots=True)
class ConnLimits:
    per_address: Counts
    per_player: Counts
    max_total: int | None = None
    total: int = 0
    refusals: Refusals = field(default_factory=Refusals)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnLimits:
        """Built after start-up raised the descriptor limit (``run.py``), so it sees the new one."""
        return cls(
            per_address=Counts(settings.max_connections_per_address),
            per_player=Counts(settings.ws_max_per_player),
            max_total=descriptor_budget(),
        )

    def full(self) -> bool:
        return self.max_total is not None and self.total >= self.max_total


CONN_LIMITS = web.AppKey("conn_limits", ConnLimits)
