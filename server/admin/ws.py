"""``GET /api/admin/ws``: the admin socket, and the hub that feeds every admin socket (SPEC §8).

A tool that is not a browser (a script, a bot, a dashboard) opens it with ``Authorization:
Bearer <ADMIN_TOKEN>`` on the handshake, as every admin request does (SPEC §8). A browser cannot
put that header on a WebSocket, so the admin page first asks ``POST /api/admin/ws-token`` (with
the admin token) for a token valid 90 s, and opens ``/api/admin/ws?token=...`` with it, as
players do with ``/ws``. A ``token`` in the URL is only ever read as such a ws token, so the
admin token itself is never accepted in a URL, where proxies and logs would keep it.

Server → admin, JSON text frames: ``{"type": "history", "data": {"interval", "points"}}`` at
once (the last 10 minutes of figures, oldest first: ``server/admin/history.py``), then
``{"type": "metrics", "data": {...}}`` at once and every 5 s (``server/admin/metrics.py``),
``{"type": "event", "data": {"kind", "at", ...}}`` as each admin event happens (ban, unban,
kick, patch, reset_score, flag, intervention, pause, resume, bulk progress, rounds;
``engine/admin/events.py``), ``{"type": "pong"}``. Admin → server: ``{"type": "ping"}``;
anything else gets ``{"type": "error", ...}``.

The hub is an actor listener: after a turn it closes the sockets of the players the turn
banned (4003) or kicked (4000) at once, and queues the events for every admin socket; the
frames go out in the next loop iteration, not inside the actor's turn. Each frame is encoded
once and written to every admin socket without waiting (as the broadcaster does); an admin
socket over the buffer limit is closed with 1013.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from engine.admin.events import is_admin_event
from engine.errors import GameError
from server import auth, ws
from server import ws_protocol as proto
from server.admin import auth as admin_auth
from server.admin.history import MetricsHistory
from server.admin.metrics import PUSH_INTERVAL, Sampler
from server.broadcaster import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER
from server.errors import Unauthorized, http_error
from server.keys import AUTH, CLOCK, GAME, METRICS, SETTINGS

log = logging.getLogger("ctb.admin")

MAX_MESSAGE = 4096


@dataclass(slots=True, eq=False)
class AdminSocket:
    ws: web.WebSocketResponse
    transport: Any  # asyncio.Transport
    closing: bool = False


@dataclass(slots=True)
class AdminHub:
    app: web.Application
    sampler: Sampler
    buffer_limit: int
    interval: float = PUSH_INTERVAL
    history: MetricsHistory = field(init=False)
    sockets: dict[AdminSocket, None] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.history = MetricsHistory(self.interval)

    def on_turn(self, events: list[dict[str, Any]]) -> None:
        """GameLink listener: close banned and kicked players' sockets, queue the admins' events."""
        queued = bool(self.pending)
        for event in events:
            if not is_admin_event(event):
                continue
            for player_id in event.get("banned", ()):
                ws.close_player(self.app, player_id)
            for player_id in event.get("kicked", ()):
                ws.close_player(self.app, player_id, kick=True)
            self.pending.append({"type": "event", "data": event["data"]})
        if self.pending and not queued:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        messages, self.pending = self.pending, []
        if messages and self.sockets:
            self.send(b"".join(proto.encode_frame(proto.JSON, m) for m in messages))

    def send(self, data: bytes) -> None:
        """Write the same bytes to every admin socket without waiting on any of them."""
        for sock in list(self.sockets):
            transport = sock.transport
            if sock.closing or sock.ws.closed or transport.is_closing():
                continue
            if transport.get_write_buffer_size() > self.buffer_limit:
                self.close(sock, CLOSE_TRY_AGAIN_LATER, "too slow to read")
                continue
            transport.write(data)

    def close(self, sock: AdminSocket, code: int, message: str) -> None:
        sock.closing = True
        self.sockets.pop(sock, None)
        task = asyncio.get_running_loop().create_task(
            sock.ws.close(code=code, message=message.encode())
        )
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def metrics_message(self, *, close_window: bool) -> dict[str, Any]:
        figures = self.sampler.figures(close_window=close_window, admin_sockets=len(self.sockets))
        return {"type": "metrics", "data": figures}

    def sample(self) -> None:
        """Close the figures' window: keep them in the history, send them to every admin socket."""
        message = self.metrics_message(close_window=True)
        self.history.add(message["data"])
        if self.sockets:
            self.send(proto.encode_frame(proto.JSON, message))

    def history_message(self) -> dict[str, Any]:
        return self.history.message(self.sampler.clock.now())

    async def push_metrics(self) -> None:
        """Every 5 s: a sample, sent to every admin socket (SPEC §8)."""
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    async def close_all(self) -> None:
        socks = list(self.sockets)
        self.sockets.clear()
        for sock in socks:
            sock.closing = True
        await asyncio.gather(
            *(s.ws.close(code=CLOSE_GOING_AWAY, message=b"shutdown") for s in socks),
            return_exceptions=True,
        )


