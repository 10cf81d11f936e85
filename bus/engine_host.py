"""The engine's side of the bus (SPEC §11): commands in from every gateway, replies and boards out.

The engine process runs the game as the single process does (actor, journal, snapshot; the
``LocalGame`` of ``bus/local.py``) and, instead of sockets, this host:

- reads the command stream in batches (``XREAD BLOCK`` from the last id, ``COUNT`` bounded) and
  hands each call to the actor as it comes; calls read together land in the same turns, so they
  share one journal write (group commit as in one process);
- answers each call on its gateway's own reply stream from inside the turn, after the commit: an
  ack still means "durable". The replies of one turn to one gateway are one stream entry, sent
  in the next pass of the loop with everything else this pass wrote (``bus/redis_io.py``);
- publishes each tick's board once, with the engine's ``epoch`` and the board's version, and every
  turn's events (round, admin), in order on one connection, so a gateway hears an event before
  the board that follows it;
- counts players once across gateways (``bus/presence.py``) and forgets a gateway that falls
  silent, and runs the admin's listing beside the turns, as the single process does;
- says it is alive twice a second (``keys.ENGINE``), with the figures the admin page shows and
  why it is not ready, if it is not; a gateway that stops hearing it answers 503.

No secret goes to Redis: commands and replies carry player ids and results, never tokens or keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from actor.actor import Online
from bus import keys, wire
from bus.local import LocalGame
from bus.presence import PresenceBook
from bus.redis_io import Appender, Health, Writer, connect, stop_if_cancelled
from bus.stream_reader import StreamReader
from engine.clicks import PushResult
from engine.command_types import CheckedPush
from engine.errors import InvalidRequest, RateLimited
from engine.view import Board
from server.board_changes import board_message
from server.session_limit import SessionLimiter
from server.ws_protocol import CODECS, encode_frame

log = logging.getLogger("ctb.bus")

HEARTBEAT = 0.5  # seconds between two "alive" messages of the engine
# Entries one read takes: each holds up to a gateway's pass of calls (up to 1,024), and a read is
# handed to the actor in one go, so this bounds what one pass of the loop decodes.
READ_ENTRIES = 32
GATEWAY_SILENCE = 5.0  # a gateway not heard from this long is gone, its players with it


@dataclass(slots=True)
class GameCounts:
    """The game's pushes and clicks, every gateway's: the admin's rates on any gateway."""

    pushes: int = 0
    clicks: int = 0  # accepted
    throttled: int = 0


