"""The players' HTTP API (SPEC §4, §5) and the operator's endpoints (SPEC §10).

Handlers are thin: they authenticate, read and validate the request in full, and only then send
one command to the actor, so a refused request never reaches the game and changes nothing.
Every refusal is a ``GameError`` raised here or by the actor; the ``errors`` middleware turns it
into the SPEC's error shape in one place. Public reads (``/api/snapshot``) use the actor's
published board and never enter its mailbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import generate_latest

from actor.actor import Actor
from engine.clicks import PushResult, validate_push
from engine.errors import Banned, GameError, InvalidRequest, NotFound, Unavailable
from engine.players import BANNED, clean_name
from engine.rules import Rules
from engine.view import Board
from server import auth, middleware
from server.client_address import client_address, limit_key
from server.errors import Unauthorized
from server.keys import ACTOR, AUTH, CLOCK, METRICS, SETTINGS, STORE
from server.middleware import MIDDLEWARES
from server.openapi import document
from server.public_view import etag, snapshot_data
from server.request_body import query_choice, query_int, read_object
from server.round_log import round_log_ctx
from server.session_limit import SessionLimiter
from server.token_cache import TokenCache

__all__ = ["MIDDLEWARES", "setup"]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUSH_FIELDS = frozenset({"batch_id", "clicks"})
NAME_FIELDS = frozenset({"name"})
PUSH_RESULTS = (
    "ok",
    "duplicate",
    "throttled",
    "rate_limited",
    "invalid",
    "banned",
    "round_not_active",
    "unauthorized",
)
# pushes_total{result}: a refusal counts under its error code, a malformed push as "invalid".
INVALID_CODES = frozenset({"invalid_request", "payload_too_large", "unsupported_media_type"})


@dataclass(slots=True)
class HttpState:
    """What the handlers share in one app: fixed at setup, or mutated only by the handlers."""

    rules: Rules
    limiter: SessionLimiter
    openapi: bytes
    pushes: dict[str, Any]  # pushes_total's series by result, made once
    tokens: TokenCache = field(default_factory=TokenCache)
    snapshot: tuple[Board | None, str, bytes] = field(default=(None, "", b""))


HTTP = web.AppKey("http", HttpState)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _actor(request: web.Request) -> Actor:
    actor = request.app.get(ACTOR)
    if actor is None or not actor.running:
        raise Unavailable("the game is not running")
    return actor


def player_of(request: web.Request) -> str:
    """The player id of a valid player token; 401 for none, forged, expired or a ws token."""
    app = request.app
    keys = app[AUTH]
    return app[HTTP].tokens.player(
        auth.bearer(request), lambda token: auth.verify_until(keys, token, auth.PLAYER)
    )


async def call_as_player(request: web.Request, cmd: dict[str, Any]) -> Any:
    """Run a command for the token's player; a player that no longer exists is a 401."""
    try:
        return await _actor(request).call(cmd)
    except NotFound:
        raise Unauthorized("this token's player does not exist") from None


# -- players ---------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    body = await read_object(request, NAME_FIELDS, optional=True)
    name = clean_name(body["name"]) if "name" in body else None
    actor = _actor(request)
    app = request.app
    limiter = app[HTTP].limiter
    key = limit_key(client_address(request, app[SETTINGS].trusted_proxies))
    limiter.take(key, app[CLOCK].now())
    try:
        player = await actor.call(
            {"op": "create_player", "player_id": str(uuid.uuid4()), "name": name}
        )
    except BaseException:
        limiter.give_back(key)  # no player was made: the attempt does not count
        raise
    token = auth.issue(app[AUTH], player["id"], auth.PLAYER)
    return json_response({"token": token, "player": player}, status=201)


async def get_me(request: web.Request) -> web.Response:
    pid = player_of(request)
    return json_response(await call_as_player(request, {"op": "me", "player_id": pid}))


async def patch_me(request: web.Request) -> web.Response:
    pid = player_of(request)
    body = await read_object(request, NAME_FIELDS)
    if "name" not in body:
        raise InvalidRequest("name is required", {"field": "name"})
    name = clean_name(body["name"])
    me = await call_as_player(request, {"op": "me", "player_id": pid})
    if me["status"] == BANNED:
        raise Banned("a banned player cannot rename")
    return json_response(
        await call_as_player(request, {"op": "rename", "player_id": pid, "name": name})
    )


async def ws_token(request: web.Request) -> web.Response:
    pid = player_of(request)
    me = await call_as_player(request, {"op": "me", "player_id": pid})
    if me["status"] == BANNED:
        raise Banned("this player is banned")
    token = auth.issue(request.app[AUTH], pid, auth.WS)
    return json_response({"token": token, "expires_in": auth.WS_TTL})


# -- clicks ----------------------------------------------------------------------------------


