"""A feeder of ``bench/cluster_bench.py``: one gateway's ``RemoteGame`` keeping pushes in flight.

It holds the real gateway's side of the bus (``bus/gateway.py``) and nothing of its HTTP or
WebSocket server: each of ``in_flight`` slots sends a ``CheckedPush`` through ``send``, as the
server's push handler does, and sends the next one from the reply callback, so the engine always
has ``in_flight`` of this feeder's pushes to answer. The players take turns in order, so each
pushes a few times a second at most, well inside the push bucket the bench configures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from array import array
from collections import Counter
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from bus.gateway import CALL_TIMEOUT, RemoteGame
from engine.clicks import PushResult
from engine.command_types import CheckedPush, CreatePlayer
from engine.errors import Unavailable

RETRY_PAUSE = 0.05  # seconds before a slot whose push was refused as unavailable sends again


def player_ids(count: int) -> list[str]:
    """Ids shaped like the server's (a UUID's length), distinct and reproducible."""
    return [f"{n:08x}-0000-4000-8000-{n * 7919:012x}" for n in range(count)]


async def create_players(game: RemoteGame, ids: list[str], in_flight: int = 1000) -> None:
    """Create the players through the bus, ``in_flight`` calls at a time."""
    for first in range(0, len(ids), in_flight):
        chunk = ids[first : first + in_flight]
        await asyncio.gather(*(game.call(CreatePlayer(player_id=pid)) for pid in chunk))


class Feeder:
    """``in_flight`` pushes outstanding; counts what is answered inside the window."""

    def __init__(self, game: RemoteGame, players: list[str], in_flight: int, seed: int) -> None:
        self.game, self.players, self.in_flight = game, players, in_flight
        rng = random.Random(seed)
        # Counts vary as a person's do (engine_bench.py's 1-25), so no player looks like a bot.
        self.counts = [[rng.randint(1, 25)] for _ in range(4096)]
        self.next_player = 0
        self.sent = 0
        self.outstanding = 0
        self.counting = False
        self.stopping = False
        self.latencies = array("d")
        self.acked = 0
        self.throttled = 0  # acknowledged, with some clicks clipped by the bucket
        self.refused: Counter[str] = Counter()
        self.loop = asyncio.get_running_loop()

    def push(self) -> None:
        if self.stopping:
            self.outstanding -= 1
            return
        n = self.sent = self.sent + 1
        player = self.players[self.next_player]
        self.next_player = (self.next_player + 1) % len(self.players)
        cmd = CheckedPush(
            player_id=player, batch_id=f"{self.game.gateway}-{n}", clicks=self.counts[n & 4095]
        )
        self.game.send(cmd, partial(self.answered, time.perf_counter()))

    def answered(self, sent: float, value: Any, error: BaseException | None) -> None:
        if self.counting:
            self.latencies.append(time.perf_counter() - sent)
            if error is None:
                self.acked += 1
                if type(value) is PushResult and value.throttled:
                    self.throttled += 1
            else:
                self.refused[getattr(error, "code", type(error).__name__)] += 1
        if isinstance(error, Unavailable):  # may be answered inside ``send``: no recursion
            self.loop.call_later(RETRY_PAUSE, self.push)
        else:
            self.push()

    async def run(self, start: float, end: float) -> dict[str, Any]:
        """Feed from now; count from ``start`` to ``end`` (wall clock), then let the rest land."""
        self.outstanding = self.in_flight
        for _ in range(self.in_flight):
            self.push()
        await asyncio.sleep(max(0.0, start - time.time()))
        self.counting, cpu_at = True, time.process_time()
        await asyncio.sleep(max(0.0, end - time.time()))
        self.counting, cpu = False, time.process_time() - cpu_at
        self.stopping = True
        deadline = time.monotonic() + CALL_TIMEOUT + 1.0
        while self.outstanding > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return {
            "latencies": self.latencies.tobytes(),
            "acked": self.acked,
            "throttled": self.throttled,
            "refused": dict(self.refused),
            "cpu": cpu,
            "unanswered": self.outstanding,
        }


async def _feed(pipe: Connection, url: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    game = RemoteGame(url, name)
    await game.start()
    loop = asyncio.get_running_loop()
    try:
        if not game.running:
            pipe.send(f"{name}: {game.not_ready}")
            return {}
        pipe.send("ready")
        start, end = await loop.run_in_executor(None, pipe.recv)
        feeder = Feeder(game, args["players"], args["in_flight"], args["seed"])
        return await feeder.run(start, end)
    finally:
        await game.stop()


def feeder_process(pipe: Connection, url: str, name: str, args: dict[str, Any]) -> None:
    """The process's entry point (``multiprocessing``, spawned): its figures go up the pipe."""
    import uvloop

    logging.getLogger("ctb").setLevel(logging.ERROR)
    result = uvloop.run(_feed(pipe, url, name, args))
    if result:
        pipe.send(result)


def refusal_codes(results: list[dict[str, Any]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for result in results:
        total.update(result["refused"])
    return dict(total)
