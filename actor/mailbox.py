"""The actor's mailbox: many senders, one reader that takes what has come in a batch.

``asyncio.Queue`` would do, but it is built for many readers and pays for that on every wait:
a deque of waiters, and a question to asyncio for the running loop, which on Python 3.11 is a
``getpid`` system call. Under load the actor waits once per turn, hundreds of times a second.
Here a wait is one future on the loop the reader names.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        """Add ``item``; never blocks. Wakes the reader if it is waiting."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take_nowait(self) -> T:
        """The oldest item; IndexError when there is none."""
        return self._items.popleft()

    async def take(self, loop: asyncio.AbstractEventLoop, limit: int) -> list[T]:
        """Wait for at least one item, then take up to ``limit`` in the order they came."""
        items = self._items
        while not items:
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        count = min(limit, len(items))
        return [items.popleft() for _ in range(count)]
