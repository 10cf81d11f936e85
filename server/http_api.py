"""The players' HTTP API (SPEC §4, §5) and the operator's endpoints (SPEC §10).

Handlers are thin: they authenticate, read and validate the request in full, and only then send
one command to the actor, so a refused request never reaches the game and changes nothing.
Every refusal is a ``GameError`` raised here or by the actor; the ``errors`` middleware turns it
into the SPEC's error shape in one place. Public reads cost the actor nothing per request:
``/api/snapshot`` is the published board, the leaderboard's top and the rounds are encoded once
per state (``server/public_cache.py``). The reads that do enter the actor for one player (``GET
/api/me``, the ranks around you, a ws-token) are limited per client address (``READ_RATE``), and
renames per player (``RENAME_BURST``, one more every ``RENAME_EVERY`` seconds).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from msgspec import UNSET
from prometheus_client import generate_latest

from bus.link import GameLink
from engine.clicks import PushResult
from engine.command_types import Command, CreatePlayer, GetLeaderboard, GetMe, Rename
from engine.errors import Banned, GameError, NotFound, RateLimited, Unavailable
from engine.players import BANNED
from engine.view import Board, PlayerObject
from server import auth, conditional, middleware, public_cache, push
from server.client_address import client_address, limit_key
from server.errors import Unauthorized
from server.keys import AUTH, CLOCK, GAME, METRICS, SETTINGS
from server.middleware import MIDDLEWARES
from server.models import (
    ClientSettings,
    Leaderboard,
    RenameRequest,
    Rounds,
    Session,
    SessionRequest,
    Snapshot,
    Status,
    WsToken,
    encode_json,
)
from server.openapi import Operation, document
from server.overload import OVERLOAD
from server.player_news import PLAYER_NEWS
from server.public_cache import Answer, PublicCache
from server.public_view import etag, snapshot
from server.request_body import ChoiceParam, IntParam, TextParam, read_model, read_object
from server.round_log import round_log_ctx
from server.session_limit import SessionLimiter
from server.token_bucket import KeyedBuckets
from server.token_cache import TokenCache
from settings import Settings

__all__ = ["MIDDLEWARES", "setup"]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A rename limit per player (the SPEC sets none; docs/decisions.md): a few at once, then one
# every RENAME_EVERY seconds. Each rename is a journaled change; 10,500 a second from one
# player were measured before this.
RENAME_BURST = 3
RENAME_EVERY = 10.0


@dataclass(slots=True)
class HttpState:
    """What the handlers share in one app: fixed at setup, or mutated only by the handlers."""

    limiter: SessionLimiter
    settings: ClientSettings
    reads: KeyedBuckets  # per client address
    renames: KeyedBuckets = field(
        default_factory=lambda: KeyedBuckets(1 / RENAME_EVERY, RENAME_BURST)
    )  # per player
    openapi: bytes = b""
    tokens: TokenCache = field(default_factory=TokenCache)
    snapshot: tuple[Board | None, str, bytes] = field(default=(None, "", b""))
    public: PublicCache = field(default_factory=PublicCache)


HTTP = web.AppKey("http", HttpState)

SCOPE = ChoiceParam("scope", ("round", "all"), "round")
BOARD_LIMIT = IntParam("limit", 10, 1, public_cache.MAX_ROWS)
AROUND = ChoiceParam("around", ("me",), None)
ROUNDS_LIMIT = IntParam("limit", 20, 1, public_cache.MAX_ROWS)
IF_NONE_MATCH = TextParam("If-None-Match", where="header")
WAIT = IntParam("wait", 0, 0, 30)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A reply encoded straight from its model (or the engine's view, or plain values)."""
    return web.Response(
        body=encode_json(data), status=status, content_type="application/json", headers=headers
    )


def _actor(request: web.Request) -> GameLink:
    actor = request.app.get(GAME)
    if actor is None or not actor.running:
        raise Unavailable("the game is not running")
    return actor


def player_of(request: web.Request, remember: bool = True) -> str:
    """The player id of a valid player token; 401 for none, forged, expired or a ws token.

    ``remember``: keep the verified token for the next request (``server/token_cache.py``).
    """
    app = request.app
    keys = app[AUTH]
    return app[HTTP].tokens.player(
        auth.bearer(request),
        lambda token: auth.verify_until(keys, token, auth.PLAYER),
        remember=remember,
    )


def spend_read(request: web.Request) -> None:
    """Count one read that enters the actor against the client's address; 429 beyond."""
    app = request.app
    key = limit_key(client_address(request, app[SETTINGS].trusted_proxies))
    wait = app[HTTP].reads.take(key, app[CLOCK].now())
    if wait > 0:
        raise RateLimited("too many reads from this address; slow down", wait)


def cached(request: web.Request, answer: Answer, limit: int) -> web.Response:
    """A public read from the cache: its bytes, or 304 for a client that has them."""
    headers = {"ETag": answer.tag, "Cache-Control": "no-cache"}
    if conditional.not_modified(request, answer.tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=answer.body(limit), content_type="application/json", headers=headers)


