"""The one entry point: ``python run.py`` starts the game server on uvloop (SPEC §2, §10)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvloop
from aiohttp import web

import settings as settings_mod
from persistence.errors import StartupError
from persistence.store import check_data_dir
from server import logs
from server.app import init_app
from server.http_protocol import GameAppRunner


def main(argv: list[str] | None = None) -> int:
    try:
        settings = settings_mod.load(argv)
    except settings_mod.SettingsError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    log = logging.getLogger("ctb")
    log.info("starting", extra={"event": "start", "host": settings.host, "port": settings.port})
    uvloop.install()
    try:
        check_data_dir(settings.data_dir)  # before anything else writes its files there
        serve(init_app(settings), settings)
    except StartupError as error:  # DATA_DIR unusable or no valid saved state (SPEC §7)
        log.error("cannot start", extra={"event": "startup_failed", "error": str(error)})
        print(f"run.py: {error}", file=sys.stderr)
        return 1
    return 0


def serve(app: web.Application, settings: settings_mod.Settings) -> None:
    """Serve until SIGTERM or SIGINT, then shut down in order, as ``web.run_app`` would.

    Not ``web.run_app`` itself: it cannot take a runner, and the game's runner answers requests
    aiohttp cannot parse in the error shape (server/http_protocol.py).
    """

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runner = GameAppRunner(app, access_log=None, shutdown_timeout=5.0, keepalive_timeout=75.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
            await stop.wait()
        finally:
            await runner.cleanup()  # stops accepting, closes sockets, then the game's cleanup

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
