"""The two roles of SPEC §11 as processes: the engine and a gateway.

- **engine**: the game as the single process holds it (DATA_DIR locked, actor, journal,
  snapshots, rounds) with ``bus/engine_host.py`` in place of sockets. It serves no HTTP: players
  and admins reach it only through gateways.
- **gateway**: the whole HTTP and WebSocket server (``server/``) with the game behind
  ``bus/gateway.py``; many of them share one ``HOST:PORT`` (``SO_REUSEPORT``) on one machine, or
  stand behind a load balancer on many.

``ROLE=all`` starts one engine and ``GATEWAYS`` gateways and watches them
(``cluster/supervisor.py``); a child it starts dies with it (``cluster/parent_watch.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator

import uvloop
from aiohttp import web

from actor.clock import SystemClock
from bus.engine_host import EngineHost
from bus.local import LocalGame
from cluster import parent_watch
from persistence.store import check_data_dir
from server import gc_policy, listener
from server.app import game_ctx, init_app
from server.keys import CLOCK, GAME, METRICS, SETTINGS
from server.metrics import Metrics
from server.session_limit import SessionLimiter
from settings import Settings

log = logging.getLogger("ctb")

FREEZE_EVERY = 10.0  # seconds between two freezes of the engine's heap


def run_engine(settings: Settings) -> int:
    check_data_dir(settings.data_dir)
    uvloop.install()
    asyncio.run(_engine(settings))
    return 0


def run_gateway(settings: Settings) -> int:
    uvloop.install()
    app = init_app(settings, gateway=True)
    gc_policy.attach(app, tuned=settings.gc_policy == "tuned")
    app.on_startup.append(_watch_parent)
    listener.run(app, settings.host, settings.port, shutdown_timeout=5.0, reuse_port=True)
    return 0


async def _watch_parent(_app: web.Application) -> None:
    parent_watch.watch(lambda: signal.raise_signal(signal.SIGTERM))


async def _freeze_forever(tuned: bool) -> None:
    """The engine's heap is the game, which lives as long as the process, plus each turn's short-
    lived commands and replies. Frozen every ``FREEZE_EVERY`` seconds, the game stays out of
    the collector's walks, which otherwise took a sixth of the engine's CPU under load
    (docs/benchmarks.md); what the game drops still dies by reference counting."""
    if not tuned:
        return
    gc.collect()
    while True:
        gc.freeze()
        await asyncio.sleep(FREEZE_EVERY)


def engine_app(settings: Settings) -> web.Application:
    """The engine's state and its host on the bus, as an app without routes: the same
    ``game_ctx`` as the single process, so loading, saving and stopping are the same code."""
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = SystemClock()
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(game_ctx)
    app.cleanup_ctx.append(engine_host_ctx)
    return app


async def engine_host_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    game = app[GAME]
    assert isinstance(game, LocalGame) and settings.redis_url is not None
    epoch = int(time.time() * 1000)  # grows with every start, whatever Redis remembers
    sessions = SessionLimiter(settings.sessions_per_minute)
    host = EngineHost(game, settings.redis_url, epoch, settings.broadcast_interval, sessions)
    await host.start()
    yield
    await host.stop()


async def _engine(settings: Settings) -> None:
    app = engine_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parent_watch.watch(stop.set)
    await runner.setup()  # loads the state and starts the actor and the host
    freezer = asyncio.create_task(_freeze_forever(settings.gc_policy == "tuned"), name="gc-freeze")
    try:
        await stop.wait()
    finally:
        freezer.cancel()
        with contextlib.suppress(Exception):
            await runner.cleanup()
