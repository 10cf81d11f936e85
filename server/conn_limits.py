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

When ``total`` is at its cap, a new connection is not refused while someone can make room for
it (``Lineup``): the oldest connection that never completed a request goes first (idle since it
connected, or still sending a slow head or body), then the one kept alive longest without a
request. Thousands of idle connections from a few dozen addresses, each under its per-address
cap, would otherwise keep new players out until the header timeout cut them, wave after wave;
a player's own connection completes its first request within milliseconds and leaves the
front of the line at once. WebSockets and connections with a request in progress never stand
in it.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

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
# Kept-alive connections looked at, longest-unused first, for one that is idle between requests
# (the others are handling one): a bound on the work of making room.
IDLE_SCAN = 64


@dataclass(slots=True)
class Counts:
    """Open things per key, each key capped at ``cap``; a key back at 0 is forgotten."""

    cap: int
    open: dict[str, int] = field(default_factory=dict)
    # What other processes hold per key (gateways, SPEC §11), as the bus last told: the cap is
    # the game's, not each process's.
    elsewhere: dict[str, int] = field(default_factory=dict)

    def take(self, key: str) -> bool:
        held = self.open.get(key, 0)
        if held >= self.cap or (self.elsewhere and held + self.elsewhere.get(key, 0) >= self.cap):
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


class Evictable(Protocol):
    """A connection that can be closed to make room (``server/listener.py``)."""

    def evict(self, reason: str) -> None:
        """Close at once, and give back its counts before returning."""

    def idle(self) -> bool:
        """Waiting for its next request, with none in progress."""


@dataclass(slots=True)
class Lineup:
    """The connections that may be closed to make room, in the order they go.

    Both are insertion-ordered sets: ``unproven`` by connection time, ``proven`` by the time of
    each connection's latest complete request (``served`` moves it to the end).
    """

    unproven: dict[Evictable, None] = field(default_factory=dict)
    proven: dict[Evictable, None] = field(default_factory=dict)

    def joined(self, conn: Evictable) -> None:
        self.unproven[conn] = None

    def served(self, conn: Evictable) -> None:
        """``conn`` completed a request (head and body)."""
        self.unproven.pop(conn, None)
        self.proven.pop(conn, None)
        self.proven[conn] = None

    def left(self, conn: Evictable) -> None:
        """``conn`` closed, or became a WebSocket: it is never closed to make room."""
        self.unproven.pop(conn, None)
        self.proven.pop(conn, None)

    def next_out(self) -> tuple[Evictable, str] | None:
        """The connection to close next, and why (``unused`` or ``idle``); None if none may go."""
        for conn in self.unproven:
            return conn, "unused"
        for seen, conn in enumerate(self.proven):
            if seen >= IDLE_SCAN:
                break
            if conn.idle():
                return conn, "idle"
        return None


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
    lineup: Lineup = field(default_factory=Lineup)

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

    def admit(self, conn: Evictable, key: str | None) -> str | None:
        """Count a new connection (``key``: its address, None for a trusted proxy's), closing
        others to make room if need be; or say why it is refused: ``per_address``,
        ``server_full``."""
        if key is not None and not self.per_address.take(key):
            return "per_address"
        while self.full():
            out = self.lineup.next_out()
            if out is None:
                if key is not None:
                    self.per_address.give_back(key)
                return "server_full"
            victim, why = out
            self.lineup.left(victim)  # out of line even if closing it fails
            victim.evict(why)  # gives its counts back through ``release``
            self.refusals.note("connection_closed", f"evicted_{why}", connections=self.total)
        self.total += 1
        self.lineup.joined(conn)
        return None

    def release(self, conn: Evictable, key: str | None) -> None:
        """Give back what ``admit`` counted for ``conn``; once per admitted connection."""
        self.total -= 1
        if key is not None:
            self.per_address.give_back(key)
        self.lineup.left(conn)


CONN_LIMITS = web.AppKey("conn_limits", ConnLimits)
