"""The Redis side of the bus (SPEC §11): one connection per direction, explicit batching.

Why one connection per direction: the asyncio Redis client with a connection taken from a pool
for every command measured 40 times slower than one pipelined connection (a Colyseus issue), and
Centrifugo's Redis engine halved its CPU by flushing what piled up instead of writing each
command. So a process has three connections: a ``Writer`` (every write made during one pass of
the event loop leaves as one non-transactional pipeline), a ``StreamReader`` (``XREAD BLOCK``
from the last id it saw, ``bus/stream_reader.py``) and a ``Subscriber`` (pub/sub,
``bus/subscriber.py``). redis-py's
``single_connection_client`` does not cover pipelines (a pipeline borrows from the pool), so each
direction gets its own client whose pool is capped at one connection.

Nothing that waits on Redis waits without a bound: connects and replies time out (``timeout``),
reads block at most ``block`` seconds, and while any direction is cut off ``Health`` refuses new
work at once with ``Unavailable`` (503 with Retry-After), so a caller never hangs on a Redis that
is gone. Retries are ours, never the client's: a retried pipeline could append a batch twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.errors import Unavailable

log = logging.getLogger("ctb.bus")

T = TypeVar("T")
TIMEOUT = 2.0  # seconds a connect or a reply may take before the bus calls Redis unreachable
RETRY_AFTER = 2  # what a refusal tells the client to wait (SPEC §11: 503 with Retry-After)
ENTRY_FIELD = b"m"  # a stream entry is one field holding one encoded batch (bus/wire.py)
MAX_ITEMS = 1024  # items in one stream entry; a bigger pass is split
CUT_OFF = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


def connect(url: str, name: str, timeout: float = TIMEOUT, block: float = 0.0) -> Any:
    """A client for one direction: one connection at most, no retries, every wait bounded.

    A reader's replies may take ``block`` seconds (``XREAD BLOCK``) on top of ``timeout``.
    """
    return aioredis.Redis.from_url(
        url,
        max_connections=1,
        socket_timeout=timeout + block,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        client_name=name,
    )


def stop_if_cancelled() -> None:
    """End a loop whose task was cancelled, even if the cancellation was swallowed.

    On Python 3.11, ``asyncio.wait_for`` (which redis-py wraps around each socket write) drops
    a cancellation that arrives just as the write finishes; a loop that goes on to its next
    round would then never stop. Each of the bus's loops checks at the top of every round.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def unreachable(why: str = "the game's message bus (Redis) is not reachable") -> Unavailable:
    error = Unavailable(why, {"retry_after": RETRY_AFTER})
    error.retry_after = RETRY_AFTER  # the Retry-After header
    return error


@dataclass(slots=True)
class Backoff:
    """Waits between reconnects: doubling from ``first`` to ``most``, with jitter, so many
    gateways coming back at once do not knock together."""

    first: float = 0.05
    most: float = 1.0
    delay: float = 0.0

    def next(self) -> float:
        self.delay = min(self.most, max(self.first, self.delay * 2))
        return self.delay * random.uniform(0.75, 1.0)

    def reset(self) -> None:
        self.delay = 0.0


@dataclass(slots=True)
class Health:
    """Whether this process reaches Redis: each direction reports how its last call went.

    One object per process, shared by its directions: a gateway whose reply reader is cut off
    cannot answer a push even while its writer could still send it, so either refuses.
    """

    down: dict[str, str] = field(default_factory=dict)  # direction -> last error
    changed_at: float = field(default_factory=time.monotonic)
    outages: int = 0
    listeners: list[Callable[[bool], None]] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        return not self.down

    def ok(self, direction: str) -> None:
        if direction in self.down:
            del self.down[direction]
            if not self.down:
                log.warning("redis reachable again", extra={"event": "bus_redis_up"})
                self._changed(True)

    def failed(self, direction: str, error: BaseException | str) -> None:
        first = not self.down
        self.down[direction] = str(error) or type(error).__name__
        if first:
            self.outages += 1
            log.warning(
                "redis not reachable: %s",
                self.down[direction],
                extra={"event": "bus_redis_down", "direction": direction},
            )
            self._changed(False)

    def check(self) -> None:
        """Raise ``Unavailable`` at once while Redis is not reachable."""
        if self.down:
            raise unreachable()

    def _changed(self, reachable: bool) -> None:
        self.changed_at = time.monotonic()
        for listener in self.listeners:
            listener(reachable)


class Appender(Generic[T]):
    """Items added to one stream during one pass of the loop become one capped entry.

    A gateway's calls made in one pass share an entry of the command stream; the engine's
    replies of one turn share an entry of each gateway's reply stream. ``on_lost`` hears of
    items whose write failed, so their callers can be answered now instead of at their timeout.
    """

    def __init__(
        self,
        writer: Writer,
        stream: str,
        cap: int,
        encode: Callable[[list[T]], bytes],
        on_lost: Callable[[list[T], BaseException], None] | None = None,
    ) -> None:
        self.writer, self.stream, self.cap = writer, stream, cap
        self.encode, self.on_lost = encode, on_lost
        self.items: list[T] = []

    def add(self, item: T) -> None:
        """Queue ``item`` for this pass's entry; ``Unavailable`` at once if Redis is gone."""
        self.writer.health.check()
        if not self.items:
            self.writer.mark(self)
        self.items.append(item)

    def extend(self, items: list[T]) -> None:
        """Queue several items at once (a turn's replies to one gateway)."""
        self.writer.health.check()
        if items and not self.items:
            self.writer.mark(self)
        self.items.extend(items)


