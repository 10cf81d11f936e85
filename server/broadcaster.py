"""The board broadcaster and the registry of open sockets (SPEC §6).

One task wakes every ``BROADCAST_INTERVAL``. When the actor's published board moved since the
last tick it encodes the ``board`` message (the changes against the last board sent,
``server/board_changes.py``) once per subprotocol and writes those same frame bytes to every
socket, preceded by any ``round`` events the actor reported since.

Why the writes never wait: awaiting one client's send inside the loop over clients would let the
slowest reader set everyone's pace (python-websockets, "broadcast"). Each write goes straight to
the socket's transport, which sends at once or buffers; a client whose unsent buffer stays over
``buffer_limit`` for more than ``slow_ticks`` ticks misses those boards (it sees the gap at the
next board it gets and asks for ``resync``) and is then closed with 1013. The loop yields to the
event loop every ``slice_size`` sockets so acks are not starved while a board goes out to
thousands of clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from actor.actor import Online
from bus.link import GameLink
from engine.view import Board
from server import ws_protocol as proto
from server.board_changes import board_message
from server.gc_policy import GcPolicy
from server.metrics import Metrics
from server.models import Message
from server.overload import Overload

log = logging.getLogger("ctb.ws")

# RFC 6455 §7.4 and the registered range: why a socket was closed.
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BANNED = 4003
CLOSE_KICKED = 4000


@dataclass(slots=True, eq=False)  # eq=False: hashed by identity, kept in sets
class Conn:
    """One open socket: where to write, whose it is, and how it is doing.

    Every reply and snapshot goes through ``write``, boards through ``Broadcaster.fan_out``;
    both hold the socket to ``limit`` unsent bytes (``WS_BUFFER_LIMIT``), so a client that does
    not read costs at most that much memory however fast it asks for replies.
    """

    ws: web.WebSocketResponse
    transport: asyncio.Transport
    player_id: str
    codec: proto.Codec
    limit: int = 1024 * 1024
    on_slow: Callable[[Conn], None] | None = None  # closes the socket with 1013
    over_ticks: int = 0
    closing: bool = False
    reason: str | None = None
    close_code: int | None = None  # the code we closed with, when we closed first
    held: bool = False  # reading paused until the client reads what we sent
    bad: deque[float] | None = None  # times of recent bad messages; made at the first one
    resync_tokens: float = -1.0  # -1: a full bucket on first use (``ws_messages.on_resync``)
    resync_at: float = 0.0
    closer: asyncio.Task[None] | None = None
    heard: bool = True  # a frame came since the heartbeat's last sweep (server/heartbeat.py)
    quiet: int = 0  # the heartbeat's sweeps in a row without a frame
    pushing: bool = False  # a push of this socket waits for its turn (``ws_messages.on_clicks``)
    pushed: asyncio.Future[None] | None = None  # the next message waits here for that reply

    def write(self, data: bytes) -> bool:
        """Write a ready frame without waiting; False when the socket is going away or slow."""
        transport = self.transport
        if self.closing or self.ws.closed or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > self.limit:
            # A reply cannot be skipped the way a board can (an ack would be lost): close.
            self.hold()
            if self.on_slow is not None:
                self.on_slow(self)
            return False
        transport.write(data)
        return True

    def send(self, message: Message) -> bool:
        return self.write(proto.encode_frame(self.codec, message))

    async def push_answered(self) -> None:
        """Return once the push in flight is answered: a socket's messages are answered in the
        order they came, and one client never has more than one push in the actor's mailbox."""
        if self.pushing:
            self.pushed = asyncio.get_running_loop().create_future()
            await self.pushed

    def push_settled(self) -> None:
        """The push in flight has its reply: let the socket's next message through."""
        self.pushing = False
        waiter, self.pushed = self.pushed, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def hold(self) -> None:
        """Stop reading a client over its limit: what it asks for would only queue more."""
        if not self.held:
            self.held = True
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.pause_reading()

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.resume_reading()


