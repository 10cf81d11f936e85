"""The load driver's clients: a raw WebSocket client (RFC 6455) on asyncio protocols, just
enough for the game's protocol, and the worker processes that run thousands of them.

Each client pushes on a fixed cadence and reads every frame, recording when each board version
arrived and how long each ack took (``Stats``); a worker sends its figures back to the driver
(``bench/ws_load.py``) through a pipe. No per-message objects, so a worker stays light enough to
share two cores with the server.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import orjson
import uvloop

BOARD_PREFIX = b'{"type":"board","v":'
ACK_PREFIX = b'{"type":"ack"'
ERROR_PREFIX = b'{"type":"error"'


# -- a raw WebSocket client (RFC 6455), just enough for the game's protocol ---------------------


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A final client frame, masked as RFC 6455 §5.3 requires of clients."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    else:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    keystream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")
    return header + key + masked


def handshake(port: int, token: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: ctb.v1.json\r\n\r\n"
    ).encode()


@dataclass(slots=True)
class Stats:
    """What one process saw; merged by the main process."""

    arrivals: dict[int, array] = field(default_factory=dict)  # board version -> receive times
    acks: array = field(default_factory=lambda: array("d"))  # ack latencies in the window
    ack_sent: array = field(default_factory=lambda: array("d"))  # when each of those left
    boards: int = 0  # board frames received in the window
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    window: tuple[float, float] = (0.0, float("inf"))
    closing: bool = False

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(what)


class Client(asyncio.Protocol):
    """One game client: handshake, frame parsing, a push every ``rate`` seconds."""

    def __init__(self, stats: Stats, port: int, token: str, index: int) -> None:
        self.stats = stats
        self.port = port
        self.token = token
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent_at = 0.0
        self.pushes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(handshake(self.port, self.token))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"lost during handshake: {exc}"))
        elif self.upgraded and not self.stats.closing:  # a refused handshake is connect's
            self.stats.error(f"connection lost: {exc}")

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(buf[:200].decode(errors="replace")))
                return
            self.upgraded = True
            self.ready.set_result(None)
            buf = buf[end + 4 :]
        pos, n = 0, len(buf)
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > n:
                break
            self.on_frame(buf[pos] & 0x0F, buf, pos + head, end, now)
            pos = end
        self.buf = buf[pos:]

    def on_frame(self, opcode: int, buf: bytes, start: int, end: int, now: float) -> None:
        stats = self.stats
        if opcode == 0x1:
            if buf.startswith(BOARD_PREFIX, start):
                comma = buf.find(b",", start + 20)
                version = int(buf[start + 20 : comma])
                times = stats.arrivals.get(version)
                if times is None:
                    times = stats.arrivals[version] = array("d")
                times.append(now)
                low, high = stats.window
                if low <= now <= high:
                    stats.boards += 1
                self.on_board(buf[start:end], version, now)
            elif buf.startswith(ACK_PREFIX, start):
                low, high = stats.window
                if low <= self.sent_at <= high:
                    stats.acks.append(now - self.sent_at)
                    stats.ack_sent.append(self.sent_at)
            elif buf.startswith(ERROR_PREFIX, start):
                stats.error(buf[start:end].decode(errors="replace"))
        elif opcode == 0x9:  # a server ping: answer it (RFC 6455 §5.5.2)
            if self.transport is not None:
                self.transport.write(client_frame(buf[start:end], 0xA))
        elif opcode == 0x8 and not stats.closing:
            stats.error(f"closed by the server: {int.from_bytes(buf[start : start + 2], 'big')}")

    def on_board(self, payload: bytes, version: int, now: float) -> None:
        """Only the probe looks inside a board."""

    def push(self) -> None:
        self.pushes += 1
        count = random.randint(5, 15)  # under MAX_CPS: nothing is throttled
        payload = b'{"type":"clicks","batch_id":"c%d-%d","clicks":[%d]}' % (
            self.index,
            self.pushes,
            count,
        )
        self.sent_at = time.monotonic()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(payload))


class Probe(Client):
    """A client that finds, for each of its pushes, the first board version that carries it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.planet: str | None = None
        self.waiting: list[tuple[float, int]] = []  # (sent at, planet total after the push)
        self.found: list[tuple[float, int]] = []  # (sent at, board version carrying it)

    def on_frame(self, opcode: int, buf: bytes, start: int, end: int, now: float) -> None:
        if opcode == 0x1 and buf.startswith(ACK_PREFIX, start):
            ack = orjson.loads(buf[start:end])
            if self.stats.window[0] <= self.sent_at <= self.stats.window[1]:
                self.waiting.append((self.sent_at, ack["planet_total"]))
        elif opcode == 0x1 and self.planet is None and b'"snapshot"' in buf[start : start + 30]:
            self.planet = orjson.loads(buf[start:end])["data"]["me"]["planet"]
        super().on_frame(opcode, buf, start, end, now)

    def on_board(self, payload: bytes, version: int, now: float) -> None:
        if not self.waiting:
            return
        totals = {p["name"]: p["total"] for p in orjson.loads(payload)["data"]["planets"]}
        total = totals.get(self.planet or "", 0)
        still = []
        for sent, needed in self.waiting:
            if total >= needed:
                self.found.append((sent, version))
            else:
                still.append((sent, needed))
        self.waiting = still


