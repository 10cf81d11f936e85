"""The server task that steps bulk jobs between the players' turns (SPEC §8, engine/bulk.py).

A job is applied a step at a time: each ``admin_bulk_step`` is one actor message (journaled
like any command), and the runner awaits its reply and then yields to the event loop before
the next, so pushes, acks and boards run between two steps and players feel no pause. Several
running jobs take turns, one step each.

How big a step is: the actor's turn must stay well under 20 ms. ``bench/admin_bench.py``
measured, at a million players on a loaded machine, a step of 250 bans at p95 6.4 ms (max
16 ms) and 250 score resets at p95 28 ms (max 76 ms): a reset moves the player on both
leaderboards. So bans and moves go 100 a step, resets 40, unbans 250 (an unban touches no
leaderboard). A step over a filter also tests at most ``bulk.SCAN`` players' slots, so a filter
that matches few players moves on in short steps too. ``ADMIN_BULK_PACE`` adds a wait between
steps for an operator who wants a job to go gentler still.

The runner only steps jobs it was told of (``follow``: created or resumed through the API).
A job running at shutdown is saved as running and loads as ``interrupted``
(``bulk.interrupt_running``); an admin resumes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from actor.actor import Actor
from engine.bulk import RUNNING
from engine.command_types import AdminBulkStep
from engine.errors import Conflict, NotFound, Unavailable
from server.keys import ACTOR, SETTINGS

log = logging.getLogger("ctb.admin")

STEP_LIMITS = {"ban": 100, "move_planet": 100, "reset_score": 40, "unban": 250}
RETRY_AFTER = 1.0  # seconds before stepping again after the journal refused a write


@dataclass(slots=True)
class BulkRunner:
    actor: Actor
    pace: float = 0.0
    running: dict[int, str] = field(default_factory=dict)  # job id -> action
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def follow(self, job: dict[str, Any]) -> None:
        """Step this job (a job dict from the engine) until it is no longer running."""
        if job.get("status") == RUNNING:
            self.running[job["id"]] = job["action"]
            self.wake.set()

    async def run(self) -> None:
        # Nothing to look for at start: a job running when the server stopped loads as
        # interrupted, and only a resume (``follow``) sets it going again.
        while True:
            if not self.running:
                self.wake.clear()
                await self.wake.wait()
            for job_id, action in list(self.running.items()):
                await self.step(job_id, action)
                await asyncio.sleep(self.pace)  # sleep(0): one turn of the loop for the players

    async def step(self, job_id: int, action: str) -> None:
        cmd = AdminBulkStep(job_id=job_id, limit=STEP_LIMITS[action])
        try:
            job = await self.actor.call(cmd)
        except (Conflict, NotFound):  # cancelled (or gone) since the last step
            self.running.pop(job_id, None)
            return
        except Unavailable:
            await asyncio.sleep(RETRY_AFTER)
            return
        except Exception:
            log.exception("bulk step failed", extra={"event": "bulk_error", "job_id": job_id})
            self.running.pop(job_id, None)
            return
        if job["status"] != RUNNING:
            self.running.pop(job_id, None)
            log.info(
                "bulk job %s",
                job["status"],
                extra={
                    "event": "bulk_" + job["status"],
                    "job_id": job_id,
                    "action": action,
                    "done": job["done"],
                    "skipped": job["skipped"],
                    "total": job["total"],
                },
            )


BULK_RUNNER = web.AppKey("bulk_runner", BulkRunner)


async def bulk_runner_ctx(app: web.Application) -> AsyncIterator[None]:
    """Step jobs while the app runs; stopped before the actor, so a job's last step is saved."""
    runner = app[BULK_RUNNER] = BulkRunner(app[ACTOR], app[SETTINGS].admin_bulk_pace)
    task = asyncio.create_task(runner.run(), name="bulk-runner")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
