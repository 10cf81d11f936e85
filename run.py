"""The one entry point: ``python run.py`` starts the game server on uvloop (SPEC §2, §10)."""

from __future__ import annotations

import logging
import sys

import uvloop
from aiohttp import web

import settings as settings_mod
from server import logs
from server.app import init_app


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
    web.run_app(
        init_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=5.0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
