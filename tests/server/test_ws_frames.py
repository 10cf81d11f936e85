"""Client frames must be masked (RFC 6455 §5.1): the frame walk, and a raw socket that breaks
the rule is closed with 1002."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from server.ws_frames import MaskedFrames
from tests.server.conftest import admin_json, metric, ws_player
from tests.server.wsclient import until


def frame(payload: bytes, *, masked: bool = True, opcode: int = 0x1) -> bytes:
    """A final frame as a client sends it; a zero mask key leaves the payload as it is."""
    size = len(payload)
    mask = 0x80 if masked else 0
    if size < 126:
        head = bytes([0x80 | opcode, mask | size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, mask | 126]) + struct.pack("!H", size)
    else:
        head = bytes([0x80 | opcode, mask | 127]) + struct.pack("!Q", size)
    return head + (b"\0\0\0\0" if masked else b"") + payload


class Parser:
    """What aiohttp's reader would have been given."""

    def __init__(self) -> None:
        self.fed = b""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.fed += data
        return False, b""

    def feed_eof(self) -> None:
        pass


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 70_000])
def test_masked_frames_of_every_length_pass_whole_in_any_split(size: int) -> None:
    """Masked frames with 7-, 16- and 64-bit lengths pass unchanged, however the bytes arrive."""
    data = frame(b"x" * size) + frame(b'{"type":"ping"}') + frame(b"", opcode=0x9)
    for step in (1, 3, 7, len(data)):
        parser = Parser()
        frames = MaskedFrames(parser, lambda: None)
        for i in range(0, len(data), step):
            frames.feed_data(data[i : i + step])
        assert parser.fed == data and not frames.unmasked


@pytest.mark.parametrize("step", [1, 2, 5, 1000])
def test_an_unmasked_frame_stops_the_stream_where_it_starts(step: int) -> None:
    """The frames before an unmasked one pass; nothing from its header on does."""
    good = frame(b"a" * 130) + frame(b"b")
    data = good + frame(b"evil", masked=False) + frame(b"c")
    parser = Parser()
    seen: list[bool] = []
    frames = MaskedFrames(parser, lambda: seen.append(True))
    for i in range(0, len(data), step):
        frames.feed_data(data[i : i + step])
    assert frames.unmasked and seen == [True]
    # At most the header's first byte goes on before its second one shows the missing mask.
    assert data.startswith(parser.fed) and len(good) <= len(parser.fed) <= len(good) + 1


def upgrade(token: str, path: str = "/ws") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    head = (
        f"GET {path}?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    return head.encode()


async def test_an_unmasked_client_frame_closes_the_socket_with_1002(client: TestClient) -> None:
    """A raw client that sends an unmasked frame gets a close frame with 1002, and the
    connection ends; its masked ping before that was answered."""
    token, _ = await ws_player(client)
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(upgrade(token))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101")
        writer.write(frame(b'{"type":"ping"}'))
        received = b""
        while b'{"type":"pong"}' not in received:  # the masked ping is answered
            received += await asyncio.wait_for(reader.read(65536), 5)
        writer.write(frame(b'{"type":"ping"}', masked=False))
        while not reader.at_eof():
            received += await asyncio.wait_for(reader.read(65536), 10)
        assert received.count(b'{"type":"pong"}') == 1  # the unmasked one is not read at all
        assert bytes([0x88, 0x0A]) + struct.pack("!H", 1002) + b"unmasked" in received
        await until(lambda: metric(client, "ws_disconnect_total", reason="protocol") == 1)
    finally:
        writer.close()


async def test_an_unmasked_frame_on_the_admin_socket_closes_it_with_1002(
    client: TestClient,
) -> None:
    """A socket whose handler does not take the close itself (the admin's) still gets 1002
    and loses its connection."""
    token = (await admin_json(client, "POST", "/api/admin/ws-token"))["token"]
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(upgrade(token, "/api/admin/ws"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101")
        writer.write(frame(b'{"type":"ping"}', masked=False))
        received = b""
        while not reader.at_eof():
            received += await asyncio.wait_for(reader.read(65536), 10)
        assert received.endswith(bytes([0x88, 0x0A]) + struct.pack("!H", 1002) + b"unmasked")
    finally:
        writer.close()


SIZES = st.sampled_from([0, 1, 125, 126, 127, 200, 65535, 65536, 70000])


@settings(max_examples=300, deadline=None)
@given(
    frames=st.lists(st.tuples(SIZES, st.booleans()), min_size=1, max_size=6),
    steps=st.lists(st.sampled_from([1, 2, 3, 5, 8, 13, 100, 5000, 100000]), min_size=1),
)
def test_any_frames_in_any_split_pass_exactly_up_to_the_first_unmasked_one(
    frames: list[tuple[int, bool]], steps: list[int]
) -> None:
    """Whatever the frames and however the bytes arrive, what passes is every byte before the
    first unmasked frame (at most its first header byte more), and the callback comes once."""
    encoded = [frame(b"z" * size, masked=masked) for size, masked in frames]
    data = b"".join(encoded)
    firsts = [i for i, (_, masked) in enumerate(frames) if not masked]
    cut = sum(len(f) for f in encoded[: firsts[0]]) if firsts else None
    parser = Parser()
    seen: list[bool] = []
    masked_frames = MaskedFrames(parser, lambda: seen.append(True))
    pos = 0
    while pos < len(data):
        step = steps[pos % len(steps)]
        masked_frames.feed_data(data[pos : pos + step])
        pos += step
    if cut is None:
        assert parser.fed == data and seen == []
    else:
        assert seen == [True]
        assert data.startswith(parser.fed) and cut <= len(parser.fed) <= cut + 1
