"""The game in this process (``GameLink``, ``bus/link.py``): the actor, its store, its listing.

The single process of SPEC §1-10 holds one of these, and so does the engine process of §11,
whose engine host (``bus/engine_host.py``) serves the gateways through it. The hot calls are
the actor's own methods, bound once, so the seam costs a push nothing.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actor.actor import Actor
from actor.admin_listing import AdminListing
from bus.link import TurnObserver
from engine.admin.query import PlayerQuery
from engine.view import Board
from persistence.store import Store


class LocalGame:
    """The actor behind the seam; ``start``/``stop`` run the listing's thread and warm-up."""

    __slots__ = ("_warm_up", "actor", "call", "cast", "listing", "send", "store", "subscribe")

    def __init__(self, actor: Actor, store: Store | None = None) -> None:
        self.actor, self.store = actor, store
        self.call = actor.call
        self.send: Any = actor.send
        self.cast: Any = actor.cast
        self.subscribe: Any = actor.subscribe
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admin-listing")
        self.listing = AdminListing(actor, executor)
        self._warm_up: asyncio.Task[None] | None = None

    @property
    def turn_observers(self) -> list[TurnObserver]:
        return self.actor.turn_observers

    @property
    def board(self) -> Board:
        return self.actor.board

    @property
    def running(self) -> bool:
        return self.actor.running

    @property
    def not_ready(self) -> str | None:
        if not self.actor.running:
            return "the game is not ready"
        return None if self.store is None else self.store.not_ready

    async def list_players(self, query: PlayerQuery) -> dict[str, Any]:
        return await self.listing.run(query)

    @property
    def behind(self) -> str | None:
        return None  # one process: its own overload guard (server/overload.py) says when

    async def admit_session(self, address: str) -> None:
        return None  # one process: the server's own limiter has counted it

    def board_frames(self, base: Board, board: Board) -> dict[str, bytes] | None:
        return None  # one process: the broadcaster encodes each board itself, once

    def engine_figures(self) -> dict[str, Any]:
        actor = self.actor
        return {
            "actor_queue_depth": actor.queue_depth,
            "actor_turn_ms": round(actor.last_turn_seconds * 1e3, 3),
            "actor_turns": actor.turns,
            **persistence_figures(self.store),
        }

    def start(self) -> None:
        """After the actor started: build the listing's deferred keys a step at a time."""
        self._warm_up = asyncio.create_task(self.listing.warm_up(), name="admin-keys")

    async def stop(self) -> None:
        listing = self.listing
        tasks = [t for t in (self._warm_up, listing.server) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        listing.executor.shutdown(wait=True, cancel_futures=True)


def persistence_figures(store: Store | None) -> dict[str, Any]:
    """The snapshot's and the journal's state, as the admin's figures show it."""
    if store is None:
        return {"journal": "unknown"}
    status = store.saver.status
    saved_at = status.last_save_at
    problem = store.write_problem
    return {
        "snapshot_age_seconds": None if saved_at is None else round(time.time() - saved_at, 1),
        "snapshot_bytes": status.last_bytes,
        "snapshot_ms": round(status.last_ms, 1),
        "snapshot_status": status.last_status,
        "journal": "ok" if problem is None else problem,
        "journal_writable": problem is None,
        "data_dir": store.dir_problem or "ok",
    }
