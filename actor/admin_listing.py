"""The admin's player listing, served without stalling the game (SPEC §8).

At a million players a listing is tens of milliseconds of numpy work. Run inside the actor's
turn, 14 listings a second moved the players' push p50 from 3 ms to 248 ms: every push waited
for the listing ahead of it. So only small pieces of a listing run in turns now:

1. ``prepare_step`` (``engine/admin/index_copy.py``) between turns, until the listing's copy of the
   index equals the index: a few milliseconds a step, one step when the last listing was
   recent. The keys a start-up deferred are built the same way (``warm_up``), so no listing and
   no bulk filter builds them in one turn.
2. ``select`` over the copy, in a thread of its own. numpy releases the interpreter's lock
   while it works on large arrays, so the event loop and the actor go on meanwhile; the copy is
   written only by the next preparation, which waits for the selection to end.
3. ``rows``, the page's players with their ranks, between turns, as many as ``ROWS_STEP`` of
   CPU builds (CPU time, so a busy machine does not shrink the steps to nothing).

Listings that arrive while one is under way wait, and are then answered together: one
preparation, their selections one after the other in the thread, their rows in shared steps.
More than ``MAX_WAITING`` waiting means the game's thread cannot keep up with the admins: a new
listing gets 429 at once rather than a place at the end of a queue that only grows.

Why a thread and not the turns themselves in slices: a thread's share of the cores is its own.
On a machine with a core to spare the selection runs there; on a busy one the kernel shares the
cores between threads, so the game's thread keeps about the share it had, where slices between
turns would take every millisecond of the listing out of the game thread's share. The selection
holds the interpreter's lock only between numpy calls (microseconds each), so the game's
thread hardly waits for it.

A listing sees every change acknowledged before it was asked (the preparation comes after), and
its rows are the players as they are when the rows are built, a few milliseconds later. Before
any of it, ``server/admin/api.py`` charges the admin's read budget with the listing's estimated
cost (``admin_query.cost``, ``server/admin/auth.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from actor.actor import Actor
from engine.admin import index_copy
from engine.admin import query as admin_query
from engine.admin.index_copy import IndexCopy
from engine.admin.query import PlayerQuery
from engine.errors import GameError, RateLimited, Unavailable
from engine.state import GameState

log = logging.getLogger("ctb.admin")

ROWS_STEP = 3e-3  # seconds of CPU a turn spends on rows: about 90 of them at a million players
ROWS_AT_ONCE = 16  # rows built between two looks at the clock
MAX_WAITING = 16  # listings waiting for the one under way; more get 429 at once
WARM_UP_AFTER = 5.0  # seconds after start-up: the players reconnecting come first


Waiting = list[tuple[PlayerQuery, "asyncio.Future[dict[str, Any]]"]]


@dataclass(slots=True)
class AdminListing:
    """Answers listings, those that arrive together as one batch over one preparation."""

    actor: Actor
    executor: ThreadPoolExecutor
    copy: IndexCopy = field(default_factory=IndexCopy)
    waiting: Waiting = field(default_factory=list)
    server: asyncio.Task[None] | None = None  # the task answering batches, while there are any

    async def run(self, query: PlayerQuery) -> dict[str, Any]:
        """The listing's reply, as ``admin_query.list_players`` would give it in one turn."""
        if len(self.waiting) >= MAX_WAITING:
            raise RateLimited("too many listings are waiting; try again shortly", 1.0)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append((query, future))
        if self.server is None or self.server.done():
            self.server = asyncio.create_task(self._serve(), name="admin-listing")
        return await future

    async def _serve(self) -> None:
        batch: Waiting = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    await self._answer(batch)
                except Exception as error:  # the game stopping (Unavailable), or a bug
                    if not isinstance(error, GameError):
                        log.exception("admin listing failed", extra={"event": "admin_error"})
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
        finally:  # cancelled at shutdown: no request is left waiting for an answer
            for _, future in [*batch, *self.waiting]:
                if not future.done():
                    future.set_exception(Unavailable("the game is stopping"))

    async def _answer(self, batch: Waiting) -> None:
        started = time.perf_counter()
        copy, names = self.copy, any(query.search is not None for query, _ in batch)
        while not await self.actor.between_turns(
            lambda state: index_copy.prepare_step(state, copy, names)
        ):
            pass
        queries = [query for query, _ in batch]
        loop = asyncio.get_running_loop()
        selected = await loop.run_in_executor(self.executor, select_all, copy, queries)
        slots = [
            slot for found in selected if not isinstance(found, GameError) for slot in found[0]
        ]
        players: list[dict[str, Any]] = []
        while len(players) < len(slots):
            start = len(players)
            players += await self.actor.between_turns(
                partial(rows_for_a_turn, slots=slots, start=start)
            )
        elapsed = (time.perf_counter() - started) * 1000
        taken = 0
        for (query, future), found in zip(batch, selected, strict=True):
            if isinstance(found, GameError):
                if not future.done():
                    future.set_exception(found)
                continue
            page, total = found
            rows, taken = players[taken : taken + len(page)], taken + len(page)
            if not future.done():  # not given up on by its request
                future.set_result(admin_query.reply(query, rows, total, elapsed))

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


def rows_for_a_turn(state: GameState, slots: list[int], start: int) -> list[dict[str, Any]]:
    """The rows of ``slots`` from ``start`` on, as many as ``ROWS_STEP`` of CPU builds."""
    spent = time.thread_time() + ROWS_STEP
    found: list[dict[str, Any]] = []
    while start < len(slots):
        found += admin_query.rows(state, slots[start : start + ROWS_AT_ONCE])
        start += ROWS_AT_ONCE
        if time.thread_time() > spent:
            break
    return found


def select_all(
    copy: IndexCopy, queries: list[PlayerQuery]
) -> list[tuple[list[int], int] | GameError]:
    """Each query's page and total on the copy, or its refusal (an unknown planet)."""
    found: list[tuple[list[int], int] | GameError] = []
    for query in queries:
        try:
            found.append(admin_query.select(copy, copy.round_id, query))
        except GameError as error:
            found.append(error)
    return found
