"""What a connected client may say over the game's WebSocket (SPEC §6), and the replies.

``server/ws.py`` runs the socket's life and hands each frame to ``on_frame``: it is decoded
once, dispatched through one table whose fallback replies ``error``, and validated here, at the
edge, before anything reaches the actor. A bad message is answered and counted; more than
``ws_bad_limit`` in ``ws_bad_window`` seconds close the socket with 1008.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.command_types import GetMe
from engine.errors import Banned, GameError, InvalidRequest, RateLimited
from engine.view import PlayerObject
from server import public_view
from server import ws_protocol as proto
from server.broadcaster import BROADCASTER, CLOSE_BANNED, CLOSE_POLICY, Conn
from server.errors import PayloadTooLarge, ws_error
from server.keys import ACTOR, SETTINGS
from server.models import PONG, ClientSettings, Ping, Resync, ack
from server.push import PUSH
from server.validation import validate

log = logging.getLogger("ctb.ws")

Handler = Callable[[web.Application, Conn, dict[str, Any]], Awaitable[None]]


async def on_frame(app: web.Application, conn: Conn, data: bytes | str) -> None:
    try:
        message = proto.decode_message(conn.codec, data)
    except (InvalidRequest, PayloadTooLarge) as error:
        bad_message(app, conn, error)
        return
    handler = HANDLERS.get(message["type"], on_unknown)
    await handler(app, conn, message)


def bad_message(
    app: web.Application, conn: Conn, error: GameError, batch_id: str | None = None
) -> None:
    """Reply ``error``; the (bad_limit + 1)th bad message in the window closes with 1008."""
    conn.send(ws_error(error, batch_id))
    now = asyncio.get_running_loop().time()
    settings = app[SETTINGS]
    bad = conn.bad
    if bad is None:  # most sockets never send a bad message: an empty deque is 600 bytes
        bad = conn.bad = deque()
    bad.append(now)
    while bad and bad[0] <= now - settings.ws_bad_window:
        bad.popleft()
    if len(bad) > settings.ws_bad_limit:
        app[BROADCASTER].close(conn, CLOSE_POLICY, "policy", "too many bad messages")


# -- the dispatch table ---------------------------------------------------------------------


async def on_clicks(app: web.Application, conn: Conn, message: dict[str, Any]) -> None:
    """The socket's side of the one push path (``server/push.py``): answer ``ack`` or ``error``."""
    raw_id = message.get("batch_id")
    echo_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    path = app[PUSH]
    try:
        result = await path.push(app[ACTOR], conn.player_id, message, path.models.ws)
    except InvalidRequest as error:
        bad_message(app, conn, error, echo_id)
        return
    except GameError as error:
        conn.send(ws_error(error, echo_id))
        if isinstance(error, Banned):
            app[BROADCASTER].close(conn, CLOSE_BANNED, "banned", "banned")
        elif not isinstance(error, RateLimited):
            log.info(
                "push refused",
                extra={"event": "push_refused", "code": error.code, "player_id": conn.player_id},
            )
        return
    conn.send(ack(result))


async def on_ping(app: web.Application, conn: Conn, message: dict[str, Any]) -> None:
    try:
        validate(message, Ping)
    except InvalidRequest as error:
        bad_message(app, conn, error)
        return
    conn.send(PONG)


async def on_resync(app: web.Application, conn: Conn, message: dict[str, Any]) -> None:
    wait = resync_wait(app, conn)
    if wait:  # a snapshot is the biggest reply: asked for in a loop it is a flood
        bad_message(app, conn, RateLimited("resync asked for too often", wait))
        return
    try:
        validate(message, Resync)
        me = await app[ACTOR].call(GetMe(player_id=conn.player_id))
    except InvalidRequest as error:
        bad_message(app, conn, error)
        return
    except GameError as error:
        conn.send(ws_error(error))
        return
    send_snapshot(app, conn, me)


def resync_wait(app: web.Application, conn: Conn) -> float:
    """Take a token from the socket's resync bucket; seconds to wait when it is empty."""
    settings = app[SETTINGS]
    now = asyncio.get_running_loop().time()
    burst, every = settings.ws_resync_burst, settings.ws_resync_interval
    tokens = burst if conn.resync_tokens < 0 else conn.resync_tokens
    tokens = min(burst, tokens + (now - conn.resync_at) / every)
    conn.resync_at = now
    if tokens < 1:
        conn.resync_tokens = tokens
        return (1 - tokens) * every
    conn.resync_tokens = tokens - 1
    return 0.0


async def on_unknown(app: web.Application, conn: Conn, message: dict[str, Any]) -> None:
    bad_message(app, conn, proto.unknown_type(message))


HANDLERS: dict[str, Handler] = {
    "clicks": on_clicks,
    "ping": on_ping,
    "resync": on_resync,
}


def send_snapshot(app: web.Application, conn: Conn, me: PlayerObject) -> None:
    settings = ClientSettings.of(app[SETTINGS])
    # The board the broadcaster's next changes build on (SPEC §6), not the actor's newest.
    snapshot = public_view.snapshot(app[BROADCASTER].held_board(), settings)
    conn.send(proto.snapshot_message(snapshot, me))
