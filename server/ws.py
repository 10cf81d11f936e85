"""``GET /ws``: the game's WebSocket (SPEC §6), one handler task per socket.

The handshake is refused with HTTP 401 (SPEC §5 error shape) for a missing, invalid or expired
WebSocket token, for a player token, and for an unknown player. After it the server sends the
``snapshot`` at once, then boards and round events from the broadcaster; each client message
goes to ``server/ws_messages.py``, which validates and answers it. Every reply is written to the
transport without waiting (see ``server/broadcaster.py``), so a socket's own replies never queue
behind an await on a slow peer.

Heartbeat: ``server/heartbeat.py`` pings a socket silent for ``ws_heartbeat`` (20 s) and cuts it
when no pong comes within half that (SPEC §6); aiohttp's per-socket timer is off, and this
handler answers the client's pings itself. A client frame without a mask closes the socket with
1002 (RFC 6455 §5.1; ``server/ws_frames.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WebSocketError, WSCloseCode, WSMsgType, web

from engine.command_types import GetMe
from engine.errors import Banned, GameError, NotFound, RateLimited, Unavailable
from engine.players import BANNED
from engine.view import PlayerObject
from server import auth
from server import ws_protocol as proto
from server.address_load import ADDRESS_LOAD
from server.broadcaster import (
    BROADCASTER,
    CLOSE_BANNED,
    CLOSE_GOING_AWAY,
    CLOSE_KICKED,
    Broadcaster,
    Conn,
)
from server.client_address import client_address, is_trusted_proxy, limit_key
from server.conn_limits import CONN_LIMITS, RETRY_AFTER
from server.errors import Unauthorized, http_error, ws_error
from server.gc_policy import GC_POLICY
from server.heartbeat import HEARTBEAT, Heartbeat
from server.keys import AUTH, GAME, METRICS, SETTINGS
from server.overload import OVERLOAD, Overload
from server.push import PUSH
from server.ws_messages import on_frame, send_snapshot

log = logging.getLogger("ctb.ws")

PROTOCOL_ERROR = WSCloseCode.PROTOCOL_ERROR  # 1002: an unmasked client frame (RFC 6455 §5.1)


def setup(app: web.Application) -> None:
    app.router.add_get("/ws", handle)
    app.cleanup_ctx.append(broadcaster_ctx)
    app.on_shutdown.append(close_all)


async def broadcaster_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the broadcaster beside the actor; it starts after it and stops before it."""
    settings, actor = app[SETTINGS], app[GAME]
    broadcaster = Broadcaster(
        actor,
        app[METRICS],
        settings.broadcast_interval,
        buffer_limit=settings.ws_buffer_limit,
        slow_ticks=settings.ws_slow_ticks,
    )
    overload = Overload(
        settings.broadcast_interval,
        app[METRICS],
        settings.overload_cpu,
        addresses=app[ADDRESS_LOAD],
    )
    overload.behind = lambda: app[GAME].behind if GAME in app else None
    broadcaster.overload = app[OVERLOAD] = overload
    broadcaster.gc_policy = app.get(GC_POLICY)  # run.py attaches one; test apps go without
    app[BROADCASTER] = broadcaster
    actor.subscribe(broadcaster.on_turn)
    task = asyncio.create_task(broadcaster.run(), name="broadcaster")
    heartbeat = app[HEARTBEAT] = Heartbeat(broadcaster, settings.ws_heartbeat)
    beats = asyncio.create_task(heartbeat.run(), name="heartbeat")
    yield
    task.cancel()
    beats.cancel()
    await asyncio.gather(task, beats, return_exceptions=True)
    await broadcaster.close_all(CLOSE_GOING_AWAY, "shutdown")


async def close_all(app: web.Application) -> None:
    """on_shutdown: every socket is closed with 1001 (SPEC §6, §7) before the actor stops."""
    broadcaster = app.get(BROADCASTER)
    if broadcaster is not None:
        await broadcaster.close_all(CLOSE_GOING_AWAY, "shutdown")


