"""(Being written.)"""

from __future__ import annotations

from aiohttp import web

MIDDLEWARES: list = []


def setup(app: web.Application) -> None:
    return None