async def call_as_player(request: web.Request, cmd: Command) -> Any:
    """Run a command for the token's player; a player that no longer exists is a 401."""
    try:
        return await _actor(request).call(cmd)
    except NotFound:
        raise Unauthorized("this token's player does not exist") from None


# -- players ---------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    overload = request.app.get(OVERLOAD)
    busy = overload.refusal("session") if overload is not None else None
    if busy is not None:  # refused early, before the body is read (server/overload.py)
        return busy
    body = await read_model(request, SessionRequest, optional=True)
    name = None if body.name is UNSET else body.name
    actor = _actor(request)
    app = request.app
    limiter = app[HTTP].limiter
    key = limit_key(client_address(request, app[SETTINGS].trusted_proxies))
    limiter.take(key, app[CLOCK].now())
    try:
        await actor.admit_session(key)  # the limit across gateways (SPEC §11)
        player = await actor.call(CreatePlayer(player_id=str(uuid.uuid4()), name=name))
    except BaseException:
        limiter.give_back(key)  # no player was made: the attempt does not count
        raise
    token = auth.issue(app[AUTH], player["id"], auth.PLAYER)
    return json_response(Session(token, player), status=201)


async def get_me(request: web.Request) -> web.Response:
    """Your player; with ``wait``, a banned player's answer waits for an admin's change.

    The watch starts before the player is read, so an unban between the read and the wait
    still ends the wait (``server/player_news.py``).
    """
    pid = player_of(request)
    spend_read(request)
    wait = WAIT.read(request)
    news = request.app.get(PLAYER_NEWS)
    if not wait or news is None:
        return json_response(await call_as_player(request, GetMe(player_id=pid)))
    async with news.watch(pid) as changed:
        me = await call_as_player(request, GetMe(player_id=pid))
        if me["status"] != BANNED:
            return json_response(me)
        await asyncio.wait({changed}, timeout=wait)
    return json_response(await call_as_player(request, GetMe(player_id=pid)))


async def patch_me(request: web.Request) -> web.Response:
    pid = player_of(request)
    name = (await read_model(request, RenameRequest)).name
    app = request.app
    wait = app[HTTP].renames.take(pid, app[CLOCK].now())
    if wait > 0:
        raise RateLimited("renaming too often; try again later", wait)
    return json_response(await call_as_player(request, Rename(player_id=pid, name=name)))


async def ws_token(request: web.Request) -> web.Response:
    pid = player_of(request, remember=False)  # once a socket: not worth a place in the cache
    spend_read(request)
    me = await call_as_player(request, GetMe(player_id=pid))
    if me["status"] == BANNED:
        raise Banned("this player is banned")
    token = auth.issue(request.app[AUTH], pid, auth.WS)
    return json_response(WsToken(token, auth.WS_TTL))


# -- clicks ----------------------------------------------------------------------------------


async def push_clicks(request: web.Request) -> web.Response:
    """The HTTP side of the one push path (``server/push.py``): decode, then format."""
    path = request.app[push.PUSH]
    try:
        player_id = player_of(request)
        data = await read_object(request)
        actor = _actor(request)
    except GameError as error:
        path.refused(error)
        raise
    result = await path.push(actor, player_id, data, path.models.http)
    return json_response(result)


# -- public reads ----------------------------------------------------------------------------


