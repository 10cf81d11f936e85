"""The application factory: one place that wires settings, state, actor and routes together.

Background work (the actor, the snapshot saver, the broadcaster) lives in ``cleanup_ctx`` so it
starts with the app and stops with it, in reverse order; sockets are closed in ``on_shutdown``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from actor.actor import Actor
from actor.clock import Clock, SystemClock
from persistence.store import open_store
from server.keys import ACTOR, SETTINGS
from settings import Settings

log = logging.getLogger("ctb.server")

CLOCK = web.AppKey("clock", Clock)  # type: ignore[type-abstract]
BODY_LIMIT = 64 * 1024


def load_planet_names(path: Path) -> list[str]:
    names = json.loads(path.read_text())
    if not isinstance(names, list):
        raise ValueError(f"{path} must hold a JSON list of planet names")
    return names


async def game_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the saved state, run the actor on it, and save once more on the way out."""
    settings = app[SETTINGS]
    store = open_store(settings, load_planet_names(settings.planets_file))
    actor = Actor(store.state, app[CLOCK], on_commit=store.append)
    app[ACTOR] = actor
    actor.start()
    await store.start(actor)
    log.info("game ready", extra={"event": "ready", "players": len(store.state.players)})
    yield
    await actor.stop()
    await store.close(actor)


def init_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    app = web.Application(client_max_size=BODY_LIMIT)
    app[SETTINGS] = settings
    app[CLOCK] = clock if clock is not None else SystemClock()
    app.cleanup_ctx.append(game_ctx)
    return app


__all__ = ["ACTOR", "CLOCK", "Actor", "init_app"]
