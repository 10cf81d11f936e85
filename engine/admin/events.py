"""What admins hear as it happens (SPEC §8 "pushes player events"): events put in the outbox.

The engine returns what happened and never sends anything: an admin command (or the detector
when it flags) appends one event to ``state.outbox``; the actor hands the outbox to its
listeners after the turn, and the server's admin hub forwards ``data`` to every admin socket.
The shape keeps admin events apart from round events, which go to the players::

    {"event": "admin", "data": {"kind", "at", ...}, "banned": [ids], "kicked": [ids],
     "changed": [ids]}

``banned`` and ``kicked`` name the players whose open sockets the server must close (4003,
4000): the engine knows exactly who was banned in a turn (a single ban, a batch, a resolved
intervention, a step of a bulk ban), so the server never has to work it out from ``data``.
``changed`` names the players whose own player object the change touched (name, planet, status,
scores: a patch, a ban or unban, a reset, a step of a bulk job), so the server can tell each of
them at once (``server/player_news.py``). None of the three is sent to admins (a bulk step
would send its hundred ids to every admin socket).
The outbox is never saved and a replay's events are dropped, so nothing here is persisted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.state import GameState

ADMIN = "admin"


def emit(
    state: GameState,
    kind: str,
    now: float,
    *,
    banned: Iterable[str] = (),
    kicked: Iterable[str] = (),
    changed: Iterable[str] = (),
    **data: Any,
) -> None:
    """Append one admin event; ``data`` must be plain values (it is encoded as it is)."""
    event: dict[str, Any] = {"event": ADMIN, "data": {"kind": kind, "at": now, **data}}
    for name, ids in (("banned", banned), ("kicked", kicked), ("changed", changed)):
        listed = list(ids)
        if listed:
            event[name] = listed
    state.outbox.append(event)


def is_admin_event(event: dict[str, Any]) -> bool:
    return event.get("event") == ADMIN
