"""The stand-in engine and the simulated gateways of ``bench/bus_bench.py``.

The engine reads command entries from the stream, decodes them through the journal's tagged
union and answers every call on its gateway's reply stream, each read's replies to a gateway as
one entry; ``mode="real"`` runs each push through ``engine.commands.apply`` on a game of many
players whose scores are spread as in ``engine_bench.py`` (no journal), ``"none"`` answers a
ready ``PushResult``. A gateway keeps its players' pushes in flight, the calls of one event-loop
pass in one entry, as the real gateways will.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from typing import Any

from engine_bench import spread_scores

from bus import wire
from bus.redis_io import Health, Writer, connect
from bus.stream_reader import StreamReader
from engine import commands
from engine.clicks import PushResult
from engine.command_types import CreatePlayer, Push, Tick, stamped
from engine.errors import GameError, Unavailable
from engine.rules import Rules
from engine.state import new_state

COMMANDS = "ctb:cmd"
CAP = 100_000  # entries kept per stream (MAXLEN ~)
T0 = 1_700_000_000.0
GRACE = 2.0  # seconds the engine goes on answering after the window


def reply_stream(gateway: str) -> str:
    return f"ctb:reply:{gateway}"


def window(at: float, start: float, end: float) -> bool:
    return start <= at < end


# -- the stand-in engine ----------------------------------------------------------------------


class Engine:
    """Reads command batches and answers them; counts what it did inside the window."""

    def __init__(self, url: str, mode: str, players: int, online: int, count: int) -> None:
        self.health = Health()
        self.writer = Writer(connect(url, "engine-writer"), self.health, "engine-writer")
        block = 0.05
        self.reader = StreamReader(
            connect(url, "engine-reader", block=block), self.health, COMMANDS, count=count,
            block=block, last_id="0-0",
        )  # fmt: skip
        self.replies: dict[str, Any] = {}
        self.mode = mode
        self.state = None
        if mode == "real":
            rules = Rules(round_target=10**12, round_seconds=86400.0)
            self.state = new_state(rules, ["earth", "mars"])
            commands.apply(self.state, Tick(now=T0))
            ids = [f"p{n}" for n in range(players)]
            for player_id in ids:
                commands.apply(self.state, CreatePlayer(player_id=player_id, now=T0))
            spread_scores(self.state, ids, random.Random(7))  # deep rank indexes, as engine_bench
            gc.collect()
            gc.freeze()  # the loaded state is long-lived, as the store freezes it after loading
        self.step = 1.0 / max(1, online)  # game time per push: each player's pushes 1 s apart
        self.applied = 0
        self.stats = {"calls": 0, "entries": 0, "reads": 0, "dropped": 0, "cpu": 0.0}

    def answer(self, cmd: Any) -> tuple[bool, Any]:
        if isinstance(cmd, GameError):
            return False, cmd
        if self.state is None:
            return True, PushResult(cmd.batch_id, sum(cmd.clicks), 0, False, 1, 1, 1, 1, 1, 1.0)
        self.applied += 1
        now = T0 + 10 + self.applied * self.step
        try:
            return True, commands.apply(self.state, stamped(cmd, now))
        except GameError as error:
            return False, error

    async def run(self, start: float, end: float) -> dict[str, Any]:
        self.writer.start()
        stats, cpu_at, cpu_end = self.stats, None, None
        while True:
            try:
                payloads = await self.reader.read()
            except Unavailable:
                await asyncio.sleep(0.1)
                continue
            now = time.time()
            if cpu_at is None and now >= start:
                cpu_at = time.process_time()
            if cpu_end is None and now >= end:
                cpu_end = time.process_time()
            if now >= end + GRACE:  # the calls made before the end are answered by now
                break
            self.serve(payloads, start <= now < end)
        stats["cpu"] = (cpu_end or 0.0) - (cpu_at or 0.0)
        await self.close()
        return stats

    def serve(self, payloads: list[bytes], counting: bool) -> None:
        """Answer one read's entries: each gateway's replies of the read leave as one entry."""
        stats = self.stats
        for payload in payloads:
            gateway, calls = wire.decode_calls(payload)
            rows = [(call_id, *self.answer(cmd)) for call_id, cmd in calls]
            appender = self.replies.get(gateway)
            if appender is None:
                appender = self.writer.appender(reply_stream(gateway), CAP, wire.encode_replies)
                self.replies[gateway] = appender
            try:
                appender.extend(rows)
            except Unavailable:  # Redis cut off: the callers time out and retry
                stats["dropped"] += len(rows)
            if counting:
                stats["calls"] += len(calls)
                stats["entries"] += 1
        if counting and payloads:
            stats["reads"] += 1

    async def drain(self, total: int) -> dict[str, Any]:
        """Answer ``total`` calls already waiting in the stream, as fast as one core can."""
        self.writer.start()
        started, cpu_at = time.perf_counter(), time.process_time()
        while self.stats["calls"] < total:
            try:
                payloads = await self.reader.read()
            except Unavailable:
                await asyncio.sleep(0.1)
                continue
            self.serve(payloads, True)
        await self.writer.drain(30.0)
        self.stats["wall"] = time.perf_counter() - started
        self.stats["cpu"] = time.process_time() - cpu_at
        await self.close()
        return self.stats

    async def close(self) -> None:
        self.stats["pipelines"] = self.writer.pipelines
        await self.writer.close(1.0)
        await self.reader.client.aclose()


# -- a simulated gateway ----------------------------------------------------------------------


class Gateway:
    """``in_flight`` players, each pushing again as soon as its push is answered."""

    def __init__(self, url: str, name: str, first_player: int, players: int) -> None:
        self.name, self.first, self.players = name, first_player, players
        self.health = Health()
        self.writer = Writer(connect(url, f"{name}-writer"), self.health, f"{name}-writer")
        self.reader = StreamReader(
            connect(url, f"{name}-reader", block=0.5), self.health, reply_stream(name), count=64,
            block=0.5,
        )  # fmt: skip
        self.calls = self.writer.appender(COMMANDS, CAP, self._encode)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 1
        self.latencies: list[float] = []
        self.answered = 0
        self.refused = 0

    def _encode(self, calls: list[wire.Call]) -> bytes:
        return wire.encode_calls(self.name, calls)

    def call(self, cmd: Push) -> asyncio.Future[Any]:
        call_id, self.next_id = self.next_id, self.next_id + 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        self.calls.add((call_id, cmd))
        return future

    def on_replies(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            for call_id, _, value in wire.decode_replies(payload):
                future = self.pending.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_result(value)

    async def player(self, n: int, start: float, end: float) -> None:
        player_id, pushes = f"p{n}", 0
        while True:
            pushes += 1
            sent = time.perf_counter()
            at = time.time()
            if at >= end:
                return
            cmd = Push(player_id=player_id, batch_id=f"{self.name}-{n}-{pushes}", clicks=[5])
            reply = await self.call(cmd)  # the engine answers every call (GRACE after the end)
            if window(at, start, end):
                self.latencies.append(time.perf_counter() - sent)
                self.answered += 1
                self.refused += isinstance(reply, GameError)

    async def run(self, start: float, end: float) -> dict[str, Any]:
        self.writer.start()
        await self.reader.read()  # learn where the reply stream ends before any call
        follow = asyncio.create_task(self.reader.follow(self.on_replies))
        cpu_at = None
        players = [
            asyncio.create_task(self.player(self.first + k, start, end))
            for k in range(self.players)
        ]
        await asyncio.sleep(max(0.0, start - time.time()))
        cpu_at = time.process_time()
        await asyncio.gather(*players)
        cpu = time.process_time() - cpu_at
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
        await self.writer.close(1.0)
        await self.reader.client.aclose()
        return {
            "latencies": self.latencies,
            "answered": self.answered,
            "refused": self.refused,
            "cpu": cpu,
        }
