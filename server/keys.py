"""Typed keys for what the application shares between its parts (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from actor.actor import Actor
from actor.clock import Clock
from bus.link import GameLink
from persistence.store import Store
from server.auth import Auth
from server.metrics import Metrics
from settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ACTOR = web.AppKey("actor", Actor)  # the game's owner, in the process that holds the state
# The seam (bus/link.py): everything in server/ reaches the game through this, local or remote.
GAME: web.AppKey[GameLink] = web.AppKey("game")
AUTH = web.AppKey("auth", Auth)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
# The game clock: the wall clock in production, a FakeClock in tests.
CLOCK = web.AppKey("clock", Clock)
