"""The actor's mailbox (actor/mailbox.py): one reader takes what came, in order, in batches."""

from __future__ import annotations

import asyncio

from actor.mailbox import Mailbox


async def test_a_waiting_reader_wakes_on_the_first_put_and_takes_in_order() -> None:
    """The reader waits while empty; items come out in the order they were put."""
    mailbox: Mailbox[int] = Mailbox()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(mailbox.take(loop, 10))
    await asyncio.sleep(0)
    assert not reader.done()
    for n in (1, 2, 3):
        mailbox.put(n)
    assert await reader == [1, 2, 3]
    assert len(mailbox) == 0


async def test_a_take_stops_at_its_limit_and_leaves_the_rest() -> None:
    """At most ``limit`` items per take; the rest wait for the next one."""
    mailbox: Mailbox[int] = Mailbox()
    loop = asyncio.get_running_loop()
    for n in range(5):
        mailbox.put(n)
    assert await mailbox.take(loop, 2) == [0, 1]
    assert len(mailbox) == 3 and mailbox.take_nowait() == 2
    assert await mailbox.take(loop, 10) == [3, 4]


async def test_a_cancelled_reader_leaves_no_waiter_behind() -> None:
    """A reader cancelled while waiting does not swallow the next item."""
    mailbox: Mailbox[str] = Mailbox()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(mailbox.take(loop, 10))
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    mailbox.put("a")
    assert await mailbox.take(loop, 10) == ["a"]


async def test_a_lingering_reader_takes_what_came_meanwhile_until_something_urgent() -> None:
    """With a linger, items put in later passes join the first; an urgent item ends the wait."""
    mailbox: Mailbox[int] = Mailbox()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(mailbox.take(loop, 10, linger=60.0))
    for n in (1, 2):
        mailbox.put(n, urgent=False)
        for _ in range(3):
            await asyncio.sleep(0)
    assert not reader.done()
    mailbox.put(3)
    assert await asyncio.wait_for(reader, 10) == [1, 2, 3]  # far inside the 60 s linger


async def test_a_lingering_reader_stops_waiting_once_its_limit_is_in() -> None:
    """A linger never holds more than ``limit`` items: the limit-th ends it."""
    mailbox: Mailbox[int] = Mailbox()
    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(mailbox.take(loop, 3, linger=60.0))
    for n in range(4):
        mailbox.put(n, urgent=False)
        await asyncio.sleep(0)
    assert await asyncio.wait_for(reader, 10) == [0, 1, 2]
    assert len(mailbox) == 1
