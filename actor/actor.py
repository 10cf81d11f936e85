"""The one asyncio task that owns the game state (SPEC §2), in the manner of a GenServer.

Callers ``call`` (and await a reply), ``send`` (and name a function the reply goes to) or
``cast`` (fire and forget) typed commands (``engine/command_types.py``) into the mailbox. A turn
takes what arrived in the mailbox, lingering up to ``linger`` seconds after the first message so
that what comes over several passes of the event loop is one turn (a ``call`` ends the linger:
its caller waits, and may be one that works in steps), and stamps its mutations with one
``now``. They are written ahead: they go to ``on_commit`` in one piece (group commit)
*before* any of them touches the state, and only once that write succeeded are they applied, in
order, and their replies released. A turn whose write fails applies nothing, publishes nothing
and answers every mutation ``unavailable``: what the server holds in memory is always exactly
what the journal replays.

A reply is a plain function the actor calls after the commit, ``reply(value, None)`` or
``reply(None, error)``: ``call`` resolves a future with it; the WebSocket edge passes one that
writes the ``ack`` to the socket at once, so a push over a socket costs no future and no task
switch of its own. The actor knows nothing of sockets.

Readers use ``actor.board`` and never enter the mailbox. The round timer is a ``tick`` the actor's
own ticker sends; at the start of a turn whose ``now`` is past a deadline the actor journals a
tick record of its own before the turn's mutations, so a replay finishes and starts rounds at the
same points. Bulk jobs are stepped the same way: after a turn, ``BulkStepper`` sends the actor
the next step of a running job (``actor/bulk_stepper.py``). Work that needs the state between
two turns (a snapshot's fork) is a message too: ``between_turns`` runs it after the turn's
commands are applied and its board is published.

The actor lives beside ``engine/`` rather than in it because it is the part that knows asyncio;
``engine/`` stays free of I/O and event loops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, Union

import msgspec

from actor.bulk_stepper import BulkStepper
from actor.clock import Clock
from actor.mailbox import Mailbox
from engine import command_types, commands
from engine.command_types import Command, Tick, stamped
from engine.errors import GameError, InvalidRequest, Unavailable
from engine.state import GameState
from engine.view import Board, build_board

log = logging.getLogger("ctb.actor")

CommitHook = Callable[[list[Command]], None]
# Called once with the outcome, after the turn's commit: (value, None) or (None, the error).
Reply = Callable[[Any, BaseException | None], None]
Listener = Callable[[list[dict[str, Any]]], None]
T = TypeVar("T")
Boundary = Callable[[GameState], Any]

_STOP = object()


class Online(msgspec.Struct, tag_field="op", tag="online", frozen=True):
    """A player's first socket opened (+1) or last one closed (-1): the board's ``online``; the
    actor's, not the game's. ``player_id`` lets a gateway count a player once across gateways."""

    delta: int
    player_id: str = ""


@dataclass(slots=True, frozen=True)
class _BetweenTurns:
    fn: Callable[[GameState], Any]


Message = Command | Online | _BetweenTurns
_WAKE_UP = Tick()  # the ticker's message: the turn itself journals a tick when one is due
# The server builds typed commands; a plain dict (the tests' shorthand) is read at the edge.
_FROM_DICT: Any = Union[(*command_types.MUTATIONS, *command_types.QUERIES, Online)]


def settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """``call``'s reply: resolve the caller's future (unless the caller has gone); the
    gateway's ``call`` over Redis settles its futures with it too (``bus/gateway.py``)."""
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def typed(cmd: Message | dict[str, Any]) -> Message:
    """The message itself, or the typed command a plain dict describes (InvalidRequest if none)."""
    if isinstance(cmd, dict):
        return command_types.parse(cmd, _FROM_DICT)
    return cmd


