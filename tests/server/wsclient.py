"""Client-side helpers for WebSocket tests: read the next message of a type, with a deadline."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any

import msgpack
import orjson
from aiohttp import ClientWebSocketResponse, WSMsgType

WAIT = 3.0  # seconds a test waits for a message before failing (never a fixed sleep)


async def until(check: Any, timeout: float = WAIT) -> None:
    """Poll a condition the server reaches on its own (metrics after a disconnect)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def decode(msg: Any) -> dict[str, Any]:
    if msg.type is WSMsgType.TEXT:
        return orjson.loads(msg.data)
    if msg.type is WSMsgType.BINARY:
        return msgpack.unpackb(msg.data)
    raise AssertionError(f"expected a data frame, got {msg.type!r} {msg.data!r}")


async def recv(ws: ClientWebSocketResponse, timeout: float = WAIT) -> dict[str, Any]:
    """The next message of any type."""
    return decode(await ws.receive(timeout=timeout))


async def recv_type(
    ws: ClientWebSocketResponse, kind: str, timeout: float = WAIT
) -> dict[str, Any]:
    """The next message of type ``kind``, skipping boards and others in between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no {kind!r} message within {timeout} s")
        message = decode(await ws.receive(timeout=left))
        if message["type"] == kind:
            return message


async def recv_reply(ws: ClientWebSocketResponse, timeout: float = WAIT) -> dict[str, Any]:
    """The next message that is not a broadcast (board or round): a reply to the client."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = decode(await ws.receive(timeout=max(0.001, deadline - loop.time())))
        if message["type"] not in ("board", "round"):
            return message


async def recv_close(ws: ClientWebSocketResponse, timeout: float = WAIT) -> int | None:
    """Read until the server closes the socket; returns the close code."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.001, deadline - loop.time()))
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws.close_code


async def board_where(
    ws: ClientWebSocketResponse, planet: str, at_least: int, timeout: float = WAIT
) -> dict[str, Any]:
    """The first board in which ``planet``'s total reached ``at_least``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no board with {planet} >= {at_least} within {timeout} s")
        message = await recv_type(ws, "board", left)
        totals = {p["name"]: p["total"] for p in message["data"]["planets"]}
        if totals[planet] >= at_least:
            return message


class RawSocket:
    """A bare WebSocket client on a plain socket with a tiny receive buffer: it can stop reading
    altogether, which an aiohttp client (whose reader keeps draining the socket) cannot."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.unsent = b""

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> RawSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        raw = cls(sock)
        while b"\r\n\r\n" not in raw.buffer:
            raw.buffer += await asyncio.wait_for(loop.sock_recv(sock, 4096), WAIT)
        head, _, raw.buffer = raw.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return raw

    async def close_code(self, timeout: float = WAIT) -> int:
        """Read everything the server sent until its close frame; returns the close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = self._next_frame()
            if frame is not None:
                opcode, payload = frame
                if opcode == 0x8:
                    return int.from_bytes(payload[:2], "big")
                continue
            left = deadline - loop.time()
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), max(left, 0.001))
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk

    def _next_frame(self) -> tuple[int, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        length, at = buf[1] & 0x7F, 2
        if length == 126:
            length, at = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            length, at = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < at + length:
            return None
        self.buffer = buf[at + length :]
        return buf[0] & 0x0F, buf[at : at + length]

    def try_send(self, text: bytes) -> bool:
        """Queue one masked text frame and send what the socket takes without blocking.

        False when the socket's send buffer is full (the frame is not queued): the server has
        stopped reading.
        """
        if self.unsent:
            self._flush()
            if self.unsent:
                return False
        self.unsent = frame(text)
        self._flush()
        return True

    def _flush(self) -> None:
        try:
            sent = self.sock.send(self.unsent)
        except BlockingIOError:
            return
        self.unsent = self.unsent[sent:]

    def close(self) -> None:
        self.sock.close()


def frame(text: bytes) -> bytes:
    """A client's text frame (RFC 6455 §5.2: masked; a zero mask keeps the bytes readable)."""
    assert len(text) < 126
    return bytes([0x81, 0x80 | len(text)]) + b"\0\0\0\0" + text


async def send(ws: ClientWebSocketResponse, message: dict[str, Any]) -> None:
    """Send in the socket's subprotocol: msgpack in binary frames, else JSON in text frames."""
    if ws.protocol == "ctb.v1.msgpack":
        await ws.send_bytes(msgpack.packb(message))
    else:
        await ws.send_json(message)
