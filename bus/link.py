"""The seam between ``server/`` and the game (SPEC §11): the one interface the server holds.

``server/`` sends commands and awaits their replies, reads the latest published board and
hears the game's events through a ``GameLink``, and through nothing else. Two implementations:

- ``bus/local.py``: the game in this process, the actor itself (the single process, SPEC §1-10,
  and the engine process of §11);
- ``bus/gateway.py``: the game in another process, reached over Redis (a gateway, §11).

Nothing else in ``server/`` knows which it has. What the two differ in is stated here: a remote
game's ``running`` and ``not_ready`` follow the engine and Redis being reachable, and a call to it
that is not answered in time is ``unavailable`` (503) rather than a wait without end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from engine.admin.query import PlayerQuery
from engine.view import Board

# Called once with the outcome, after the turn's commit: (value, None) or (None, the error).
Reply = Callable[[Any, BaseException | None], None]
# ``listener(events)`` after every turn that changed the game: its round and admin events.
Listener = Callable[[list[dict[str, Any]]], None]
# ``observe(seconds, messages)`` after every turn (local) or batch of replies (remote).
TurnObserver = Callable[[float, int], None]


class GameLink(Protocol):
    """What the server holds of the game, wherever the game runs."""

    @property
    def turn_observers(self) -> list[TurnObserver]:
        """Called after every turn (local) or batch of replies (remote); append to it."""
        ...

    @property
    def board(self) -> Board:
        """The latest published board: public reads and snapshots, never the live state."""
        ...

    @property
    def running(self) -> bool:
        """Commands can be sent now (the actor runs; for a gateway, the engine answers)."""
        ...

    @property
    def not_ready(self) -> str | None:
        """Why a load balancer should send this process nothing now, or None (``/readyz``)."""
        ...

    async def call(self, cmd: Any) -> Any:
        """Apply ``cmd`` in a turn; its result once the turn is durable, or its GameError."""
        ...

    def send(self, cmd: Any, reply: Reply) -> None:
        """``call`` without a future: ``reply`` runs after the commit and must not block."""
        ...

    def cast(self, cmd: Any) -> None:
        """Apply ``cmd`` and hear nothing back (presence)."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Hear every turn's events; ``listener`` must not block."""
        ...

    async def list_players(self, query: PlayerQuery) -> dict[str, Any]:
        """The admin's player listing, run beside the game's turns (``server/admin/listing.py``)."""
        ...

    @property
    def behind(self) -> str | None:
        """Why new sessions and sockets should wait (the engine falls behind), or None."""
        ...

    async def admit_session(self, address: str) -> None:
        """Count a new session from ``address`` across every process; RateLimited if over."""
        ...

    def board_frames(self, base: Board, board: Board) -> dict[str, bytes] | None:
        """Frames, per subprotocol, that take a client from ``base`` to ``board`` as the engine
        encoded them once; None when there are none to forward (the server encodes its own)."""
        ...

    def engine_figures(self) -> dict[str, Any]:
        """The engine's own figures for the admin: its queue, turns and persistence."""
        ...
