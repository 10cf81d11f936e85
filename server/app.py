"""The application factory: one place that wires settings, state, actor and routes together.

Background work (the actor, the snapshot saver, the broadcaster) lives in ``cleanup_ctx`` so it
starts with the app and stops with it, in reverse order; sockets are closed in ``on_shutdown``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from actor.actor import Actor
from actor.clock import Clock, SystemClock
from bus.link import GameLink
from bus.local import LocalGame
from engine.state import GameState
from persistence.store import open_store
from server import http_api, pages, player_news, ws
from server.address_load import ADDRESS_LOAD, AddressLoad
from server.admin import api as admin_api
from server.admin import routes as admin_routes
from server.auth import check_secret_key, given_auth, load_auth
from server.broadcaster import BROADCASTER
from server.conn_limits import CONN_LIMITS, ConnLimits
from server.keys import ACTOR, AUTH, CLOCK, GAME, METRICS, SETTINGS, STORE
from server.metrics import Metrics
from server.request_body import BODY_LIMIT
from settings import Settings

T = TypeVar("T")

log = logging.getLogger("ctb.server")

# How long a turn waits, after the first message came, for more to join it (docs/decisions.md):
# under load pushes arrive one per pass of the event loop, and each turn costs a clock read, a
# journal write and a round of replies however many pushes it holds.
TURN_LINGER = 0.001


def link(game: GameLink) -> GameLink:
    """``game`` as the seam's type: mypy checks here that it has all of ``GameLink``."""
    return game


def load_planet_names(path: Path) -> list[str]:
    names = json.loads(path.read_text())
    if not isinstance(names, list):
        raise ValueError(f"{path} must hold a JSON list of planet names")
    return names


async def game_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the saved state, run the actor on it, and save once more on the way out."""
    settings = app[SETTINGS]
    store = open_store(settings, load_planet_names(settings.planets_file))
    try:
        # The kept keys live in the locked directory: read (or made) through it, once it is ours.
        app[AUTH] = load_auth(settings, store.data_dir)
    except BaseException:
        await store.close()
        raise
    actor = Actor(
        store.state,
        app[CLOCK],
        on_commit=store.append,
        linger=TURN_LINGER,
        bulk_pace=settings.admin_bulk_pace,
    )
    game = LocalGame(actor, store)
    app[ACTOR], app[STORE] = actor, store
    app[GAME] = link(game)
    metrics = app[METRICS]
    metrics.journal_writable.set_function(lambda: store.write_problem is None)
    actor.turn_observers.append(lambda seconds, _n: metrics.actor_turn_seconds.observe(seconds))
    metrics.actor_queue_depth.set_function(lambda: actor.queue_depth)
    metrics.players_total.set_function(lambda: actor.board.players_total)

    def snapshot_written(seconds: float, size: int) -> None:
        metrics.snapshot_write_seconds.observe(seconds)
        metrics.snapshot_bytes.set(size)

    store.saver.observers.append(snapshot_written)

    async def after_a_fan_out(fn: Callable[[GameState], T]) -> T:
        """The store's way in between two turns, once a fan-out is over (``after_fan_out``)."""
        broadcaster = app.get(BROADCASTER)
        if broadcaster is not None and broadcaster.conns:
            await broadcaster.after_fan_out(2 * settings.broadcast_interval)
        return await actor.between_turns(fn)

    actor.start()
    game.start()
    await store.start(after_a_fan_out)
    log.info("game ready", extra={"event": "ready", "players": len(store.state.players)})
    yield
    log.info("stopping: finishing the actor's turn and saving", extra={"event": "stopping"})
    await game.stop()
    await actor.stop()
    await store.close()
    saved = store.saver.status.saved_version == store.state.version
    log.info(
        "stopped" if saved else "stopped without saving the last changes: see the errors above",
        extra={"event": "stopped", "version": store.state.version, "saved": saved},
    )


async def gateway_ctx(app: web.Application) -> AsyncIterator[None]:
    """A gateway (SPEC §11): the game is the engine's, reached over Redis; the keys are given."""
    # Imported here: the single process never loads the Redis client (8 MB of a process's memory).
    from bus import metrics as bus_metrics
    from bus.gateway import RemoteGame, default_gateway_id

    settings = app[SETTINGS]
    assert settings.redis_url is not None
    app[AUTH] = given_auth(settings)
    gateway = settings.gateway_id or default_gateway_id()
    game = RemoteGame(settings.redis_url, gateway, settings.bus_shed_latency)
    app[GAME] = link(game)
    app[METRICS].players_total.set_function(lambda: game.board.players_total if game.running else 0)
    bus_metrics.register(app[METRICS].registry, game)
    per_address = app[CONN_LIMITS].per_address  # the cap holds across gateways
    presence = game.presence
    presence.connections, presence.connection_cap = per_address.open, per_address.cap
    per_address.elsewhere = presence.elsewhere
    registry = app[METRICS].registry
    presence.sockets = lambda: int(registry.get_sample_value("ws_connections_active") or 0)
    await game.start()
    log.info("gateway ready", extra={"event": "ready", "gateway": game.gateway})
    yield
    await game.stop()


def init_app(
    settings: Settings, *, clock: Clock | None = None, gateway: bool = False
) -> web.Application:
    """The server's application: the game in this process, or (``gateway``) over Redis."""
    app = web.Application(client_max_size=BODY_LIMIT, middlewares=http_api.MIDDLEWARES)
    app[SETTINGS] = settings
    app[CLOCK] = clock if clock is not None else SystemClock()
    check_secret_key(settings)  # the kept keys are read once DATA_DIR is locked
    app[METRICS] = Metrics()
    app[CONN_LIMITS] = ConnLimits.from_settings(settings)
    app[ADDRESS_LOAD] = AddressLoad(shed_rate=settings.shed_rate)
    app.cleanup_ctx.append(gateway_ctx if gateway else game_ctx)
    # The one place the route tables meet: the players' and the admin's, one OpenAPI document.
    http_api.setup(app, admin_routes.operations())
    ws.setup(app)
    player_news.setup(app)  # after ws: it tells the sockets the broadcaster holds
    admin_api.setup(app)  # after ws: the admin hub closes players' sockets through it
    pages.setup(app)
    return app


__all__ = ["ACTOR", "CLOCK", "Actor", "init_app"]
