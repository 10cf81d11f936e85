"""The actor stepping its own bulk jobs (SPEC §8, ``engine/admin/bulk.py``), as it ticks the round.

A bulk job is applied a step at a time, each step an ``admin_bulk_step`` command the actor sends
itself and journals like any other. Once a turn has applied a step (or created or resumed a
job: the engine's ``bulk`` admin event says so, heard as a board listener hears the turn's
events, so the turn's own loop checks nothing), the stepper puts the next step in the mailbox,
behind whatever players sent meanwhile, so their pushes, acks and boards run between two steps
and they feel no pause; several running jobs take one step each in turn. ``pace``
(``ADMIN_BULK_PACE``) waits that many seconds before each step, for an operator who wants a job
to go gentler still; ``None`` steps nothing (a test that steps jobs by hand, as one that ticks by
hand runs the actor without its ticker).

Only the jobs the state says are running are stepped, so no table of jobs lives beside the
state: a job running when the server stopped loads as ``interrupted`` and waits for an admin's
resume, and a cancel is simply seen at the next step (which the engine refuses with a conflict).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from engine.admin import bulk
from engine.admin.events import is_admin_event
from engine.command_types import AdminBulkStep
from engine.errors import Conflict, NotFound, Unavailable
from engine.state import GameState

log = logging.getLogger("ctb.admin")

RETRY_AFTER = 1.0  # seconds before stepping again after the journal refused a write
Put = Callable[[AdminBulkStep, Callable[[Any, BaseException | None], None]], None]


class BulkStepper:
    """Sends the actor the next step of a running job after each turn that calls for one."""

    __slots__ = (
        "_last_job",
        "_pending",
        "_put",
        "_state",
        "_stopped",
        "_stuck",
        "_timer",
        "due",
        "pace",
    )

    def __init__(self, state: GameState, put: Put, pace: float | None = 0.0) -> None:
        self._state = state
        self._put = put
        self.pace = pace
        self.due = False  # a turn changed what runs: look for a step after it
        self._pending = False  # a step is in the mailbox, or waits for its timer
        self._last_job = 0  # the job stepped last: the next step is another's, if any runs
        self._stuck: set[int] = set()  # jobs whose step failed from a bug: not stepped again
        self._timer: asyncio.Handle | None = None
        self._stopped = False

    def heard(self, events: list[dict[str, Any]]) -> None:
        """A turn's events (an actor listener): a job was created, resumed, stepped or cancelled,
        so what runs may have changed."""
        if any(is_admin_event(event) and event["data"]["kind"] == "bulk" for event in events):
            self.due = True

    def after_turn(self) -> None:
        """At the end of a turn: send the next step if one is due and none is on its way."""
        if self.due:
            self.due = False
            if self.pace is not None:
                self._send(self.pace)

    def stop(self) -> None:
        """Send nothing more (the actor is stopping)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()

    def _send(self, delay: float) -> None:
        if self._pending or self._stopped:
            return
        found = bulk.next_step(self._state, self._last_job, self._stuck)
        if found is None:
            return
        job_id, limit = found
        self._pending, self._last_job = True, job_id
        step = AdminBulkStep(job_id=job_id, limit=limit)
        loop = asyncio.get_running_loop()
        # Even without a pace, the step is put in the mailbox from the next pass of the event
        # loop: put now, it would be taken at once by the next turn, and the actor would step
        # the job to its end without letting the loop read a single socket.
        if delay > 0:
            self._timer = loop.call_later(delay, self._fire, step)
        else:
            self._timer = loop.call_soon(self._fire, step)

    def _fire(self, step: AdminBulkStep) -> None:
        self._timer = None
        self._put(step, self._stepped)

    def _stepped(self, job: Any, error: BaseException | None) -> None:
        """The step's reply, inside the turn that applied it."""
        self._pending = False
        if isinstance(error, Unavailable):  # not written: the same step again, a while later
            self._send(RETRY_AFTER)
            return
        if error is not None and not isinstance(error, Conflict | NotFound):
            # Conflict, NotFound: cancelled (or gone) since the step was sent; the state says so.
            log.error(
                "bulk step failed",
                exc_info=error,
                extra={"event": "bulk_error", "job_id": self._last_job},
            )
            self._stuck.add(self._last_job)
        elif error is None and job["status"] != bulk.RUNNING:
            log.info(
                "bulk job %s",
                job["status"],
                extra={
                    "event": "bulk_" + job["status"],
                    "job_id": job["id"],
                    "action": job["action"],
                    "done": job["done"],
                    "skipped": job["skipped"],
                    "total": job["total"],
                },
            )
        self.due = True  # a refused step announces nothing: look for another job all the same
