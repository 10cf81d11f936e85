"""One structured JSON log line per round event (SPEC §10): a round started, a round finished.

The actor hands every listener the events of its turn; this listener only logs them (the
WebSocket side forwards the same events to the pages). It runs inside the actor's turn, so it
does nothing but format a line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from server.keys import GAME

log = logging.getLogger("ctb.rounds")


def log_round_events(events: list[dict[str, Any]]) -> None:
    for event in events:
        kind = event.get("event")
        data = event.get("data") or {}
        if kind == "started":
            log.info(
                "round %s started",
                data.get("id"),
                extra={
                    "event": "round_started",
                    "round_id": data.get("id"),
                    "planets": data.get("planets"),
                    "target": data.get("target"),
                    "ends_at": data.get("ends_at"),
                },
            )
        elif kind == "finished":
            log.info(
                "round %s finished: %s",
                data.get("id"),
                data.get("winner") or "draw",
                extra={
                    "event": "round_finished",
                    "round_id": data.get("id"),
                    "winner": data.get("winner"),
                    "reason": data.get("reason"),
                    "totals": data.get("totals"),
                    "duration": data.get("duration"),
                },
            )


async def round_log_ctx(app: web.Application) -> AsyncIterator[None]:
    """Subscribe once the actor exists (``game_ctx`` runs before this context)."""
    app[GAME].subscribe(log_round_events)
    yield
