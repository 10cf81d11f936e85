"""PLACEHOLDER for the engine and gateway roles (SPEC §11), only so that the supervisor can be
run and tested: the engine is the single process of sections 1-10 on a port of its own; a
gateway answers ``/healthz`` on the shared ``HOST:PORT``. Neither touches Redis.
"""

from __future__ import annotations

import signal

from aiohttp import web

from cluster import parent_watch
from persistence.store import check_data_dir
from server import listener
from server.app import init_app
from settings import Settings


async def _watch_parent(app: web.Application) -> None:
    parent_watch.watch(lambda: signal.raise_signal(signal.SIGTERM))


def run_engine(settings: Settings) -> int:
    parent_watch.arm()
    check_data_dir(settings.data_dir)
    app = init_app(settings)
    app.on_startup.append(_watch_parent)
    listener.run(app, "127.0.0.1", 0, shutdown_timeout=5.0)
    return 0


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def run_gateway(settings: Settings) -> int:
    parent_watch.arm()
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    app.on_startup.append(_watch_parent)
    web.run_app(app, host=settings.host, port=settings.port, reuse_port=True, print=None)
    return 0
