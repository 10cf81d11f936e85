"""What a gateway tells the engine of its own players and connections (SPEC §11).

The gateway's side of ``bus/presence.py``: which players' first socket opened or last socket
closed here since the last report (all of them after a (re)join or a new engine), and, once a
second, the busy client addresses and the open sockets. What other gateways hold of the same
addresses comes back in the engine's heartbeat (``take_elsewhere``); the server's connection
limits read ``elsewhere``, this very dict, so the cap per address is the game's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from actor.actor import Online
from bus import wire


@dataclass(slots=True)
class GatewayPresence:
    gateway: str
    players: dict[str, None] = field(default_factory=dict)  # players with a socket here
    joined: set[str] = field(default_factory=set)  # not yet reported
    left: set[str] = field(default_factory=set)
    whole: bool = True  # the next report sends every player (a (re)join)
    # The server's open connections per address (``ConnLimits.per_address``) and their cap.
    connections: dict[str, int] = field(default_factory=dict)
    connection_cap: int = 0
    elsewhere: dict[str, int] = field(default_factory=dict)  # what the other gateways hold
    sockets: Callable[[], int] = lambda: 0  # the server's open WebSockets

    @property
    def changed(self) -> bool:
        return bool(self.joined or self.left)

    def count(self, online: Online) -> None:
        """A player's first socket here opened (+1) or their last one closed (-1)."""
        player = online.player_id
        if online.delta > 0:
            self.players[player] = None
            self.left.discard(player)
            self.joined.add(player)
        else:
            self.players.pop(player, None)
            self.joined.discard(player)
            self.left.add(player)

    def report(self, addresses: bool = False) -> wire.Presence:
        """The changes since the last report (every player after a (re)join); with
        ``addresses``, the busy client addresses and the open sockets too."""
        busy = self.busy_addresses() if addresses else None
        sockets = self.sockets() if addresses else None
        if self.whole:
            return wire.Presence(
                joined=list(self.players), whole=True, addresses=busy, sockets=sockets
            )
        return wire.Presence(
            joined=sorted(self.joined), left=sorted(self.left), addresses=busy, sockets=sockets
        )

    def reported(self) -> None:
        """The report is on its way: what it carried is no longer news."""
        self.joined.clear()
        self.left.clear()
        self.whole = False

    def busy_addresses(self) -> dict[str, int]:
        """Addresses holding a sixteenth of the cap here or more: below that, even 16 gateways
        together stay under the cap, so only these need counting across gateways."""
        least = max(1, self.connection_cap // 16)
        return {address: n for address, n in self.connections.items() if n >= least}

    def take_elsewhere(self, addresses: dict[str, dict[str, int]]) -> None:
        """The engine's per-address counts of every gateway: keep what the others hold."""
        elsewhere = {}
        for address, held in addresses.items():
            others = sum(n for gateway, n in held.items() if gateway != self.gateway)
            if others:
                elsewhere[address] = others
        self.elsewhere.clear()  # in place: the server's limits hold this very dict
        self.elsewhere.update(elsewhere)
