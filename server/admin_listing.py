"""The admin's player listing, served without stalling the game (SPEC §8).

At a million players a listing is tens of milliseconds of numpy work. Run inside the actor's
turn, 14 listings a second moved the players' push p50 from 3 ms to 248 ms: every push waited
for the listing ahead of it. So only small pieces of a listing run in turns now:

1. ``prepare_step`` (``engine/index_copy.py``) between turns, until the listing's copy of the
   index equals the index: a few milliseconds a step, one step when the last listing was
   recent. The keys a start-up deferred are built the same way (``warm_up``), so no listing and
   no bulk filter builds them in one turn.
2. ``select`` over the copy, in a thread of its own. numpy releases the interpreter's lock
   while it works on large arrays, so the event loop and the actor go on meanwhile; the copy is
   written only by the next listing's preparation, and listings run one at a time.
3. ``rows``, the page's players with their ranks, between turns, ``ROWS_STEP`` at a time.

A listing sees every change acknowledged before it was asked (the preparation comes after), and
its rows are the players as they are when the rows are built, a few milliseconds later. Before
any of it, ``server/admin_api.py`` charges the admin's read budget with the listing's estimated
cost (``admin_query.cost``, ``server/admin_auth.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from actor.actor import Actor
from engine import admin_query, index_copy
from engine.admin_query import PlayerQuery
from engine.index_copy import IndexCopy
from engine.state import GameState
from server.keys import ACTOR

log = logging.getLogger("ctb.admin")

ROWS_STEP = 64  # players' objects built a turn: about 3 ms at a million players
WARM_UP_AFTER = 5.0  # seconds after start-up: the players reconnecting come first


@dataclass(slots=True)
class AdminListing:
    actor: Actor
    executor: ThreadPoolExecutor
    copy: IndexCopy = field(default_factory=IndexCopy)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one listing reads the copy

    async def run(self, query: PlayerQuery) -> dict[str, Any]:
        """The listing's reply, as ``admin_query.list_players`` would give it in one turn."""
        async with self.lock:
            started = time.perf_counter()
            copy, names = self.copy, query.search is not None
            while not await self.actor.between_turns(
                lambda state: index_copy.prepare_step(state, copy, names)
            ):
                pass
            loop = asyncio.get_running_loop()
            page, total = await loop.run_in_executor(
                self.executor, admin_query.select, copy, copy.round_id, query
            )
            players: list[dict[str, Any]] = []
            for start in range(0, len(page), ROWS_STEP):
                chunk = page[start : start + ROWS_STEP]
                players += await self.actor.between_turns(
                    lambda state, chunk=chunk: admin_query.rows(state, chunk)
                )
            elapsed = (time.perf_counter() - started) * 1000
        return admin_query.reply(query, players, total, elapsed)

    async def warm_up(self, delay: float = WARM_UP_AFTER) -> None:
        """Build the keys a loaded game deferred, a step between turns at a time."""
        await asyncio.sleep(delay)

        def step(state: GameState) -> bool:
            return state.index.key_step(index_copy.KEY_STEP)

        try:
            while not await self.actor.between_turns(step):
                pass
        except Exception:  # the first listing builds what is left
            log.exception("building the listing's keys failed", extra={"event": "admin_error"})


ADMIN_LISTING = web.AppKey("admin_listing", AdminListing)


async def admin_listing_ctx(app: web.Application) -> AsyncIterator[None]:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admin-listing")
    listing = app[ADMIN_LISTING] = AdminListing(app[ACTOR], executor)
    warm_up = asyncio.create_task(listing.warm_up(), name="admin-keys")
    yield
    warm_up.cancel()
    await asyncio.gather(warm_up, return_exceptions=True)
    executor.shutdown(wait=True, cancel_futures=True)