def json_integers(counts: Any) -> Any:
    """Read ``5.0`` as the integer it is, as JSON Schema does (2020-12 validation §6.1.1).

    JSON has one number type; the OpenAPI document says ``integer`` and a client may well
    serialise a whole number with a fraction. ``5.5``, strings and booleans stay refused.
    """
    if isinstance(counts, list):
        return [int(c) if type(c) is float and c.is_integer() else c for c in counts]
    return counts


def count_push(request: web.Request, result: str) -> None:
    series = request.app[HTTP].pushes.get(result)
    if series is None:  # a refusal code not listed up front: still a small, fixed set
        series = request.app[METRICS].pushes_total.labels(result)
    series.inc()


def push_result_label(result: PushResult) -> str:
    if result.duplicate:
        return "duplicate"
    return "throttled" if result.throttled else "ok"


async def push_clicks(request: web.Request) -> web.Response:
    try:
        pid = player_of(request)
        body = await read_object(request, PUSH_FIELDS)
        batch_id, clicks = validate_push(
            body.get("batch_id"), json_integers(body.get("clicks")), request.app[HTTP].rules
        )
        result: PushResult = await call_as_player(
            request, {"op": "push", "player_id": pid, "batch_id": batch_id, "clicks": clicks}
        )
    except GameError as error:
        code = "invalid" if error.code in INVALID_CODES else error.code
        count_push(request, code)
        raise
    count_push(request, push_result_label(result))
    metrics = request.app[METRICS]
    if not result.duplicate:
        if result.accepted:
            metrics.clicks_accepted_total.inc(result.accepted)
        if result.throttled:
            metrics.clicks_throttled_total.inc(result.throttled)
    return json_response(result.to_dict())


# -- public reads ----------------------------------------------------------------------------


def _matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 §13.1.2: a weak comparison against any listed tag, or ``*``."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


async def get_snapshot(request: web.Request) -> web.Response:
    board = _actor(request).board
    state = request.app[HTTP]
    cached_board, tag, body = state.snapshot
    if cached_board is not board:  # encode each published board once, however many readers
        tag = etag(board)
        body = orjson.dumps(snapshot_data(board, request.app[SETTINGS]))
        state.snapshot = (board, tag, body)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and _matches(if_none_match, tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


async def get_leaderboard(request: web.Request) -> web.Response:
    scope = query_choice(request, "scope", ("round", "all")) or "round"
    limit = query_int(request, "limit", 10, 1, 100)
    around = query_choice(request, "around", ("me",))
    cmd: dict[str, Any] = {"op": "leaderboard", "scope": scope, "limit": limit}
    if around is None:
        return json_response(await _actor(request).call(cmd))
    cmd["around"] = player_of(request)
    return json_response(await call_as_player(request, cmd))


async def get_rounds(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 20, 1, 100)
    rounds = await _actor(request).call({"op": "rounds", "limit": limit})
    return json_response({"rounds": rounds})


# -- operations ------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready once the saved state is loaded and the actor runs (``game_ctx`` sets both), and
    while changes can be made durable: a server whose journal cannot write refuses every
    change, and its operator and load balancer should see that here."""
    actor = request.app.get(ACTOR)
    if actor is None or not actor.running:
        raise Unavailable("the game is not ready")
    store = request.app.get(STORE)
    problem = None if store is None else store.write_problem
    if problem is not None:
        raise Unavailable(f"changes cannot be saved: {problem}")
    return json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[HTTP].openapi, content_type="application/json")


ROUTES = [
    web.post("/api/session", create_session, name="session"),
    web.get("/api/me", get_me, name="me", allow_head=False),
    web.patch("/api/me", patch_me, name="rename"),
    web.post("/api/ws-token", ws_token, name="ws_token"),
    web.post("/api/push_clicks", push_clicks, name="push_clicks"),
    web.get("/api/snapshot", get_snapshot, name="snapshot", allow_head=False),
    web.get("/api/leaderboard", get_leaderboard, name="leaderboard", allow_head=False),
    web.get("/api/rounds", get_rounds, name="rounds", allow_head=False),
    web.get("/api/openapi.json", openapi, name="openapi", allow_head=False),
    web.get("/healthz", healthz, name="healthz", allow_head=False),
    web.get("/readyz", readyz, name="readyz", allow_head=False),
    web.get("/metrics", metrics, name="metrics", allow_head=False),
]


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[HTTP] = HttpState(
        rules=settings.rules,
        limiter=SessionLimiter(settings.sessions_per_minute),
        openapi=orjson.dumps(document(settings)),
        # Present at 0 from the start, as Prometheus advises for known label values.
        pushes={result: app[METRICS].pushes_total.labels(result) for result in PUSH_RESULTS},
    )
    middleware.setup(app)
    app.router.add_routes(ROUTES)
    app.cleanup_ctx.append(round_log_ctx)