def close_player(app: web.Application, player_id: str, *, kick: bool = False) -> int:
    """Close a player's sockets: 4003 after a ban (SPEC §6), 4000 for a kick. For admin code."""
    broadcaster = app.get(BROADCASTER)
    if broadcaster is None:
        return 0
    if kick:
        return broadcaster.close_player(player_id, CLOSE_KICKED, "kicked")
    return broadcaster.close_player(player_id, CLOSE_BANNED, "banned")


# -- the handshake and the socket's life ----------------------------------------------------


async def handle(request: web.Request) -> web.StreamResponse:
    """The handshake: refused in the error shape (and logged), or the socket's whole life."""
    app = request.app
    if not app[BROADCASTER].accepting:
        return refuse(request, Unavailable("the server is shutting down"), "shutdown")
    busy = app[OVERLOAD].refusal("ws")  # before any token check or actor call
    if busy is not None:
        return busy
    try:
        player_id = auth.verify(app[AUTH], query_token(request), auth.WS)
        try:
            me = await app[GAME].call(GetMe(player_id=player_id))
        except NotFound:
            raise Unauthorized("unknown player") from None
    except Unauthorized as error:
        return refuse(request, error, "unauthorized")
    player_id = me["id"]  # the game's own string: the copy decoded from the token can go

    # Handed over in a box the socket empties once the snapshot is out, so no frame holds the
    # player object (about 1 KB) for the socket's whole life.
    boxed_me: list[PlayerObject] = [me]
    del me
    # The caps of server/conn_limits.py, held from here to the handler's end.
    limits = app[CONN_LIMITS]
    address_key = proxied_address_key(request)
    if address_key is not None and not limits.per_address.take(address_key):
        limited = RateLimited("too many connections from this address", RETRY_AFTER)
        return refuse(request, limited, "per_address")
    try:
        if not limits.per_player.take(player_id):
            limited = RateLimited("too many open sockets for this player", RETRY_AFTER)
            return refuse(request, limited, "per_player", player_id=player_id)
        try:
            return await run_socket(request, player_id, boxed_me)
        finally:
            limits.per_player.give_back(player_id)
    finally:
        if address_key is not None:
            limits.per_address.give_back(address_key)


def query_token(request: web.Request) -> str:
    """The ``token`` query parameter; Unauthorized when there is none.

    Read from the raw query rather than ``request.query``, which aiohttp parses once and keeps
    on the request, and the request lives as long as the socket: the token (a few hundred
    bytes) and its parsed query would be kept for nothing.
    """
    query = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
    token = next((value for name, value in query if name == "token"), "")
    if not token:
        raise Unauthorized("missing token")
    return token


def refuse(
    request: web.Request, error: GameError, reason: str, **fields: Any
) -> web.StreamResponse:
    """A refused handshake: the SPEC §5 error reply and a log line (rate-limited per reason)."""
    response = http_error(error)
    request.app[CONN_LIMITS].refusals.note(
        "ws_refused",
        reason,
        status=response.status,
        address=client_address(request, request.app[SETTINGS].trusted_proxies),
        **fields,
    )
    return response


def proxied_address_key(request: web.Request) -> str | None:
    """The key a proxied client's sockets count under; None for a direct client.

    A direct client's connections are counted when accepted (``server/listener.py``); behind a
    trusted proxy the peer is the proxy, so its sockets count under the forwarded address.
    """
    proxies = request.app[SETTINGS].trusted_proxies
    if not proxies or not is_trusted_proxy(request.remote or "", proxies):
        return None
    return limit_key(client_address(request, proxies))