async def connect(stats: Stats, port: int, token: str, index: int, factory: type[Client]) -> Client:
    """A connected client; a handshake refused with 503 (a server in overload while a crowd
    connects) is tried again after its Retry-After, as the game page does, a few times."""
    loop = asyncio.get_running_loop()
    for attempt in range(5):
        _, client = await loop.create_connection(
            lambda: factory(stats, port, token, index), "127.0.0.1", port
        )
        try:
            await asyncio.wait_for(client.ready, 30)
            return client
        except ConnectionError as error:
            if not str(error).startswith("HTTP/1.1 503") or attempt == 4:
                raise
            if client.transport is not None:
                client.transport.close()
        await asyncio.sleep(2.0)
    raise AssertionError("unreachable")


async def ws_tokens(port: int, player_tokens: list[str], parallel: int = 32) -> list[str]:
    """Short-lived WebSocket tokens (90 s), minted just before connecting."""
    out: list[str] = [""] * len(player_tokens)
    limit = asyncio.Semaphore(parallel)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:

        async def one(i: int, token: str) -> None:
            async with limit:
                headers = {"Authorization": f"Bearer {token}"}
                async with session.post("/api/ws-token", headers=headers) as response:
                    response.raise_for_status()
                    out[i] = (await response.json())["token"]

        await asyncio.gather(*(one(i, t) for i, t in enumerate(player_tokens)))
    return out


async def connect_all(
    stats: Stats, port: int, player_tokens: list[str], first_index: int, parallel: int = 64
) -> list[Client]:
    tokens = await ws_tokens(port, player_tokens)
    limit = asyncio.Semaphore(parallel)
    clients: list[Client] = []

    async def one(i: int, token: str) -> None:
        async with limit:
            try:
                clients.append(await connect(stats, port, token, first_index + i, Client))
            except Exception as error:
                stats.error(f"connect: {error!r}")

    await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
    return clients


def schedule_pushes(
    clients: list[Client], rate: float, start: float, end: float, jitter: float = 0.0
) -> None:
    """Each client pushes on its own fixed cadence, phases spread over one interval.

    ``jitter`` adds up to that many seconds to each gap: the probe uses it so its pushes land
    at every phase of the broadcast tick instead of always the same one.
    """
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.monotonic()  # the loop's clock against the monotonic clock

    def tick(client: Client, at: float) -> None:
        if at > end:
            return
        client.push()
        following = at + rate + random.random() * jitter
        loop.call_at(following + offset, tick, client, following)

    for client in clients:
        at = start + random.random() * rate
        loop.call_at(at + offset, tick, client, at)


# -- the worker processes -----------------------------------------------------------------------


def worker_main(
    conn: Connection, port: int, tokens: list[str], first_index: int, rate: float
) -> None:
    uvloop.install()
    asyncio.run(worker(conn, port, tokens, first_index, rate))


async def worker(
    conn: Connection, port: int, tokens: list[str], first_index: int, rate: float
) -> None:
    stats = Stats()
    clients = await connect_all(stats, port, tokens, first_index)
    conn.send(("ready", len(clients), stats.errors))
    loop = asyncio.get_running_loop()
    start, warm, end = await loop.run_in_executor(None, conn.recv)
    stats.window = (warm, end)
    schedule_pushes(clients, rate, start, end)
    await asyncio.sleep(max(0.0, end - time.monotonic() + 1.0))  # let the last boards arrive
    stats.closing = True
    conn.send(("done", result(stats)))
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    await asyncio.sleep(0.2)


def result(stats: Stats) -> dict[str, Any]:
    return {
        "arrivals": {v: t.tobytes() for v, t in stats.arrivals.items()},
        "acks": stats.acks.tobytes(),
        "ack_sent": stats.ack_sent.tobytes(),
        "boards": stats.boards,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
    }