@dataclass(slots=True)
class Broadcaster:
    actor: GameLink
    metrics: Metrics
    interval: float
    buffer_limit: int = 1024 * 1024  # the same limit as each Conn's
    slow_ticks: int = 2
    slice_size: int = 512
    close_timeout: float = 2.0
    abort_after: float = 10.0
    conns: dict[Conn, None] = field(default_factory=dict)  # insertion-ordered set
    by_player: dict[str, set[Conn]] = field(default_factory=dict)
    accepting: bool = True
    sent: Board | None = None  # the last board sent: snapshots show it, changes build on it
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    closers: set[asyncio.Task[None]] = field(default_factory=set)
    overload: Overload | None = None  # stretches the interval and says when to refuse new work
    gc_policy: GcPolicy | None = None  # freezes the heap as sockets open (server/gc_policy.py)
    fanned_out: list[asyncio.Future[None]] = field(default_factory=list)  # ``after_fan_out``

    # -- the registry ---------------------------------------------------------------------

    # ``online`` counts players with at least one open socket, not sockets (SPEC §6 board):
    # the actor hears of a player's first socket and of the last one going.

    def add(self, conn: Conn) -> None:
        self.conns[conn] = None
        mine = self.by_player.setdefault(conn.player_id, set())
        if not mine:
            self.actor.cast(Online(delta=1, player_id=conn.player_id))
        mine.add(conn)

    def remove(self, conn: Conn) -> None:
        if conn not in self.conns:
            return  # removed already (closing starts with it; the handler ends with it)
        del self.conns[conn]
        if self.gc_policy is not None:
            self.gc_policy.socket_closed()
        mine = self.by_player[conn.player_id]
        mine.discard(conn)
        if not mine:
            del self.by_player[conn.player_id]
            self.actor.cast(Online(delta=-1, player_id=conn.player_id))

    def close(self, conn: Conn, code: int, reason: str, message: str = "") -> None:
        """Start closing ``conn`` without waiting for it; the first reason given wins."""
        if not self._end(conn, reason, code):
            return
        task = conn.closer = asyncio.create_task(self._close(conn, code, message))
        self.closers.add(task)
        task.add_done_callback(self.closers.discard)

    def cut(self, conn: Conn, reason: str) -> None:
        """End ``conn`` at once with no close frame: its peer no longer answers (heartbeat)."""
        if self._end(conn, reason, None):
            conn.transport.abort()

    def _end(self, conn: Conn, reason: str, code: int | None) -> bool:
        """Mark ``conn`` as ending and unregister it; False if it was ending already."""
        if conn.closing:
            return False
        conn.closing, conn.reason, conn.close_code = True, reason, code
        self.remove(conn)
        return True

    async def _close(self, conn: Conn, code: int, message: str) -> None:
        """Send the close frame and wait a little for the client's reply.

        A client that does not read never replies: its transport is closed (which still
        flushes what is buffered, the close frame last, so a late reader learns the code) and
        cut for good ``abort_after`` seconds later, so a dead peer cannot hold the buffer.
        """
        try:
            await asyncio.wait_for(
                conn.ws.close(code=code, message=message.encode()), self.close_timeout
            )
        except (TimeoutError, ConnectionError):
            pass
        finally:
            transport = conn.transport
            if not transport.is_closing():
                transport.close()
            asyncio.get_running_loop().call_later(self.abort_after, transport.abort)

    def close_player(self, player_id: str, code: int, reason: str) -> int:
        """Close every socket of one player (a ban, a kick); returns how many were open."""
        mine = list(self.by_player.get(player_id, ()))
        for conn in mine:
            self.close(conn, code, reason, reason)
        return len(mine)

    async def close_all(self, code: int, reason: str) -> None:
        """Close every socket and wait for the closes to finish (shutdown)."""
        self.accepting = False
        for conn in list(self.conns):
            self.close(conn, code, reason, reason)
        if self.closers:
            await asyncio.gather(*self.closers, return_exceptions=True)

    # -- the task -------------------------------------------------------------------------

    def on_turn(self, events: list[dict[str, Any]]) -> None:
        """GameLink listener: keep round events for the next tick (it must not block the actor)."""
        if events:
            # Admin events are for the admin hub (server/admin/ws.py), never for players.
            self.pending_events.extend(e for e in events if e.get("event") != "admin")

    async def run(self) -> None:
        """Tick every interval; while fan-outs overrun it, the interval stretches (overload)."""
        loop = asyncio.get_running_loop()
        interval = self.interval
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay < 0:  # a tick overran: skip the missed ones instead of bursting
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(delay)
            woke = loop.time()
            try:
                await self.tick()
            except Exception:
                log.exception("broadcast failed", extra={"event": "ws_broadcast_error"})
            if self.overload is not None:
                busy = loop.time() - woke
                interval = self.overload.after_tick(busy, woke - next_at, loop.time())

    def held_board(self) -> Board:
        """The board every registered client holds, or will once the tick under way is out.

        A snapshot shows this board rather than the actor's newest one, so the next board's
        changes build on the version a new client holds (SPEC §6). It is at most one tick old.
        """
        if self.sent is None:
            self.sent = self.actor.board
        return self.sent

    async def tick(self) -> None:
        """Send pending round events and, if the board moved, its changes: once to everyone."""
        if self.gc_policy is not None:
            self.gc_policy.check(len(self.conns))
        board = self.actor.board
        base = self.held_board()
        events, self.pending_events = self.pending_events, []
        if board.version == base.version and not events:
            return
        messages: list[Any] = [proto.round_message(event) for event in events]
        if board.version != base.version:
            # The engine's own frames when another process encoded them (SPEC §11), else ours.
            ready = self.actor.board_frames(base, board)
            messages.append(board_message(base, board) if ready is None else ReadyFrames(ready))
            self.sent = board  # before the first await: a client joining now gets this one
        await self.fan_out(messages)
        waiting, self.fanned_out = self.fanned_out, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)

    async def after_fan_out(self, longest: float) -> None:
        """Return once the next fan-out has ended, or after ``longest`` seconds without one.

        The snapshot's fork waits for this: the child then lives in the quiet part of the
        interval, not across the next fan-out, which would copy every page it touches.
        """
        waiter = asyncio.get_running_loop().create_future()
        self.fanned_out.append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, longest)

    async def fan_out(self, messages: list[Any]) -> None:
        """Write the same bytes to every socket, never waiting on one, yielding between slices.

        The messages are encoded once per subprotocol that someone speaks; the loop over
        sockets does nothing but checks and one non-blocking ``transport.write`` each.
        """
        started = time.perf_counter()
        sent = skipped = 0
        limit, slow_ticks, slice_size = self.buffer_limit, self.slow_ticks, self.slice_size
        by_codec: dict[str, list[Conn]] = {}
        for conn in self.conns:
            by_codec.setdefault(conn.codec.name, []).append(conn)
        countdown = slice_size
        for conns in by_codec.values():
            codec = conns[0].codec
            data = b"".join(
                m.frames[codec.name] if type(m) is ReadyFrames else proto.encode_frame(codec, m)
                for m in messages
            )
            for conn in conns:
                countdown -= 1
                if not countdown:
                    countdown = slice_size
                    await asyncio.sleep(0)  # let acks and reads run between slices
                transport = conn.transport
                if conn.closing or transport.is_closing() or conn.ws.closed:
                    skipped += 1
                    continue
                if transport.get_write_buffer_size() > limit:
                    skipped += 1  # skipped: the client will see a gap at its next board and resync
                    conn.hold()
                    conn.over_ticks += 1
                    if conn.over_ticks > slow_ticks:
                        self.drop_slow(conn)
                    continue
                if conn.over_ticks:
                    conn.over_ticks = 0
                    conn.release()
                transport.write(data)
                sent += 1
        metrics = self.metrics
        if sent:
            metrics.ws_broadcast_total.inc(sent)
        if skipped:
            metrics.ws_broadcast_fail_total.inc(skipped)
        seconds = time.perf_counter() - started
        metrics.ws_fanout_seconds.observe(seconds)
        log.debug(
            "broadcast",
            extra={"event": "ws_broadcast", "sent": sent, "skipped": skipped, "ms": seconds * 1e3},
        )

    def drop_slow(self, conn: Conn) -> None:
        log.warning(
            "dropping a client that does not read",
            extra={
                "event": "ws_broadcast_fail",
                "reason": "slow",
                "player_id": conn.player_id,
                "buffered": conn.transport.get_write_buffer_size(),
            },
        )
        self.close(conn, CLOSE_TRY_AGAIN_LATER, "slow", "too slow to read")


@dataclass(slots=True, frozen=True)
class ReadyFrames:
    """A message already encoded, a frame per subprotocol: forwarded as it is."""

    frames: dict[str, bytes]


BROADCASTER = web.AppKey("broadcaster", Broadcaster)
