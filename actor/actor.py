"""The one asyncio task that owns the game state (SPEC §2), in the manner of a GenServer.

Callers ``call`` (and await a reply) or ``cast`` (fire and forget) command dicts into the mailbox.
Each turn drains up to ``max_batch`` messages, stamps them with one ``now``, applies them in
order, hands the turn's journal records to ``on_commit`` in one piece (group commit) *before* any
reply is released, and then publishes a new immutable ``Board`` if anything changed. Readers use
``actor.board`` and never enter the mailbox. The round timer is a ``tick`` message the actor's own
ticker sends, so every change to the state happens in this one place.

The actor lives beside ``engine/`` rather than in it because it is the part that knows asyncio;
``engine/`` stays free of I/O and event loops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from actor.clock import Clock
from engine import commands, rounds
from engine.errors import GameError, InvalidRequest, Unavailable
from engine.state import GameState
from engine.view import Board, build_board

log = logging.getLogger("ctb.actor")

Command = dict[str, Any]
CommitHook = Callable[[list[Command]], None]
Listener = Callable[[Board, list[dict[str, Any]]], None]
Exclusive = Callable[[GameState], Any]

_STOP = object()


class Actor:
    """Owner of a ``GameState``; the only code that touches it once the actor is running."""

    def __init__(
        self,
        state: GameState,
        clock: Clock,
        *,
        on_commit: CommitHook | None = None,
        max_batch: int = 1024,
        tick_interval: float | None = 0.1,
    ) -> None:
        self._state = state
        self._clock = clock
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._tick_interval = tick_interval
        self._mailbox: asyncio.Queue[Any] = asyncio.Queue()
        self._listeners: list[Listener] = []
        self._online = 0
        self._board_version = 0
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.turns = 0
        self.last_turn_seconds = 0.0
        self.turn_observers: list[Callable[[float, int], None]] = []
        self.board: Board = build_board(state, 0, 0)

    # -- the public face: thin wrappers that put a message in the mailbox ------------------

    async def call(self, cmd: Command) -> Any:
        """Apply a mutation or run a query in the actor's turn; raises its GameError."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._mailbox.put_nowait((cmd, future))
        return await future

    def cast(self, cmd: Command) -> None:
        self._mailbox.put_nowait((cmd, None))

    async def exclusive(self, fn: Exclusive) -> Any:
        """Run ``fn(state)`` inside a turn: for readers that need the live state (snapshots)."""
        return await self.call({"op": "_exclusive", "fn": fn})

    def subscribe(self, listener: Listener) -> None:
        """``listener(board, events)`` runs after every turn that published; it must not block."""
        self._listeners.append(listener)

    @property
    def queue_depth(self) -> int:
        return self._mailbox.qsize()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="actor")
        if self._tick_interval is not None:
            self._ticker = asyncio.create_task(
                self._tick_forever(self._tick_interval), name="ticker"
            )

    async def stop(self) -> None:
        """Finish the messages already queued, then end the task."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        if self._task is not None and not self._task.done():
            self._mailbox.put_nowait(_STOP)
            await self._task

    # -- the owner's loop ---------------------------------------------------------------

    async def _tick_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.cast({"op": "tick"})

    async def _run(self) -> None:
        mailbox = self._mailbox
        while True:
            batch = [await mailbox.get()]
            while len(batch) < self._max_batch and not mailbox.empty():
                batch.append(mailbox.get_nowait())
            stop = _STOP in batch
            self._turn([m for m in batch if m is not _STOP])
            if stop:
                return

    def _turn(self, batch: list[tuple[Command, asyncio.Future[Any] | None]]) -> None:
        started = time.perf_counter()
        state = self._state
        version_before, online_before = state.version, self._online
        now = self._clock.now()
        records: list[Command] = []
        replies: list[tuple[asyncio.Future[Any] | None, bool, Any]] = []
        for cmd, future in batch:
            try:
                result = self._handle(cmd, now, records)
            except GameError as error:
                replies.append((future, False, error))
            except Exception as error:  # a bug: the caller must hear of it, the actor lives on
                log.exception("command %r failed", cmd.get("op"))
                replies.append((future, False, error))
            else:
                replies.append((future, True, result))
        # A turn without records commits too when it has replies: while the journal is behind
        # on a failed write, even a duplicate answered from memory must not be acknowledged.
        if self._on_commit is not None and (records or any(f is not None for f, _, _ in replies)):
            try:
                self._on_commit(records)
            except Exception:
                log.exception("journal write failed; refusing this turn's acknowledgements")
                failure = Unavailable("the change could not be made durable")
                replies = [(f, False, failure) if ok else (f, ok, r) for f, ok, r in replies]
        for future, ok, value in replies:
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if state.version != version_before or self._online != online_before or state.outbox:
            self._publish()
        self.turns += 1
        self.last_turn_seconds = time.perf_counter() - started
        for observe in self.turn_observers:
            observe(self.last_turn_seconds, len(batch))

    def _handle(self, cmd: Command, now: float, records: list[Command]) -> Any:
        op = cmd.get("op")
        if op in commands.QUERIES:
            return commands.query(self._state, cmd)
        if op == "_exclusive":
            return cmd["fn"](self._state)
        if op == "online":
            self._online = max(0, self._online + cmd["delta"])
            return self._online
        if rounds.is_due(self._state, now):
            tick = {"op": "tick", "now": now}
            commands.apply(self._state, tick)
            records.append(tick)
        if op == "tick":
            return None
        if op not in commands.MUTATIONS:
            raise InvalidRequest(f"unknown command {op!r}")
        stamped = {**cmd, "now": now}
        before = self._state.version
        result = commands.apply(self._state, stamped)
        if self._state.version != before:
            records.append(stamped)
        return result

    def _publish(self) -> None:
        events = self._state.outbox
        self._state.outbox = []
        self._board_version += 1
        self.board = build_board(self._state, self._board_version, self._online)
        for listener in self._listeners:
            try:
                listener(self.board, events)
            except Exception:
                log.exception("board listener failed")