async def run_socket(
    request: web.Request, player_id: str, boxed_me: list[PlayerObject]
) -> web.StreamResponse:
    app = request.app
    settings, broadcaster = app[SETTINGS], app[BROADCASTER]
    ws = web.WebSocketResponse(
        protocols=proto.PROTOCOLS,
        autoping=False,  # pings are answered in ``serve``; the heartbeat sees every pong
        max_msg_size=settings.ws_frame_limit,
        compress=False,  # one encoded frame for every client: no per-socket deflate state
        decode_text=False,  # text frames stay bytes: the 4 KiB limit counts bytes
    )
    try:
        await ws.prepare(request)
    except ConnectionResetError:  # the client gave up during the handshake: not a server fault
        log.info("ws handshake lost", extra={"event": "ws_handshake_lost"})
        return ws
    transport = request.transport
    if transport is None:  # the peer left during the handshake
        return ws
    if settings.ws_send_buffer is not None:
        limit_send_buffer(transport, settings.ws_send_buffer)
    conn = Conn(
        ws,
        transport,
        player_id,
        proto.codec_for(ws.ws_protocol, app[PUSH].models),
        limit=settings.ws_buffer_limit,
        on_slow=broadcaster.drop_slow,
    )
    me = boxed_me.pop()
    if me["status"] == BANNED:
        conn.send(ws_error(Banned("this player is banned")))
        await ws.close(code=CLOSE_BANNED, message=b"banned")
        log.info(
            "ws refused",
            extra={"event": "ws_refused", "reason": "banned", "player_id": player_id},
        )
        return ws

    metrics = app[METRICS]
    metrics.ws_connect_total.inc()
    metrics.ws_connections_active.inc()
    log.info(
        "ws connect",
        extra={"event": "ws_connect", "player_id": player_id, "protocol": conn.codec.name},
    )
    # Snapshot and registration happen with no await between them: no board can slip by.
    # Registering also tells the actor when this is the player's first socket (``online``).
    send_snapshot(app, conn, me)
    broadcaster.add(conn)
    del me  # the snapshot is out: nothing of it stays with the socket
    frames = getattr(request.protocol, "frames", None)  # server/ws_frames.py
    if frames is not None:
        frames.on_unmasked(lambda: broadcaster.close(conn, PROTOCOL_ERROR, "protocol", "unmasked"))
    reason = ""
    try:
        reason = await serve(app, conn)
        if conn.closer is not None:  # closed by us: let the close frame carry our code
            await asyncio.shield(conn.closer)
    finally:
        broadcaster.remove(conn)
        # aiohttp cancels the handler when the connection drops (a missed pong included).
        reason = conn.reason or reason or lost_reason(ws)
        metrics.ws_connections_active.dec()
        metrics.ws_disconnect_total.labels(reason=reason).inc()
        if reason == "heartbeat":
            metrics.ws_heartbeat_fail_total.inc()
        log.info(
            "ws disconnect",
            extra={
                "event": "ws_disconnect",
                "reason": reason,
                "player_id": player_id,
                # The code of the close we started, else the one the client sent (aiohttp's
                # close_code is the client's answer to ours: often 1000 after our 1008).
                "code": conn.close_code if conn.close_code is not None else ws.close_code,
                "peer_code": ws.close_code,
            },
        )
    return ws


def limit_send_buffer(transport: asyncio.Transport, size: int) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Not every transport is a TCP socket; the limit is an optimisation, not a must.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


async def serve(app: web.Application, conn: Conn) -> str:
    """Answer the client's messages until the socket ends; returns why it ended."""
    ws = conn.ws
    while True:
        msg = await ws.receive()
        conn.heard = True
        if msg.type is WSMsgType.TEXT or msg.type is WSMsgType.BINARY:
            if conn.pushing:  # the push before this message is answered first
                await conn.push_answered()
            pending = on_frame(app, conn, msg.data)
            if pending is not None:
                await pending
            if conn.closing:
                return conn.reason or "closed"
        elif msg.type is WSMsgType.PONG:
            continue
        elif msg.type is WSMsgType.PING:
            await ws.pong(msg.data)
        elif msg.type is WSMsgType.ERROR:
            if isinstance(msg.data, WebSocketError):  # aiohttp closed it with this code
                conn.close_code = msg.data.code
                return "too_big" if msg.data.code == WSCloseCode.MESSAGE_TOO_BIG else "protocol"
            return lost_reason(ws)
        elif msg.type is WSMsgType.CLOSE or msg.type is WSMsgType.CLOSING:
            return "client_close"
        elif msg.type is WSMsgType.CLOSED:
            return "closed"


def lost_reason(ws: web.WebSocketResponse) -> str:
    """Why a socket ended that neither side closed in good order (the heartbeat's cut says so
    itself, in ``Conn.reason``)."""
    return "error" if ws.exception() is not None else "closed"
