"""The WebSocket heartbeat (SPEC §6): one sweep for every socket instead of a timer per socket.

aiohttp's own heartbeat resets a per-socket timer on every frame a client sends, a callback and
a timer move per push: about 3 % of the server's CPU at 2,000 clients pushing every second.
Here a frame only sets ``Conn.heard``; every quarter heartbeat (5 s) one sweep looks at each
socket:

- heard since the last sweep: it is alive, start counting again;
- four sweeps in a row without a frame (a whole heartbeat, ``ws_heartbeat``, 20 s): a ping;
- two more sweeps without a pong or any frame (half a heartbeat, 10 s after the ping): cut as
  ``heartbeat``.

So a silent client is pinged 20 to 25 s after its last frame and cut 30 to 35 s after it, never
later than the 40 s the SPEC's "ping every 20 s, closed when no pong within 10 s" allows. With a
sweep every half heartbeat the cut came 40 to 50 s after the last frame: the sweep's step is
the cut's slack. The client's own pings are answered by ``server/ws.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from server.broadcaster import Broadcaster

log = logging.getLogger("ctb.ws")

PING = b"\x89\x00"  # a final PING frame with no payload (server frames are not masked)
SWEEPS = 4  # sweeps per heartbeat
PING_AFTER = SWEEPS  # sweeps without a frame: a whole heartbeat of silence
CLOSE_AFTER = PING_AFTER + SWEEPS // 2  # and half a heartbeat more without the pong


@dataclass(slots=True)
class Heartbeat:
    broadcaster: Broadcaster
    interval: float  # ws_heartbeat: silence before a ping; the pong is due in half of it

    @property
    def period(self) -> float:
        """Seconds between two sweeps."""
        return self.interval / SWEEPS

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
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


HEARTBEAT = web.AppKey("heartbeat", Heartbeat)