async def get_snapshot(request: web.Request) -> web.Response:
    board = _actor(request).board
    state = request.app[HTTP]
    cached_board, tag, body = state.snapshot
    if cached_board is not board:  # encode each published board once, however many readers
        tag = etag(board)
        body = encode_json(snapshot(board, state.settings))
        state.snapshot = (board, tag, body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if conditional.not_modified(request, tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


async def get_leaderboard(request: web.Request) -> web.Response:
    scope = SCOPE.read(request)
    limit = BOARD_LIMIT.read(request)
    around = AROUND.read(request)
    if around is None:
        actor, cache = _actor(request), request.app[HTTP].public
        return cached(request, await public_cache.leaderboard(cache, actor, scope), limit)
    cmd = GetLeaderboard(scope=scope, limit=limit, around=player_of(request))
    spend_read(request)
    return json_response(await call_as_player(request, cmd))


async def get_rounds(request: web.Request) -> web.Response:
    limit = ROUNDS_LIMIT.read(request)
    actor, cache = _actor(request), request.app[HTTP].public
    return cached(request, await public_cache.rounds(cache, actor), limit)


# -- operations ------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return json_response(Status("ok"))


async def readyz(request: web.Request) -> web.Response:
    """Ready once the saved state is loaded and the actor runs (``game_ctx`` sets both), and
    while changes can be made durable where a restart finds them: a server whose journal cannot
    write refuses every change, one whose DATA_DIR now leads to another directory saves where a
    restart would not look, and its operator and load balancer should see either here."""
    game = request.app.get(GAME)
    problem = "the game is not ready" if game is None else game.not_ready
    if problem is not None:
        raise Unavailable(problem)
    return json_response(Status("ready"))


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[HTTP].openapi, content_type="application/json")


def operations(
    session_limit: int, push_request: type, settings: Settings | None = None
) -> list[Operation]:
    """The JSON routes: the router registers them and the OpenAPI document describes them."""
    reads = settings if settings is not None else Settings()
    read_limit = (
        f"Counts against the client address's reads: {reads.read_burst} at once, then "
        f"{reads.read_rate:g} a second (429 beyond)."
    )
    players, game, ops = ("players",), ("game",), ("operations",)
    return [
        Operation(
            "POST", "/api/session", create_session, "session",
            "create a player; returns its token (SPEC §3, §5)",
            description=f"At most {session_limit} a minute per client address.",
            request=SessionRequest, request_required=False, reply=Session, status=201,
            errors=(400, 413, 415, 429, 503), tags=players,
        ),
        Operation(
            "GET", "/api/me", get_me, "me", "your player, with both ranks",
            description="With wait=N (seconds) while you are banned, the answer is held until "
            "an admin changes your player (an unban) or N seconds pass: a banned page learns "
            "of its unban at once. Otherwise it comes at once. " + read_limit,
            params=(WAIT,), reply=PlayerObject, errors=(400, 401, 429, 503), bearer=True,
            tags=players,
        ),
        Operation(
            "PATCH", "/api/me", patch_me, "rename", "rename yourself",
            description=f"At most {RENAME_BURST} at once, then one every {RENAME_EVERY:g} s.",
            request=RenameRequest, reply=PlayerObject,
            errors=(400, 401, 403, 413, 415, 429, 503), bearer=True, tags=players,
        ),
        Operation(
            "POST", "/api/ws-token", ws_token, "ws_token",
            f"a token for the WebSocket handshake, valid {auth.WS_TTL} s",
            description=read_limit,
            reply=WsToken, errors=(401, 403, 429, 503), bearer=True, tags=players,
        ),
        Operation(
            "POST", "/api/push_clicks", push_clicks, "push_clicks",
            "add a batch of clicks (SPEC §4)",
            description="A batch_id already applied returns its first result with "
            "duplicate: true. A push beyond a bucket of 3, refilled one per half push "
            "interval, gets 429.",
            request=push_request, reply=PushResult,
            errors=(400, 401, 403, 409, 413, 415, 429, 503), bearer=True, tags=("clicks",),
        ),
        Operation(
            "GET", "/api/snapshot", get_snapshot, "snapshot",
            "the public state and the settings a client needs",
            params=(IF_NONE_MATCH,), reply=Snapshot, reply_headers=("ETag",),
            not_modified=True, errors=(503,), tags=game,
        ),
        Operation(
            "GET", "/api/leaderboard", get_leaderboard, "leaderboard",
            "a leaderboard: the top, or the entries around you",
            description="With around=me (bearer token needed), limit counts the entries on "
            "each side of yours, and the read counts against your address's limit. The top "
            "is the same bytes for every reader of a state; ETag names that state.",
            params=(SCOPE, BOARD_LIMIT, AROUND, IF_NONE_MATCH), reply=Leaderboard,
            reply_headers=("ETag",), not_modified=True,
            errors=(400, 401, 429, 503), bearer=False, tags=game,
        ),
        Operation(
            "GET", "/api/rounds", get_rounds, "rounds",
            "finished rounds, newest first, with summaries",
            params=(ROUNDS_LIMIT, IF_NONE_MATCH), reply=Rounds, reply_headers=("ETag",),
            not_modified=True, errors=(400, 503), tags=game,
        ),
        Operation("GET", "/api/openapi.json", openapi, "openapi", "this document", tags=ops),
        Operation(
            "GET", "/healthz", healthz, "healthz", "liveness: the process answers",
            reply=Status, tags=ops,
        ),
        Operation(
            "GET", "/readyz", readyz, "readyz",
            "readiness: the state is loaded and the actor running",
            reply=Status, errors=(503,), tags=ops,
        ),
    ]  # fmt: skip


DESCRIPTION = (
    'A real-time multiplayer click game. Every error is {"error": {"code", "message", "details"}}.'
)


def setup(app: web.Application, more: list[Operation]) -> None:
    """The players' routes and ``more`` (the admin's), in one table and one document."""
    settings = app[SETTINGS]
    push.setup(app)
    ops = operations(settings.sessions_per_minute, app[push.PUSH].models.http, settings) + more
    app[HTTP] = HttpState(
        limiter=SessionLimiter(settings.sessions_per_minute),
        settings=ClientSettings.of(settings),
        reads=KeyedBuckets(settings.read_rate, settings.read_burst),
        openapi=encode_json(document(ops, DESCRIPTION)),
    )
    middleware.setup(app)
    for op in ops:
        app.router.add_route(op.method, op.path, op.handler, name=op.name)
    app.router.add_get("/metrics", metrics, name="metrics", allow_head=False)
    app.cleanup_ctx.append(round_log_ctx)