ADMIN_HUB = web.AppKey("admin_hub", AdminHub)


async def admin_hub_ctx(app: web.Application) -> AsyncIterator[None]:
    sampler = Sampler(app[GAME], app[METRICS], app[CLOCK])
    settings = app[SETTINGS]
    hub = AdminHub(app, sampler, settings.ws_buffer_limit, settings.admin_metrics_interval)
    app[ADMIN_HUB] = hub
    app[GAME].subscribe(hub.on_turn)
    task = asyncio.create_task(hub.push_metrics(), name="admin-metrics")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await hub.close_all()


async def close_admin_sockets(app: web.Application) -> None:
    """on_shutdown: admin sockets close with 1001 like the players'."""
    hub = app.get(ADMIN_HUB)
    if hub is not None:
        await hub.close_all()


def verify_handshake(request: web.Request) -> str:
    """The admin's name from the handshake's credential: a ``token`` in the URL is an admin ws
    token; without one, the bearer header is an admin's token (with its lockout and rate
    limit). Else 401 or 429."""
    if "token" not in request.query and "Authorization" in request.headers:
        return admin_auth.admit(request)
    return verify_ws_token(request)


def verify_ws_token(request: web.Request) -> str:
    """The admin the URL's admin ws token names, one this server has; or 401/429."""
    app = request.app
    guard = app[admin_auth.ADMIN_GUARD]
    token = guard.guarded(request, lambda: request.query.get("token", ""))
    if not token:
        raise Unauthorized("missing token")
    try:
        admin = auth.verify(app[AUTH], token, auth.ADMIN_WS)
        if not admin_auth.is_admin(app, admin):
            raise Unauthorized("this token was made for an admin this server does not have")
    except Unauthorized:
        guard.failed(request)
        raise
    return admin


async def handle(request: web.Request) -> web.StreamResponse:
    try:
        admin = verify_handshake(request)
    except GameError as error:  # the handshake's refusal, in the error shape
        return http_error(error)
    app = request.app
    hub = app[ADMIN_HUB]
    socket = web.WebSocketResponse(
        heartbeat=app[SETTINGS].ws_heartbeat, max_msg_size=MAX_MESSAGE, compress=False
    )
    await socket.prepare(request)
    transport = request.transport
    if transport is None:
        return socket
    sock = AdminSocket(socket, transport)
    first = (hub.history_message(), hub.metrics_message(close_window=False))
    sock.transport.write(b"".join(proto.encode_frame(proto.JSON, m) for m in first))
    hub.sockets[sock] = None
    log.info("admin socket open", extra={"event": "admin_ws_connect", "admin": admin})
    try:
        async for msg in socket:
            if msg.type is WSMsgType.TEXT and not sock.closing and not transport.is_closing():
                transport.write(proto.encode_frame(proto.JSON, reply_message(msg.data)))
    finally:
        hub.sockets.pop(sock, None)
        log.info("admin socket closed", extra={"event": "admin_ws_disconnect", "admin": admin})
    return socket


def reply_message(data: str) -> dict[str, Any]:
    """The answer to one admin message: ``pong``, or an ``error``."""
    try:
        message = proto.decode_message(proto.JSON, data)
    except GameError as error:
        return {"type": "error", "code": error.code, "message": error.message}
    if message["type"] == "ping":
        return {"type": "pong"}
    return {"type": "error", "code": "invalid_request", "message": "only ping is understood here"}