class Actor:
    """Owner of a ``GameState``; the only code that touches it once the actor is running."""

    def __init__(
        self,
        state: GameState,
        clock: Clock,
        *,
        on_commit: CommitHook | None = None,
        max_batch: int = 1024,
        linger: float = 0.0,
        tick_interval: float | None = 0.1,
        bulk_pace: float | None = 0.0,
    ) -> None:
        self._state = state
        self._clock = clock
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._linger = linger
        self._tick_interval = tick_interval
        self._mailbox: Mailbox[Any] = Mailbox()
        self._listeners: list[Listener] = []
        self._online = 0
        self._board_version = 0
        self._task: asyncio.Task[None] | None = None
        # The loop the actor runs on, once started: ``call`` makes its future there without
        # asking asyncio, whose ``get_running_loop`` costs a getpid system call on Python 3.11.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stopping = False
        self._write_failures = 0  # failed commits in a row: logged once, then counted
        self.turns = 0
        self.last_turn_seconds = 0.0
        # The turn's CPU time, read with ``cpu_clock`` when one is set (``time.thread_time``):
        # what the turn cost the process, apart from time other processes had the core (on a
        # loaded machine the wall time includes theirs). Unset by default: each read is a
        # system call, 2-3 microseconds, two per turn.
        self.cpu_clock: Callable[[], float] | None = None
        self.last_turn_cpu_seconds = 0.0
        self.turn_observers: list[Callable[[float, int], None]] = []
        self._board: Board | None = None
        self._bulk = BulkStepper(state, self._put_own, bulk_pace)
        self.subscribe(self._bulk.heard)

    @property
    def board(self) -> Board:
        """The published state, built when first read after a turn that changed the game.

        Turns come hundreds of times a second under load; the board is read a few times a
        second (each broadcast tick, ``/api/snapshot``), so building it per turn was most of the
        work of publishing. Reading it is safe outside a turn, which is everywhere but inside
        ``_turn``: turns are synchronous.
        """
        if self._board is None:
            self._board = build_board(self._state, self._board_version, self._online)
        return self._board

    # -- the public face: thin wrappers that put a message in the mailbox ------------------

    async def call(self, cmd: Message | dict[str, Any]) -> Any:
        """Apply a mutation or run a query in the actor's turn; raises its GameError.

        A plain dict is still taken, and read into its typed command here, before the mailbox:
        one that fits no command is refused now and never reaches the journal.
        """
        if self._stopping:
            raise Unavailable("the game is stopping")
        message = typed(cmd)
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._mailbox.put((message, partial(settle, future)))
        return await future

    def send(self, cmd: Message, reply: Reply) -> None:
        """Apply ``cmd`` in a turn and hand its outcome to ``reply`` once the turn is committed.

        ``reply`` runs inside the actor's turn: it must not block and must not call the actor
        back. A stopping actor answers ``unavailable`` at once.
        """
        if self._stopping:
            reply(None, Unavailable("the game is stopping"))
            return
        self._mailbox.put((cmd, reply), urgent=False)

    def cast(self, cmd: Message | dict[str, Any]) -> None:
        if not self._stopping:
            self._mailbox.put((typed(cmd), None), urgent=False)

    async def between_turns(self, fn: Callable[[GameState], T]) -> T:
        """Run ``fn(state)`` after a turn's commands are applied and published, before the next.

        At that point the state holds exactly what the journal holds, which is what a snapshot
        taken there needs. Never journaled.
        """
        result: T = await self.call(_BetweenTurns(fn))
        return result

    def subscribe(self, listener: Listener) -> None:
        """``listener(events)`` runs after every turn that changed the game; it must not block.

        ``events`` are the turn's round and admin events; the new state is ``self.board``.
        """
        self._listeners.append(listener)

    @property
    def queue_depth(self) -> int:
        return len(self._mailbox)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="actor")
        if self._tick_interval is not None:
            self._ticker = asyncio.create_task(
                self._tick_forever(self._tick_interval), name="ticker"
            )

    async def stop(self) -> None:
        """Finish the messages already queued, then end the task; later calls are refused."""
        self._bulk.stop()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._mailbox.put(_STOP)
            await self._task

    # -- the owner's loop ---------------------------------------------------------------

    def _put_own(self, cmd: Message, reply: Reply) -> None:
        """A message the actor sends itself (a bulk step), behind what is already waiting."""
        if not self._stopping:
            self._mailbox.put((cmd, reply), urgent=False)

    async def _tick_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.cast(_WAKE_UP)

    async def _run(self) -> None:
        mailbox, loop = self._mailbox, asyncio.get_running_loop()
        while True:
            batch = await mailbox.take(loop, self._max_batch, self._linger)
            stop = _STOP in batch
            self._turn([m for m in batch if m is not _STOP] if stop else batch)
            if stop:
                self._refuse_the_rest()
                return

    def _refuse_the_rest(self) -> None:
        """Answer whatever came in after stop, so no caller waits for a turn that never comes."""
        while self._mailbox:
            message = self._mailbox.take_nowait()
            if message is not _STOP and message[1] is not None:
                _answer(message[1], None, Unavailable("the game is stopping"))

    def _turn(self, batch: list[tuple[Message, Reply | None]]) -> None:
        started, cpu_clock = time.perf_counter(), self.cpu_clock
        cpu_started = 0.0 if cpu_clock is None else cpu_clock()
        state = self._state
        version_before, online_before = state.version, self._online
        now = self._clock.now()
        mutations = commands.MUTATIONS
        records: list[Command] = []
        if commands.is_due(state, now):
            records.append(Tick(now=now))
        for cmd, _ in batch:
            kind = type(cmd)
            if isinstance(cmd, Command) and kind in mutations and kind is not Tick:
                records.append(stamped(cmd, now))
        committed = self._commit(records)
        outcomes: list[tuple[Reply | None, Any, BaseException | None]] = []
        boundary: list[tuple[_BetweenTurns, Reply | None]] = []
        journaled = iter(records)
        if committed and records and type(records[0]) is Tick:
            commands.apply(state, next(journaled))
        for cmd, reply in batch:
            if isinstance(cmd, _BetweenTurns):
                boundary.append((cmd, reply))
                continue
            if isinstance(cmd, Online):  # a socket counted in or out: nothing journaled
                self._online = max(0, self._online + cmd.delta)
                outcomes.append((reply, self._online, None))
                continue
            kind = type(cmd)
            if kind is Tick:  # a wake-up: the turn's own tick record did what was due
                outcomes.append((reply, None, None))
                continue
            handler = mutations.get(kind)
            if handler is not None and not committed:
                outcomes.append((reply, None, Unavailable("the change could not be saved")))
                continue
            try:
                if handler is not None:
                    # A bug here (not a GameError) fails its caller only: its record is in the
                    # journal and the engine is deterministic (time in the record, rules in the
                    # segment's header), so a replay runs the same code to the same half-way
                    # point, and what stays in memory is what a restart rebuilds.
                    outcomes.append((reply, handler(state, next(journaled)), None))
                else:
                    outcomes.append((reply, self._answer_query(cmd), None))
            except GameError as error:
                outcomes.append((reply, None, error))
            except Exception as error:
                log.exception("command %r failed", cmd)
                outcomes.append((reply, None, error))
        for reply, value, failure in outcomes:
            if reply is not None:
                _answer(reply, value, failure)
        if state.version != version_before or self._online != online_before or state.outbox:
            self._publish()
        for cmd, reply in boundary:
            self._run_boundary(cmd, reply)
        self._bulk.after_turn()
        self.turns += 1
        self.last_turn_seconds = time.perf_counter() - started
        if cpu_clock is not None:
            self.last_turn_cpu_seconds = cpu_clock() - cpu_started
        for observe in self.turn_observers:
            observe(self.last_turn_seconds, len(batch))

    def _commit(self, records: list[Command]) -> bool:
        """Write the turn's records before any is applied; False when they could not be."""
        if self._on_commit is None or not records:
            return True
        try:
            self._on_commit(records)
        except Exception as error:
            self._write_failures += 1
            if self._write_failures == 1:
                log.exception(
                    "journal write failed; refusing changes until a write succeeds",
                    extra={"event": "journal_write_failed"},
                )
            else:
                log.debug("journal write failed again: %s", error)
            return False
        if self._write_failures:
            log.warning(
                "journal writable again",
                extra={"event": "journal_recovered", "failed_turns": self._write_failures},
            )
            self._write_failures = 0
        return True

    def _answer_query(self, cmd: Command) -> Any:
        """Answer a query: nothing journaled."""
        if type(cmd) in commands.QUERIES:
            return commands.query(self._state, cmd)
        raise InvalidRequest(f"unknown command {cmd!r}")

    def _run_boundary(self, cmd: _BetweenTurns, reply: Reply | None) -> None:
        try:
            result = cmd.fn(self._state)
        except Exception as error:
            log.exception("between-turns work failed")
            if reply is not None:
                _answer(reply, None, error)
            return
        if reply is not None:
            _answer(reply, result, None)

    def _publish(self) -> None:
        events = self._state.outbox
        self._state.outbox = []
        self._board_version += 1
        self._board = None
        for listener in self._listeners:
            try:
                listener(events)
            except Exception:
                log.exception("board listener failed")


def _answer(reply: Reply, value: Any, error: BaseException | None) -> None:
    """Hand an outcome to its reply; a reply that raises is a bug of its own, logged here."""
    try:
        reply(value, error)
    except Exception:
        log.exception("a reply failed")
