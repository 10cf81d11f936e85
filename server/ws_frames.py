"""Client frames must be masked (RFC 6455 §5.1): aiohttp's WebSocket reader does not check.

"The server MUST close the connection upon receiving a frame that is not masked", with 1002
(protocol error). aiohttp parses the mask bit and unmasks when it is set, but takes an unmasked
frame as it is. ``MaskedFrames`` sits in front of its reader (``GameRequestHandler.set_parser``
puts it there): it walks the frame headers of the bytes that arrive, passes on everything up to
the first unmasked frame, and from there on passes nothing. Then a game socket's handler closes
it with 1002 through the broadcaster (``server/ws.py`` sets ``on_unmasked``); any other socket
(the admin's) gets ``CLOSE_UNMASKED`` written and its connection closed by the protocol
(``GameRequestHandler``). Only headers are looked at, a few bytes a frame; the payloads go to
aiohttp's reader untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MASK_BIT = 0x80
LENGTH_BYTES = {126: 2, 127: 8}  # the 7-bit length's escapes: a 16- or 64-bit length follows
MASK_KEY = 4
# A close frame (server frames are not masked): 1002, "unmasked".
CLOSE_UNMASKED = bytes([0x88, 10]) + (1002).to_bytes(2, "big") + b"unmasked"


class MaskedFrames:
    """Frame headers seen so far, and whether an unmasked frame came."""

    __slots__ = ("_head", "_on_unmasked", "_skip", "parser", "unmasked")

    def __init__(self, parser: Any, on_unmasked: Callable[[], None]) -> None:
        self.parser = parser  # aiohttp's WebSocketReader: feed_data(bytes), feed_eof()
        self.unmasked = False
        self._head = bytearray()  # the current frame's header, while it is incomplete
        self._skip = 0  # payload bytes of the current frame still to come
        self._on_unmasked = on_unmasked

    def on_unmasked(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` instead at the first unmasked frame (at once, if one came)."""
        self._on_unmasked = callback
        if self.unmasked:
            callback()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.unmasked:
            return False, b""
        good = self.scan(data)
        if good == len(data):
            return self.parser.feed_data(data)
        self.unmasked = True
        if good:
            self.parser.feed_data(data[:good])  # the masked frames before it
        self._on_unmasked()
        return False, b""

    def feed_eof(self) -> None:
        self.parser.feed_eof()

    def scan(self, data: bytes) -> int:
        """How many leading bytes of ``data`` belong to masked frames (all, if every one is)."""
        pos, end = 0, len(data)
        if self._skip or self._head:  # the rest of a frame begun in an earlier read
            pos = self._finish_frame(data)
            if pos < 0:
                return 0
        while pos < end:
            if end - pos < 2:
                self._head += data[pos:]
                return end
            second = data[pos + 1]
            if not second & MASK_BIT:
                return pos
            length = second & 0x7F
            size = 2 + LENGTH_BYTES.get(length, 0) + MASK_KEY
            if end - pos < size:
                self._head += data[pos:]
                return end
            if length >= 126:
                length = int.from_bytes(data[pos + 2 : pos + size - MASK_KEY], "big")
            pos += size + length
        self._skip = pos - end
        return end

    def _finish_frame(self, data: bytes) -> int:
        """Where the frame begun before ``data`` ends in it (``len(data)`` or more: not in it);
        -1 when its header shows no mask."""
        head = self._head
        pos = 0
        if head:
            if len(head) < 2:
                pos = 2 - len(head)
                head += data[:pos]
                if len(head) < 2:
                    return len(data)
                if not head[1] & MASK_BIT:
                    head.clear()
                    return -1
            size = 2 + LENGTH_BYTES.get(head[1] & 0x7F, 0) + MASK_KEY
            take = size - len(head)
            head += data[pos : pos + take]
            pos += take
            if len(head) < size:
                return len(data)
            length = head[1] & 0x7F
            if length >= 126:
                length = int.from_bytes(head[2 : size - MASK_KEY], "big")
            head.clear()
            self._skip = length
        pos += self._skip
        self._skip = 0
        if pos > len(data):
            self._skip = pos - len(data)
        return pos