@dataclass(slots=True)
class _Write:
    args: tuple[Any, ...]
    future: asyncio.Future[Any] | None = None
    lost: tuple[Appender[Any], list[Any]] | None = None


class Writer:
    """The one writing connection: what a pass of the event loop asked for, as one pipeline.

    The first write of a pass wakes the writer task, which runs in the next pass and sends
    everything queued by then in one round trip; writes made while that pipeline is in flight
    go in the next one. So the batch grows with the load by itself, with no timer.
    """

    def __init__(self, client: Any, health: Health, name: str = "writer") -> None:
        self.client, self.health, self.name = client, health, name
        self._queue: list[_Write] = []
        self._marked: list[Appender[Any]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while nothing is queued or in flight
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.pipelines = 0
        self.commands = 0
        self.lost = 0  # writes that failed because Redis was cut off
        self.refused = 0  # writes Redis answered with an error
        self.largest = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"bus-{self.name}")

    async def drain(self, timeout: float = TIMEOUT) -> None:
        """Return once everything queued so far was sent (or failed), or after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, timeout: float = TIMEOUT) -> None:
        """Send what is queued (waiting at most ``timeout``), then stop and disconnect."""
        if self._task is not None:
            await self.drain(timeout)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()

    def command(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one Redis command for the next pipeline; the future gets its reply."""
        self.health.check()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._push(_Write(args, future))
        return future

    def post(self, *args: Any) -> None:
        """Queue one Redis command whose reply nobody waits for (a failure is counted)."""
        self.health.check()
        self._push(_Write(args))

    async def call(self, *args: Any, timeout: float = TIMEOUT) -> Any:
        """One command and its reply, or ``Unavailable`` within ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.command(*args), timeout)
        except TimeoutError:
            raise unreachable("Redis did not answer in time") from None

    def appender(
        self,
        stream: str,
        cap: int,
        encode: Callable[[list[T]], bytes],
        on_lost: Callable[[list[T], BaseException], None] | None = None,
    ) -> Appender[T]:
        return Appender(self, stream, cap, encode, on_lost)

    def mark(self, appender: Appender[Any]) -> None:
        if not self._queue and not self._marked:
            self._first_of_pass()
        self._marked.append(appender)

    def _push(self, write: _Write) -> None:
        if not self._queue and not self._marked:
            self._first_of_pass()
        self._queue.append(write)

    def _first_of_pass(self) -> None:
        self._idle.clear()
        self._wake.set()

    def _take(self) -> list[_Write]:
        writes, self._queue = self._queue, []
        marked, self._marked = self._marked, []
        for appender in marked:
            items, appender.items = appender.items, []
            for at in range(0, len(items), MAX_ITEMS):
                chunk = items[at : at + MAX_ITEMS]
                try:
                    payload = appender.encode(chunk)
                except Exception as error:  # a bug in an item: its owner hears of it now
                    log.exception("stream items could not be encoded")
                    if appender.on_lost is not None:
                        appender.on_lost(chunk, error)
                    continue
                args = ("XADD", appender.stream, "MAXLEN", "~", appender.cap, "*")
                writes.append(_Write((*args, ENTRY_FIELD, payload), lost=(appender, chunk)))
        return writes

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            stop_if_cancelled()
            if not self._queue and not self._marked:
                self._idle.set()
                await self._wake.wait()
            self._wake.clear()
            writes = self._take()
            if not writes:
                continue
            try:
                replies = await self._send(writes)
            except CUT_OFF as error:
                self._fail(writes, error, unreachable())
                if not self._queue and not self._marked:
                    self._idle.set()  # what was queued has failed: nothing is waiting
                await self._reconnect(backoff)
                continue
            except Exception as error:  # a bug: an argument Redis cannot take
                log.exception("a pipeline could not be sent", extra={"event": "bus_write_bug"})
                self._fail(writes, error, error)
                continue
            for write, reply in zip(writes, replies, strict=True):
                future = write.future
                if isinstance(reply, ResponseError):
                    self.refused += 1
                    if future is None:
                        log.warning("redis refused a write: %s", reply)
                    elif not future.done():
                        future.set_exception(reply)
                    if write.lost is not None and write.lost[0].on_lost is not None:
                        write.lost[0].on_lost(write.lost[1], reply)  # e.g. Redis out of memory
                elif future is not None and not future.done():
                    future.set_result(reply)

    async def _send(self, writes: list[_Write]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for write in writes:
            pipe.execute_command(*write.args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        self.pipelines += 1
        self.commands += len(writes)
        self.largest = max(self.largest, len(writes))
        return replies

    def _fail(self, writes: list[_Write], error: BaseException, answer: BaseException) -> None:
        """Answer the pass's writes with ``answer``; a cut-off Redis is reported to ``Health``.

        A write reported lost may still have reached Redis before the connection broke: a
        command that the engine reads after its gateway gave up is applied all the same, and a
        retry keeps its ``batch_id``, so it does not count twice (SPEC §11).
        """
        if isinstance(answer, Unavailable):
            self.health.failed(self.name, error)
        self.lost += len(writes)
        for write in writes:
            if write.future is not None and not write.future.done():
                write.future.set_exception(answer)
            if write.lost is not None and write.lost[0].on_lost is not None:
                appender, items = write.lost
                appender.on_lost(items, error)  # type: ignore[misc]

    async def _reconnect(self, backoff: Backoff) -> None:
        """Ping until Redis answers; meanwhile ``Health`` refuses new writes at once."""
        while True:
            await asyncio.sleep(backoff.next())
            stop_if_cancelled()
            try:
                await self.client.ping()
            except CUT_OFF as again:
                self.health.failed(self.name, again)
                continue
            backoff.reset()
            self.health.ok(self.name)
            return
