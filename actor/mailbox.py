"""The actor's mailbox: many senders, one reader that takes what has come in a batch.

``asyncio.Queue`` would do, but it is built for many readers and pays for that on every wait:
a deque of waiters, and a question to asyncio for the running loop, which on Python 3.11 is a
``getpid`` system call. Here a wait is one future on the loop the reader names.

A reader may also *linger*: once the first item is in, it waits up to ``linger`` seconds more
(or until ``limit`` items are in) before it takes them, so that what arrives over several
passes of the event loop is taken as one batch. Under load pushes come one every few hundred
microseconds, each in a pass of its own; without the linger every one of them would be a turn
of its own, with its own clock read, journal write and round of replies. An item put as
``urgent`` ends the linger at once: its sender waits for the answer and may have nothing else
to send meanwhile (a caller that works in steps would pay the linger on every step).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Mailbox(Generic[T]):
    __slots__ = ("_items", "_urgent", "_waiter", "_wake_at")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._wake_at = (
            1  # how many items wake the waiting reader: 1, or its limit while it lingers
        )
        self._urgent = False  # an urgent item is in: no lingering

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T, urgent: bool = True) -> None:
        """Add ``item``; never blocks. Wakes the reader if it waits for this many items, or at
        once for an urgent one."""
        items = self._items
        items.append(item)
        if urgent:
            self._urgent = True
        waiter = self._waiter
        if waiter is not None and (urgent or len(items) >= self._wake_at) and not waiter.done():
            waiter.set_result(None)

    def take_nowait(self) -> T:
        """The oldest item; IndexError when there is none."""
        return self._items.popleft()

    async def take(
        self, loop: asyncio.AbstractEventLoop, limit: int, linger: float = 0.0
    ) -> list[T]:
        """Wait for at least one item, linger for more, then take up to ``limit`` in order."""
        items = self._items
        while not items:
            await self._wait(loop, 1)
        if linger > 0 and not self._urgent and len(items) < limit:
            waiter = self._arm(loop, limit)
            timer = loop.call_later(linger, _wake, waiter)
            try:
                await self._wait_armed(waiter)
            finally:
                timer.cancel()
        count = min(limit, len(items))
        taken = [items.popleft() for _ in range(count)]
        if not items:
            self._urgent = False
        return taken

    async def _wait(self, loop: asyncio.AbstractEventLoop, wake_at: int) -> None:
        await self._wait_armed(self._arm(loop, wake_at))

    def _arm(self, loop: asyncio.AbstractEventLoop, wake_at: int) -> asyncio.Future[None]:
        self._waiter = waiter = loop.create_future()
        self._wake_at = wake_at
        return waiter

    async def _wait_armed(self, waiter: asyncio.Future[None]) -> None:
        try:
            await waiter
        finally:
            self._waiter = None
            self._wake_at = 1
