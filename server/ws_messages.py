"""What a connected client may say over the game's WebSocket (SPEC §6), and the replies.

``server/ws.py`` runs the socket's life and hands each frame to ``on_frame``: it is decoded
into its model in one typed step (``Codec.read``: the message's shape and the push's limits
checked at once, at the edge) and dispatched through one table. A frame that step refuses goes
the long way (``on_misfit``): parsed, its type looked up (an unknown one is answered ``error``)
and checked by its model, which names the field that is wrong, so every refusal reads as the
SPEC says. A bad message is answered and counted; more than ``ws_bad_limit`` in
``ws_bad_window`` seconds close the socket with 1008.

A push goes to the actor with a reply function (``pushed``) that the actor calls after the
turn's commit, inside the turn: it writes the ``ack`` or the ``error`` straight to the socket.
Until then the socket's next message waits (``Conn.push_answered``), so replies keep the order
of the messages and one client has at most one push in the mailbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from aiohttp import web

from engine.clicks import PushResult
from engine.command_types import GetMe
from engine.errors import Banned, GameError, InvalidRequest, RateLimited
from engine.view import PlayerObject
from server import public_view
from server import ws_protocol as proto
from server.broadcaster import BROADCASTER, CLOSE_BANNED, CLOSE_POLICY, Conn
from server.errors import InternalError, PayloadTooLarge, ws_error
from server.keys import GAME, SETTINGS
from server.models import PONG, ClientSettings, Ping, Resync, ack
from server.push import PUSH
from server.validation import validate

log = logging.getLogger("ctb.ws")

Handler = Callable[[web.Application, Conn, Any], Awaitable[None] | None]


def on_frame(app: web.Application, conn: Conn, data: bytes) -> Awaitable[None] | None:
    """Handle one client message; what is left to await, if anything (a resync's snapshot)."""
    read = conn.codec.read
    if read is None or len(data) > proto.MAX_MESSAGE:
        return on_misfit(app, conn, data)
    try:
        message = read(data)
    except msgspec.DecodeError:  # or its ValidationError: the long way says what is wrong
        return on_misfit(app, conn, data)
    return HANDLERS[message.__struct_config__.tag](app, conn, message)


def on_misfit(app: web.Application, conn: Conn, data: bytes) -> Awaitable[None] | None:
    """A message the typed step refused, read the long way to word the refusal; a few fit their
    model after all (a count written ``5.0``) and are handled as usual."""
    try:
        raw = proto.decode_message(conn.codec, data)
    except (InvalidRequest, PayloadTooLarge) as error:
        bad_message(app, conn, error)
        return None
    kind = raw["type"]
    echo_id = None
    if kind == "clicks":
        raw_id = raw.get("batch_id")
        echo_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None
        model: Any = app[PUSH].models.ws
    elif kind == "resync":
        wait = resync_wait(app, conn)
        if wait:  # taken before the check, as a well-formed resync takes it
            bad_message(app, conn, RateLimited("resync asked for too often", wait))
            return None
        model = Resync
    elif kind == "ping":
        model = Ping
    else:
        bad_message(app, conn, proto.unknown_type(raw))
        return None
    try:
        message = validate(raw, model)
    except InvalidRequest as error:
        if kind == "clicks":
            app[PUSH].refused(error)
        bad_message(app, conn, error, echo_id)
        return None
    if kind == "resync":
        return send_fresh_snapshot(app, conn)
    return HANDLERS[kind](app, conn, message)


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


def on_clicks(app: web.Application, conn: Conn, message: Any) -> None:
    """The socket's side of the one push path (``server/push.py``): ``pushed`` answers it."""
    conn.pushing = True
    reply = partial(pushed, app, conn, message.batch_id)
    app[PUSH].send(app[GAME], conn.player_id, message, reply)


def pushed(
    app: web.Application,
    conn: Conn,
    batch_id: str,
    result: PushResult,
    error: BaseException | None,
) -> None:
    """A push's reply, in the actor's turn after its commit: ``ack`` or ``error`` on the socket.

    ``result`` is the push's result when ``error`` is None (the actor's ``Reply``).
    """
    conn.push_settled()
    path = app[PUSH]
    if error is None:
        conn.write(proto.encode_frame(conn.codec, ack(path.applied(result))))
        return
    if not isinstance(error, GameError):  # a bug, logged by the actor: the client tries again
        conn.send(ws_error(InternalError("the server failed on this push"), batch_id))
        return
    error = path.refusal(error)
    if isinstance(error, InvalidRequest):
        bad_message(app, conn, error, batch_id)
        return
    conn.send(ws_error(error, batch_id))
    if isinstance(error, Banned):
        app[BROADCASTER].close(conn, CLOSE_BANNED, "banned", "banned")
    elif not isinstance(error, RateLimited):
        log.info(
            "push refused",
            extra={"event": "push_refused", "code": error.code, "player_id": conn.player_id},
        )


def on_ping(app: web.Application, conn: Conn, message: Ping) -> None:
    conn.send(PONG)


def on_resync(app: web.Application, conn: Conn, message: Resync) -> Awaitable[None] | None:
    wait = resync_wait(app, conn)
    if wait:  # a snapshot is the biggest reply: asked for in a loop it is a flood
        bad_message(app, conn, RateLimited("resync asked for too often", wait))
        return None
    return send_fresh_snapshot(app, conn)


async def send_fresh_snapshot(app: web.Application, conn: Conn) -> None:
    try:
        me = await app[GAME].call(GetMe(player_id=conn.player_id))
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


# Keyed by the message's ``type``; a type not here never gets past ``on_misfit``.
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
