"""A player hears at once when an admin changed their player (SPEC §8, §9).

Boards are the same bytes for everyone and carry no player's own object, so a change an admin
makes to one player (a rename, a move to another planet, a score reset, a ban or an unban, one
by one or by a bulk job) would reach that player's page only at its next ``/api/me``. This
actor listener reads the ``changed`` ids of the turn's admin events (``engine/admin/events.py``)
and:

- sends ``{"type": "me", "data": <player object>}`` to each open socket of those players, read
  with ``GetMe`` after the turn (the listener itself must not block the actor);
- wakes the ``GET /api/me?wait=N`` requests of those players. A banned player has no socket
  (4003 closed it), so the page holds such a request open and learns of its unban at once,
  without asking every second.

Ids with neither a socket nor a waiter cost a dictionary lookup: a bulk step over thousands of
players who are not online sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bus.link import GameLink
from engine.admin.events import is_admin_event
from engine.command_types import GetMe
from engine.errors import GameError
from server import ws_protocol as proto
from server.broadcaster import BROADCASTER, Broadcaster
from server.keys import GAME
from server.models import MeMessage


@dataclass(slots=True)
class PlayerNews:
    actor: GameLink
    broadcaster: Broadcaster
    waiters: dict[str, set[asyncio.Future[None]]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def on_turn(self, events: list[dict[str, Any]]) -> None:
        """GameLink listener: wake the waiters of the changed players, and tell their sockets."""
        online: list[str] = []
        by_player = self.broadcaster.by_player
        for event in events:
            if not is_admin_event(event):
                continue
            for player_id in event.get("changed", ()):
                self.wake(player_id)
                if player_id in by_player:
                    online.append(player_id)
        if online:
            task = asyncio.get_running_loop().create_task(self.tell(dict.fromkeys(online)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def tell(self, player_ids: Iterable[str]) -> None:
        """Send each player's object as it is now to every socket of the player.

        The reads go to the mailbox together, so the actor answers them in one turn.
        """
        ids = list(player_ids)
        reads = [self.actor.call(GetMe(player_id=player_id)) for player_id in ids]
        answers = await asyncio.gather(*reads, return_exceptions=True)
        for player_id, me in zip(ids, answers, strict=True):
            if isinstance(me, GameError):  # gone, or the game is stopping: nothing to tell
                continue
            if isinstance(me, BaseException):
                raise me
            message = MeMessage(data=me)
            frames: dict[str, bytes] = {}  # encoded once per subprotocol the player's tabs speak
            for conn in list(self.broadcaster.by_player.get(player_id, ())):
                codec = conn.codec
                if codec.name not in frames:
                    frames[codec.name] = proto.encode_frame(codec, message)
                conn.write(frames[codec.name])

    def wake(self, player_id: str) -> None:
        for waiter in self.waiters.pop(player_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def watch(self, player_id: str) -> AsyncIterator[asyncio.Future[None]]:
        """A future done when an admin next changes the player (or the server stops).

        Made before the caller reads the player, so a change between that read and the wait
        is not missed.
        """
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(player_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            mine = self.waiters.get(player_id)
            if mine is not None:
                mine.discard(waiter)
                if not mine:
                    del self.waiters[player_id]

    def close(self) -> None:
        """At shutdown: every held request answers now rather than hold the server up."""
        for player_id in list(self.waiters):
            self.wake(player_id)


PLAYER_NEWS = web.AppKey("player_news", PlayerNews)


async def player_news_ctx(app: web.Application) -> AsyncIterator[None]:
    """After the broadcaster's: the news goes to the sockets it holds."""
    news = app[PLAYER_NEWS] = PlayerNews(app[GAME], app[BROADCASTER])
    app[GAME].subscribe(news.on_turn)
    yield
    news.close()
    for task in list(news.tasks):
        task.cancel()
    await asyncio.gather(*news.tasks, return_exceptions=True)


async def release_waiters(app: web.Application) -> None:
    """on_shutdown: held ``/api/me?wait`` requests answer before the server waits for them."""
    news = app.get(PLAYER_NEWS)
    if news is not None:
        news.close()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(player_news_ctx)
    app.on_shutdown.append(release_waiters)
