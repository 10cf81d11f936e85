"""The public reads that need the actor, answered once per state rather than once per request.

``/api/snapshot`` is built from the published board (``server/http_api.py``). The leaderboard's
top may ask for 100 rows where the board holds 10, and the finished rounds are not on the board
at all, so these two still ask the actor, but once per state they show:

- the leaderboard once per state version and scope: the actor gives the top ``MAX_ROWS`` and
  the board's size; each ``limit`` is a slice of that, encoded the first time it is asked;
- the finished rounds once per round id and status, for they change only when a round ends
  (``engine/rounds.finish`` adds the summary in the turn that marks the round finished).

Readers that arrive while the actor answers for a new state wait for that one answer instead of
asking again. Each reply carries an ETag naming the state it shows, and ``If-None-Match`` with
it gets 304, as the snapshot does. 2,200 reads a second of the top 100 from one client held a
core; from here they cost the actor at most one query for each turn that changed the game.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from bus.link import GameLink
from engine.command_types import GetLeaderboard, GetRounds
from server.models import Rounds, encode_json

MAX_ROWS = 100  # the most a reader may ask for (the limit parameters' upper bound)


@dataclass(slots=True)
class Answer:
    """One state's rows, read once, and their encodings by limit."""

    tag: str
    rows: Any
    encode: Callable[[Any, int], bytes]
    bodies: dict[int, bytes] = field(default_factory=dict)

    def body(self, limit: int) -> bytes:
        body = self.bodies.get(limit)
        if body is None:
            body = self.bodies[limit] = self.encode(self.rows, limit)
        return body


@dataclass(slots=True)
class Held:
    state: Hashable
    answer: asyncio.Future[Answer]


@dataclass(slots=True)
class PublicCache:
    held: dict[str, Held] = field(default_factory=dict)

    async def answer(
        self, name: str, state: Hashable, read: Callable[[], Awaitable[Answer]]
    ) -> Answer:
        """``name``'s answer for ``state``: the one held, or the one being read, or a new read."""
        held = self.held.get(name)
        if held is None or held.state != state:
            task = asyncio.ensure_future(read())
            task.add_done_callback(_retrieve)
            held = self.held[name] = Held(state, task)
        try:
            return await asyncio.shield(held.answer)
        except Exception:
            if self.held.get(name) is held:
                del self.held[name]  # a failed read (the game not running) is not kept
            raise


def _retrieve(task: asyncio.Future[Answer]) -> None:
    """Mark a failed read's error as seen: its readers may all have gone meanwhile."""
    if not task.cancelled():
        task.exception()


def _leaderboard_body(rows: dict[str, Any], limit: int) -> bytes:
    return encode_json({**rows, "entries": rows["entries"][:limit]})


def _rounds_body(rows: list[Any], limit: int) -> bytes:
    return encode_json(Rounds(rows[:limit]))


async def leaderboard(cache: PublicCache, actor: GameLink, scope: str) -> Answer:
    """The top of the ``scope`` leaderboard as of the latest published state."""
    version = actor.board.state_version

    async def read() -> Answer:
        rows = await actor.call(GetLeaderboard(scope=scope, limit=MAX_ROWS))
        return Answer(f'"{version}"', rows, _leaderboard_body)

    return await cache.answer(f"leaderboard:{scope}", version, read)


async def rounds(cache: PublicCache, actor: GameLink) -> Answer:
    """The finished rounds, newest first, as of the latest published round."""
    current = actor.board.round
    state = (current.id, current.status)

    async def read() -> Answer:
        rows = await actor.call(GetRounds(limit=MAX_ROWS))
        return Answer(f'"{current.id}-{current.status}"', rows, _rounds_body)

    return await cache.answer("rounds", state, read)
