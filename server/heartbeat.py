"""The WebSocket heartbeat (SPEC §6): one sweep for every socket instead of a timer per socket.

aiohttp's own heartbeat resets a per-socket timer on every frame a client sends, a callback and
a timer move per push: about 3 % of the server's CPU at 2,000 clients pushing every second.
Here a frame only sets ``Conn.heard``; every half heartbeat one sweep looks at each socket:

- heard since the last sweep: it is alive, start counting again;
- silent for a whole heartbeat (``ws_heartbeat``, 20 s, two sweeps): send a ping;
- silent half a heartbeat after that ping (no pong, no frame): close it as ``heartbeat``.

So a client is pinged after 20 to 30 s of silence and closed 10 s after a ping it did not answer.
The client's own pings are answered by ``server/ws.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from server.broadcaster import Broadcaster

log = logging.getLogger("ctb.ws")

PING = b"\x89\x00"  # a final PING frame with no payload (server frames are not masked)
PING_AFTER = 3  # sweeps without a frame: the sweep that finds a whole heartbeat of silence
CLOSE_AFTER = PING_AFTER + 1  # one more sweep (half a heartbeat) without the pong


@dataclass(slots=True)
class Heartbeat:
    broadcaster: Broadcaster
    interval: float  # ws_heartbeat: silence before a ping; the pong is due in half of it

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval / 2)
            self.sweep()

    def sweep(self) -> None:
        for conn in list(self.broadcaster.conns):
            if conn.heard:
                conn.heard, conn.quiet = False, 0
                continue
            conn.quiet += 1
            if conn.quiet == PING_AFTER:
                conn.write(PING)
            elif conn.quiet >= CLOSE_AFTER:  # no pong: the peer is gone or stuck
                self.broadcaster.cut(conn, "heartbeat")
