"""The one blocking reader of a stream (SPEC §11): the engine's commands, a gateway's replies.

Part of the Redis side of the bus (``bus/redis_io.py``): its own connection, so a read that
blocks never holds up a write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bus.redis_io import CUT_OFF, ENTRY_FIELD, Backoff, Health, stop_if_cancelled, unreachable
from engine.errors import Unavailable


class StreamReader:
    """The one blocking reader of one stream: ``XREAD BLOCK`` from the last id it saw.

    Never an unbounded range (a Socket.IO issue: one ``XRANGE`` filled Redis's output buffer):
    each read takes at most ``count`` entries and waits at most ``block`` seconds. The start
    is a concrete id, the stream's last at the first read, so nothing written between two reads
    is skipped. A Redis that came back empty (a new ``run_id``) restarts the reader at the
    beginning of the new stream, which holds only what was written since.
    """

    def __init__(
        self,
        client: Any,
        health: Health,
        stream: str,
        *,
        count: int = 256,
        block: float = 0.5,
        last_id: str | None = None,
        name: str = "reader",
    ) -> None:
        self.client, self.health, self.stream, self.name = client, health, stream, name
        self.count, self.block_ms = count, max(1, int(block * 1000))
        self.last_id = last_id
        self.run_id: bytes | None = None
        self._recheck = True  # ask which Redis answers before the next read
        self.reads = 0
        self.entries = 0

    async def read(self) -> list[bytes]:
        """The payloads of the next entries, oldest first; [] when none came within ``block``.

        Raises ``Unavailable`` (and reports it to ``Health``) when Redis is cut off.
        """
        try:
            if self._recheck:
                await self._find_start()
            reply = await self.client.xread(
                {self.stream: self.last_id}, count=self.count, block=self.block_ms
            )
        except CUT_OFF as error:
            self._recheck = True
            self.health.failed(self.name, error)
            raise unreachable() from error
        self.health.ok(self.name)
        self.reads += 1
        if not reply:
            return []
        entries = reply[0][1]
        self.last_id = entries[-1][0].decode()
        self.entries += len(entries)
        return [fields[ENTRY_FIELD] for _, fields in entries]

    async def _find_start(self) -> None:
        """Learn which Redis this is; a new one (or the first read) decides where to start."""
        info = await self.client.info("server")
        run_id = info["run_id"]
        if isinstance(run_id, str):
            run_id = run_id.encode()
        if self.last_id is None:
            newest = await self.client.xrevrange(self.stream, "+", "-", count=1)
            self.last_id = newest[0][0].decode() if newest else "0-0"
        elif self.run_id is not None and run_id != self.run_id:
            self.last_id = "0-0"  # a new, empty Redis: everything in the stream is new
        self.run_id, self._recheck = run_id, False

    async def follow(
        self,
        handle: Callable[[list[bytes]], Awaitable[None] | None],
        backoff: Backoff | None = None,
    ) -> None:
        """Read forever, handing each non-empty read to ``handle``; wait and retry when cut off."""
        backoff = backoff or Backoff()
        while True:
            stop_if_cancelled()
            try:
                payloads = await self.read()
            except Unavailable:
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            if payloads:
                done = handle(payloads)
                if done is not None:
                    await done
