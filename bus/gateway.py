"""The game in another process, over Redis (SPEC §11): the gateway's ``GameLink``.

A gateway holds sockets and nothing of the game. Its calls go to the engine on the command
stream, a pass of the event loop's calls in one entry (``bus/redis_io.py``), each with a call id
the engine's reply carries back on this gateway's own reply stream. Boards and events come by
pub/sub; the engine's heartbeat says it is alive, what its figures are and whether it is ready.

Nothing waits without a bound. While Redis is cut off or the engine has not been heard from for
``ENGINE_SILENCE`` seconds the link is not ``running``: new calls are refused at once with
``unavailable`` (503 with Retry-After), and calls already sent are answered ``unavailable`` once
``CALL_TIMEOUT`` passes without a reply. Sockets stay open meanwhile; play resumes by itself when
both are back. A call whose reply was lost may still have been applied: the client's retry
carries the same ``batch_id``, so nothing counts twice.

Board order (r/place's): subscribe first, then read the newest publication, then take what
arrives; ``bus/board_feed.py`` drops what the read already covered. The board held here is
always a whole board, so the broadcaster's changes from what its clients hold are never partial,
whatever went missing in between (a gap, a new epoch). When the publications since the board the
clients hold chain without a gap, the engine's ready frames go out unchanged
(``board_frames``), and the gateway encodes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from actor.actor import Online, settle
from bus import keys, wire
from bus.board_feed import Action, BoardFeed
from bus.gateway_presence import GatewayPresence
from bus.link import Listener, Reply, TurnObserver
from bus.redis_io import Appender, Health, Writer, connect, stop_if_cancelled, unreachable
from bus.stream_reader import StreamReader
from bus.subscriber import Subscriber
from engine.admin.query import PlayerQuery
from engine.errors import Unavailable
from engine.view import Board

log = logging.getLogger("ctb.bus")

CALL_TIMEOUT = 3.0  # seconds a call waits for its reply before it is answered 503
ENGINE_SILENCE = 2.0  # seconds without the engine's heartbeat before it counts as gone
PRESENCE_EVERY = 1.0  # seconds between two presence reports (also the gateway's heartbeat)
KEPT_PUBLICATIONS = 64  # recent publications whose frames may still be forwarded
# Backpressure (SPEC §11): past either mark the engine is behind, and the gateway refuses new
# sessions and sockets (503) before the command stream can grow without bound.
SHED_LATENCY = 0.5  # seconds: the smoothed time from a call to its reply
SHED_PENDING = 20_000  # calls waiting for a reply on this gateway
SMOOTHING = 0.05  # weight of one reply in the smoothed latency


class RemoteGame:
    """``GameLink`` over Redis; ``start`` connects and joins, ``stop`` leaves."""

    def __init__(self, url: str, gateway: str, shed_latency: float = SHED_LATENCY) -> None:
        self.url, self.gateway, self.shed_latency = url, gateway, shed_latency
        self.health = Health()
        self.writer = Writer(connect(url, f"ctb-{gateway}-writer"), self.health, "gateway-writer")
        self.calls: Appender[wire.Call] = self.writer.appender(
            keys.COMMANDS, keys.COMMAND_CAP, partial_calls(gateway), self._lost
        )
        self.reader = StreamReader(
            connect(url, f"ctb-{gateway}-replies", block=0.5),
            self.health,
            keys.replies(gateway),
            count=256,
            block=0.5,
            name="gateway-replies",
        )
        self.subscriber = Subscriber(
            connect(url, f"ctb-{gateway}-sub"),
            self.health,
            [keys.BOARDS, keys.EVENTS, keys.ENGINE],
            self._on_message,
            self._on_join,
            name="gateway-sub",
        )
        self.feed = BoardFeed()
        self.recent: deque[wire.Publication] = deque(maxlen=KEPT_PUBLICATIONS)
        self._board: Board | None = None
        # Call ids start at random: a gateway restarted under the same name reads the same reply
        # stream, and a late reply to its former life must not match a call of this one.
        self._ids = itertools.count(secrets.randbits(52) + 1)
        self.pending: dict[int, tuple[float, Reply]] = {}
        self._turn_observers: list[TurnObserver] = []
        self._listeners: list[Listener] = []
        self.alive: dict[str, Any] = {}
        self.heard_at = float("-inf")  # the engine's last heartbeat (monotonic)
        self.epoch: int | None = None
        self.presence = GatewayPresence(gateway)
        self.timeouts = 0
        self.sent = 0  # calls sent
        self.answered = 0
        self.latency = 0.0  # smoothed seconds from a call to its reply
        self._tasks: list[asyncio.Task[None]] = []

    # -- the seam ----------------------------------------------------------------------------

    @property
    def turn_observers(self) -> list[TurnObserver]:
        return self._turn_observers

    @property
    def board(self) -> Board:
        if self._board is None:
            raise Unavailable("the game's board has not arrived yet")
        return self._board

    @property
    def engine_heard(self) -> bool:
        return time.monotonic() - self.heard_at < ENGINE_SILENCE

    @property
    def running(self) -> bool:
        return self.health.reachable and self.engine_heard and self._board is not None

    @property
    def not_ready(self) -> str | None:
        if not self.health.reachable:
            return "the game's message bus (Redis) is not reachable"
        if not self.engine_heard:
            return "the game's engine is not answering"
        if self._board is None:
            return "the game's board has not arrived yet"
        problem: str | None = self.alive.get("not_ready")
        return problem

    async def call(self, cmd: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.send(cmd, partial(settle, future))
        return await future

    def send(self, cmd: Any, reply: Reply) -> None:
        if not self.running:
            reply(None, self._unavailable())
            return
        call_id = next(self._ids)
        try:
            self.calls.add((call_id, cmd))
        except Unavailable as error:
            reply(None, error)
            return
        self.pending[call_id] = (time.monotonic() + CALL_TIMEOUT, reply)
        self.sent += 1

    def cast(self, cmd: Any) -> None:
        if type(cmd) is Online:
            self.presence.count(cmd)
            return
        if self.running:
            with contextlib.suppress(Unavailable):
                self.calls.add((wire.CAST, cmd))

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def behind(self) -> str | None:
        """The engine falls behind: the oldest call still waiting, or the smoothed reply time,
        is past the mark, or too many calls wait."""
        if self.pending:
            due, _ = next(iter(self.pending.values()))  # call ids grow: the first is the oldest
            waited = time.monotonic() - (due - CALL_TIMEOUT)
            if waited > self.shed_latency:
                return f"a call has waited {waited:.1f} s for the game's engine"
        if self.latency > self.shed_latency:
            return f"the game's engine answers in {self.latency:.1f} s"
        if len(self.pending) > SHED_PENDING:
            return f"{len(self.pending)} calls wait for the game's engine"
        return None

    async def admit_session(self, address: str) -> None:
        await self.call(wire.AdmitSession(address))

    async def list_players(self, query: PlayerQuery) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(wire.ListPlayers(query))
        return result

    def engine_figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = dict(self.alive.get("figures") or {})
        return figures or {"journal": "unknown"}

    def board_frames(self, base: Board, board: Board) -> dict[str, bytes] | None:
        """The engine's frames taking a client from ``base`` to ``board``: only when every
        publication since the one that brought ``base`` is here and each builds on the one
        before, in the same epoch. The boards are compared by identity, never by version, so a
        new engine's versions can never pass for the old one's. None: the broadcaster builds
        the changes itself from the two whole boards."""
        recent = list(self.recent)
        start = next((at for at, p in enumerate(recent) if p.board is base), None)
        if start is None or recent[-1].board is not board:
            return None
        chain = recent[start + 1 :]
        before = recent[start]
        for publication in chain:
            if publication.epoch != before.epoch or publication.base != before.version:
                return None
            if not publication.frames:
                return None
            before = publication
        if not chain:
            return None
        return {name: b"".join(p.frames[name] for p in chain) for name in chain[0].frames}

    # -- start and stop ----------------------------------------------------------------------

    async def start(self, wait: float = 10.0) -> None:
        """Connect, join, and wait (at most ``wait`` seconds) for the engine's first board and
        heartbeat: the gateway takes its share of the port's connections only once it can
        serve them (the listener binds after this)."""
        self.writer.start()
        self.subscriber.start()
        self._tasks = [
            asyncio.create_task(self.reader.follow(self._on_replies), name="bus-replies"),
            asyncio.create_task(self._sweep_forever(), name="bus-sweep"),
        ]
        deadline = time.monotonic() + wait
        while not self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.running:
            log.warning(
                "the engine is not reachable yet: serving 503 until it is",
                extra={"event": "bus_no_board"},
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.subscriber.close()
        await self.writer.close(timeout=1.0)
        await self.reader.client.aclose()
        for _, reply in self.pending.values():
            reply(None, Unavailable("the gateway is stopping"))
        self.pending.clear()

    # -- what comes back ---------------------------------------------------------------------

    def _on_replies(self, payloads: list[bytes]) -> None:
        pending, answered = self.pending, 0
        latency, now = self.latency, time.monotonic()
        for payload in payloads:
            for call_id, ok, value in wire.decode_replies(payload):
                waiting = pending.pop(call_id, None)
                if waiting is None:
                    continue  # timed out already, or another gateway's before a restart
                answered += 1
                latency += SMOOTHING * (now - (waiting[0] - CALL_TIMEOUT) - latency)
                if ok:
                    waiting[1](value, None)
                else:
                    waiting[1](None, value)
        self.latency, self.answered = latency, self.answered + answered
        for observe in self._turn_observers:
            observe(0.0, answered)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        if channel == keys.BOARDS.encode():
            self._take(wire.decode_publication(data))
        elif channel == keys.EVENTS.encode():
            events = wire.decode_events(data)
            for listener in self._listeners:
                listener(events)
        elif channel == keys.ENGINE.encode():
            self.alive = wire.decode_alive(data)
            self.heard_at = time.monotonic()
            self.presence.take_elsewhere(self.alive.get("addresses") or {})
            epoch = self.alive.get("epoch")
            if epoch != self.epoch and self.epoch is not None:
                self.presence.whole = True  # a new engine: it must hear every player here
            if epoch != self.epoch:
                self.epoch = epoch

    async def _on_join(self) -> None:
        """Subscribed: now read the newest board (what arrives from here on is newer)."""
        try:
            payload = await self.writer.call("GET", keys.LATEST_BOARD)
        except Unavailable:
            return
        if payload is not None:
            self._take(wire.decode_publication(payload))
        self.presence.whole = True

    def _take(self, publication: wire.Publication) -> None:
        action = self.feed.take(publication)
        if action is Action.DROP:
            return
        self.epoch = publication.epoch
        self.recent.append(publication)
        self._board = publication.board

    # -- presence and timeouts ---------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        """Answer calls past their time 503; report presence (the gateway's heartbeat)."""
        next_report = 0.0
        was: str | None = "starting"
        while True:
            stop_if_cancelled()
            now = time.monotonic()
            problem = self.not_ready
            if problem != was:
                log.warning(
                    problem or "the game is reachable",
                    extra={"event": "bus_not_ready" if problem else "bus_ready"},
                )
                was = problem
            late = [call_id for call_id, (due, _) in self.pending.items() if due <= now]
            if late:  # what the smoothed latency must show: these never came back
                self.latency += SMOOTHING * (CALL_TIMEOUT - self.latency)
            elif not self.pending:  # nothing waits: whatever was slow is over
                self.latency *= 0.5
            for call_id in late:
                _, reply = self.pending.pop(call_id)
                self.timeouts += 1
                reply(None, unreachable("the game's engine did not answer in time"))
            presence = self.presence
            if (now >= next_report or presence.changed) and self.health.reachable:
                try:
                    self.calls.add((wire.CAST, presence.report(addresses=now >= next_report)))
                except Unavailable:
                    pass
                else:
                    presence.reported()
                    next_report = now + PRESENCE_EVERY
            await asyncio.sleep(0.1)

    def _lost(self, calls: list[wire.Call], error: BaseException) -> None:
        """Calls whose entry never reached Redis: answer them now, not at their timeout."""
        for call_id, _ in calls:
            waiting = self.pending.pop(call_id, None)
            if waiting is not None:
                waiting[1](None, unreachable())
        if any(type(cmd) is wire.Presence for _, cmd in calls):
            self.presence.whole = True

    def _unavailable(self) -> Unavailable:
        if not self.health.reachable:
            return unreachable()
        return unreachable("the game's engine is not answering")


def default_gateway_id() -> str:
    """A gateway's name on the bus when none is given: unique on the machine and across them."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


def partial_calls(gateway: str) -> Callable[[list[wire.Call]], bytes]:
    def encode(calls: list[wire.Call]) -> bytes:
        return wire.encode_calls(gateway, calls)

    return encode