@dataclass(slots=True)
class EngineHost:
    game: LocalGame
    url: str
    epoch: int  # new at every engine start (milliseconds since the epoch at start-up)
    interval: float  # the board's tick (BROADCAST_INTERVAL)
    sessions: SessionLimiter  # SESSIONS_PER_MINUTE per address, over every gateway
    health: Health = field(default_factory=Health)
    presence: PresenceBook = field(default_factory=PresenceBook)
    commands: int = 0  # calls read from the command stream, every gateway's
    counts: GameCounts = field(default_factory=GameCounts)
    writer: Writer | None = None
    reader: StreamReader | None = None
    replies: dict[str, Appender[wire.Reply]] = field(default_factory=dict)
    published: Board | None = None
    latest: bytes | None = None  # the newest publication's bytes
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    listings: set[asyncio.Task[None]] = field(default_factory=set)
    stream_length: int = 0  # entries in the command stream at the last look (XLEN)

    async def start(self) -> None:
        self.writer = Writer(connect(self.url, "ctb-engine-writer"), self.health, "engine-writer")
        self.writer.start()
        self.reader = StreamReader(
            connect(self.url, "ctb-engine-reader", block=0.5),
            self.health,
            keys.COMMANDS,
            count=READ_ENTRIES,
            block=0.5,
            name="engine-reader",
        )
        self.game.subscribe(self._on_turn)
        self.tasks = [
            asyncio.create_task(self.reader.follow(self._handle), name="bus-commands"),
            asyncio.create_task(self._publish_forever(), name="bus-boards"),
            asyncio.create_task(self._heartbeat_forever(), name="bus-heartbeat"),
        ]
        log.info("engine on the bus", extra={"event": "bus_engine_start", "epoch": self.epoch})

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.writer is not None:
            await self.writer.close()
        if self.reader is not None:
            await self.reader.client.aclose()

    # -- commands in, replies out ------------------------------------------------------------

    def _handle(self, payloads: list[bytes]) -> None:
        game, now = self.game, time.monotonic()
        for payload in payloads:
            try:
                gateway, calls = wire.decode_calls(payload)
            except Exception:  # not a batch at all: nobody to answer
                log.warning("unreadable command entry", extra={"event": "bus_bad_entry"})
                continue
            self.commands += len(calls)
            self.presence.heard_from(gateway, now)
            for call_id, cmd in calls:
                kind = type(cmd)
                if kind is wire.Presence:
                    self._presence(gateway, cmd, now)
                elif kind is InvalidRequest:
                    self._answer(gateway, call_id, None, cmd)
                elif kind is wire.AdmitSession:
                    self._admit(gateway, call_id, cmd)
                elif kind is wire.ListPlayers:
                    task = asyncio.create_task(self._list(gateway, call_id, cmd))
                    self.listings.add(task)
                    task.add_done_callback(self.listings.discard)
                elif call_id == wire.CAST:
                    game.cast(cmd)
                else:
                    if kind is CheckedPush:
                        self.counts.pushes += 1
                    game.send(cmd, partial(self._answer, gateway, call_id))

    def _answer(self, gateway: str, call_id: int, value: Any, error: BaseException | None) -> None:
        if type(value) is PushResult:
            counts = self.counts
            counts.throttled += value.throttled
            if not value.duplicate:
                counts.clicks += value.accepted
        if call_id == wire.CAST:
            return
        # Redis cut off: the gateway's call times out and the client retries (same batch_id).
        with contextlib.suppress(Exception):
            self._replies_to(gateway).add(
                (call_id, True, value) if error is None else (call_id, False, error)
            )

    def _replies_to(self, gateway: str) -> Appender[wire.Reply]:
        appender = self.replies.get(gateway)
        if appender is None:
            assert self.writer is not None
            appender = self.replies[gateway] = self.writer.appender(
                keys.replies(gateway), keys.REPLY_CAP, wire.encode_replies
            )
        return appender

    async def _list(self, gateway: str, call_id: int, cmd: wire.ListPlayers) -> None:
        try:
            value = await self.game.list_players(cmd.query)
        except Exception as error:
            self._answer(gateway, call_id, None, error)
        else:
            self._answer(gateway, call_id, value, None)

    def _admit(self, gateway: str, call_id: int, cmd: wire.AdmitSession) -> None:
        try:
            self.sessions.take(cmd.address, time.monotonic())
        except RateLimited as error:
            self._answer(gateway, call_id, None, error)
        else:
            self._answer(gateway, call_id, None, None)

    def _presence(self, gateway: str, presence: wire.Presence, now: float) -> None:
        delta = self.presence.take(gateway, presence, now)
        if delta:
            self.game.cast(Online(delta=delta))

    # -- boards, events, heartbeat out ------------------------------------------------------

    def _on_turn(self, events: list[dict[str, Any]]) -> None:
        if not events or self.writer is None:
            return
        with contextlib.suppress(Exception):  # cut off: a gateway rejoining reads the board
            self.writer.post("PUBLISH", keys.EVENTS, wire.encode_events(events))

    def publication(self, board: Board) -> wire.Publication:
        """The board as every gateway forwards it: frames of its changes in both subprotocols."""
        base = self.published
        if base is None:
            frames: dict[str, bytes] = {}
            base_version = -1
        else:
            message = board_message(base, board)
            frames = {name: encode_frame(codec, message) for name, codec in CODECS.items()}
            base_version = base.version
        return wire.Publication(self.epoch, board.version, base_version, frames, board)

    def publish(self) -> None:
        board = self.game.board
        if self.published is not None and board.version == self.published.version:
            return
        writer = self.writer
        assert writer is not None
        publication = self.publication(board)
        payload = wire.encode_publication(publication)
        writer.post("PUBLISH", keys.BOARDS, payload)
        writer.post("SET", keys.LATEST_BOARD, payload)
        self.published, self.latest = board, payload

    async def _publish_forever(self) -> None:
        while True:
            stop_if_cancelled()
            with contextlib.suppress(Exception):  # cut off: the next tick tries again
                self.publish()
            await asyncio.sleep(self.interval)

    def alive(self) -> dict[str, Any]:
        """What the engine tells every gateway twice a second (never a secret)."""
        figures = self.game.engine_figures()
        counts = self.counts
        figures["game"] = {
            "connections": sum(self.presence.sockets.values()),
            "pushes": counts.pushes,
            "clicks": counts.clicks,
            "throttled": counts.throttled,
        }
        reader = self.reader
        return {
            "epoch": self.epoch,
            "not_ready": self.game.not_ready,
            "figures": figures,
            "online": self.presence.online,
            "commands": self.commands,
            "stream_read": 0 if reader is None else reader.entries,
            "stream_length": self.stream_length,
            "addresses": self.presence.busy_addresses(),
        }

    def _length(self, done: asyncio.Future[Any]) -> None:
        if not done.cancelled() and done.exception() is None:
            self.stream_length = int(done.result())

    async def _heartbeat_forever(self) -> None:
        writer = self.writer
        assert writer is not None
        while True:
            stop_if_cancelled()
            gone, delta = self.presence.forget_silent(time.monotonic(), GATEWAY_SILENCE)
            if gone:
                for gateway in gone:
                    self.replies.pop(gateway, None)
                log.warning(
                    "gateways gone silent", extra={"event": "bus_gateway_lost", "gateways": gone}
                )
            if delta:
                self.game.cast(Online(delta=delta))
            with contextlib.suppress(Exception):
                writer.post("PUBLISH", keys.ENGINE, wire.encode_alive(self.alive()))
                if self.latest is not None:  # for a gateway joining a Redis that came back empty
                    writer.post("SET", keys.LATEST_BOARD, self.latest)
                writer.command("XLEN", keys.COMMANDS).add_done_callback(self._length)
            await asyncio.sleep(HEARTBEAT)
