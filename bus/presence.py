"""Who is online across gateways (SPEC §11): each player counted once, wherever their sockets are.

A gateway reports the players whose first socket opened or last socket closed on it
(``wire.Presence``); the engine keeps, per player, the set of gateways holding them, and the
board's ``online`` moves only when a player's set turns empty or stops being empty. A gateway
that falls silent (killed, cut off) is forgotten after ``silence`` seconds, its players with it,
and one that (re)joins sends its whole set, which replaces what the book held for it. Pure: the
engine host (``bus/engine_host.py``) passes the time in and turns the deltas into ``Online``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bus.wire import Presence


@dataclass(slots=True)
class PresenceBook:
    where: dict[str, set[str]] = field(default_factory=dict)  # player -> gateways holding them
    players_of: dict[str, set[str]] = field(default_factory=dict)  # gateway -> its players
    heard: dict[str, float] = field(default_factory=dict)  # gateway -> when last heard
    # gateway -> its open connections per busy client address (the per-address cap, §11)
    addresses: dict[str, dict[str, int]] = field(default_factory=dict)
    sockets: dict[str, int] = field(default_factory=dict)  # gateway -> its open WebSockets

    @property
    def online(self) -> int:
        return len(self.where)

    def take(self, gateway: str, presence: Presence, now: float) -> int:
        """Apply one report; the change in players online."""
        self.heard[gateway] = now
        if presence.addresses is not None:
            self.addresses[gateway] = presence.addresses
        if presence.sockets is not None:
            self.sockets[gateway] = presence.sockets
        mine = self.players_of.setdefault(gateway, set())
        before = len(self.where)
        if presence.whole:
            for player in mine - set(presence.joined):
                self._leave(gateway, player)
        for player in presence.joined:
            if player not in mine:
                mine.add(player)
                self.where.setdefault(player, set()).add(gateway)
        for player in presence.left:
            if player in mine:
                self._leave(gateway, player)
        return len(self.where) - before

    def heard_from(self, gateway: str, now: float) -> None:
        self.heard[gateway] = now

    def forget_silent(self, now: float, silence: float) -> tuple[list[str], int]:
        """Drop the gateways not heard from in ``silence`` seconds: their names and the change."""
        before = len(self.where)
        gone = [gateway for gateway, at in self.heard.items() if now - at > silence]
        for gateway in gone:
            for player in list(self.players_of.get(gateway, ())):
                self._leave(gateway, player)
            self.players_of.pop(gateway, None)
            self.addresses.pop(gateway, None)
            self.sockets.pop(gateway, None)
            del self.heard[gateway]
        return gone, len(self.where) - before

    def busy_addresses(self) -> dict[str, dict[str, int]]:
        """Per busy client address, the connections each gateway holds (for the heartbeat)."""
        merged: dict[str, dict[str, int]] = {}
        for gateway, counts in self.addresses.items():
            for address, held in counts.items():
                merged.setdefault(address, {})[gateway] = held
        return merged

    def _leave(self, gateway: str, player: str) -> None:
        self.players_of[gateway].discard(player)
        holders = self.where.get(player)
        if holders is not None:
            holders.discard(gateway)
            if not holders:
                del self.where[player]
