"""The one pub/sub connection of a process: boards and events from the engine (SPEC §11).

A (re)join follows r/place's order: subscribe first, and only once Redis confirmed the
subscription call ``on_join``, where the caller reads the latest full state; whatever is
published from then on arrives here, so nothing falls between the read and the first message
(``bus/board_feed.py`` drops what the read already covered). A quiet subscription cannot tell a
Redis that is gone from one with nothing to say, so after ``heartbeat`` seconds of silence it
pings, and a ping unanswered within ``timeout`` counts as cut off: the subscriber reconnects with
backoff, and ``on_join`` runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bus.redis_io import CUT_OFF, TIMEOUT, Backoff, Health, stop_if_cancelled

log = logging.getLogger("ctb.bus")

OnMessage = Callable[[bytes, bytes], None]
OnJoin = Callable[[], Awaitable[None] | None]


class Subscriber:
    """Listens on ``channels``; ``on_message(channel, data)`` must not block."""

    def __init__(
        self,
        client: Any,
        health: Health,
        channels: list[str],
        on_message: OnMessage,
        on_join: OnJoin | None = None,
        *,
        heartbeat: float = 1.0,
        timeout: float = TIMEOUT,
        name: str = "subscriber",
    ) -> None:
        self.client, self.health, self.channels, self.name = client, health, channels, name
        self.on_message, self.on_join = on_message, on_join
        self.heartbeat, self.timeout = heartbeat, timeout
        self.joins = 0
        self.messages = 0
        self.joined = asyncio.Event()  # set while subscribed; cleared when cut off
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"bus-{self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()

    async def run(self) -> None:
        backoff = Backoff()
        while True:
            stop_if_cancelled()
            pubsub = self.client.pubsub()
            try:
                await self._join(pubsub)
                backoff.reset()
                await self._listen(pubsub)
            except CUT_OFF as error:
                self.joined.clear()
                self.health.failed(self.name, error)
            finally:
                with contextlib.suppress(*CUT_OFF):
                    await pubsub.aclose()
            await asyncio.sleep(backoff.next())

    async def _join(self, pubsub: Any) -> None:
        await asyncio.wait_for(pubsub.subscribe(*self.channels), self.timeout)
        confirmed = 0
        deadline = time.monotonic() + self.timeout
        while confirmed < len(self.channels):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Redis did not confirm the subscription")
            message = await pubsub.get_message(timeout=left)
            if message is None:
                continue
            if message["type"] == "subscribe":
                confirmed += 1
            elif message["type"] == "message":
                self._deliver(message)
        self.health.ok(self.name)
        self.joins += 1
        self.joined.set()
        if self.on_join is not None:
            done = self.on_join()
            if done is not None:
                await done

    async def _listen(self, pubsub: Any) -> None:
        pinged_at: float | None = None
        while True:
            stop_if_cancelled()
            message = await pubsub.get_message(timeout=self.heartbeat)
            now = time.monotonic()
            if message is None:
                if pinged_at is None:
                    await asyncio.wait_for(pubsub.ping(), self.timeout)
                    pinged_at = now
                elif now - pinged_at > self.timeout:
                    raise TimeoutError("Redis did not answer the subscription's ping")
                continue
            pinged_at = None  # anything heard proves the connection alive
            if message["type"] == "message":
                self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        self.messages += 1
        try:
            self.on_message(message["channel"], message["data"])
        except Exception:  # a bug in the handler must not end the subscription
            log.exception("a bus message could not be handled", extra={"event": "bus_message_bug"})
