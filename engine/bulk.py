"""Bulk jobs: one admin action over many players, applied a chunk per actor turn (SPEC §8).

A job takes its targets once, when it is created (the ids a filter matched then, or the list
given), so its size and progress mean something while players keep joining. The server sends
``admin_bulk_step`` commands between other messages; each applies the action to at most
``limit`` players (``STEP`` by default: a step of bans or score resets at a million players
stays under 10 ms, bench/admin_bench.py), so a 100,000-player ban never holds the actor for
long and players feel no pause. Each step is a journaled command like any other, so a replay
after a crash redoes exactly the steps that were acknowledged.

States: ``running`` → ``done`` | ``cancelled``; a job still running when the server stops comes
back ``interrupted`` (``interrupt_running`` at start-up) with its progress, and an admin may
resume it. What a cancelled or interrupted job did stays done and is counted. A target that
needs nothing (already banned, already on that planet, gone) counts as skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine import audit, roster
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.players import ACTIVE, BANNED
from engine.state import GameState

RUNNING, DONE, CANCELLED, INTERRUPTED = "running", "done", "cancelled", "interrupted"
STEP = 250
MAX_STEP = 5000
MAX_TARGETS = 2_000_000
ACTIONS = ("ban", "unban", "reset_score", "move_planet")


@dataclass(slots=True)
class BulkJob:
    id: int
    action: str
    admin: str
    reason: str
    created_at: float
    targets: list[str]
    params: dict[str, Any] = field(default_factory=dict)  # planet, revoke_round_clicks
    selection: dict[str, Any] = field(default_factory=dict)  # the filter, or the ids' count
    cursor: int = 0
    done: int = 0
    skipped: int = 0
    status: str = RUNNING
    updated_at: float = 0.0
    finished_at: float | None = None


def check_params(state: GameState, action: object, params: dict[str, Any]) -> dict[str, Any]:
    """The action's own parameters, validated before a job exists."""
    if action not in ACTIONS:
        raise InvalidRequest(f"action must be one of {list(ACTIONS)}", {"field": "action"})
    if action == "move_planet":
        planet = params.get("planet")
        if planet not in state.planets:
            raise InvalidRequest(f"unknown planet {planet!r}", {"field": "planet"})
        return {"planet": planet}
    if action == "ban":
        revoke = params.get("revoke_round_clicks", False)
        if not isinstance(revoke, bool):
            raise InvalidRequest("revoke_round_clicks must be true or false", {"field": "revoke"})
        return {"revoke_round_clicks": revoke}
    return {}


def check_ids(raw: object) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_TARGETS:
        raise InvalidRequest(f"player_ids must list 1-{MAX_TARGETS} ids", {"field": "player_ids"})
    if not all(isinstance(pid, str) for pid in raw):
        raise InvalidRequest("player_ids must be strings", {"field": "player_ids"})
    return list(dict.fromkeys(raw))  # once each, in the order given


def create(
    state: GameState,
    action: str,
    params: dict[str, Any],
    targets: list[str],
    selection: dict[str, Any],
    admin: str,
    reason: str,
    now: float,
) -> BulkJob:
    job = BulkJob(
        id=state.next_job_id,
        action=action,
        admin=admin,
        reason=reason,
        created_at=now,
        targets=targets,
        params=params,
        selection=selection,
        updated_at=now,
    )
    state.next_job_id += 1
    state.bulk_jobs[job.id] = job
    after = {"job": job.id, "action": action, "targets": len(targets), **params}
    audit.record(state, now, admin, "bulk_create", f"bulk:{job.id}", reason, None, after)
    if not targets:
        _finish(state, job, DONE, now)
    return job


def get_job(state: GameState, job_id: object) -> BulkJob:
    job = state.bulk_jobs.get(job_id) if isinstance(job_id, int) else None
    if job is None:
        raise NotFound("no such bulk job", {"job_id": job_id})
    return job


def step(state: GameState, job_id: object, limit: object, now: float) -> dict[str, Any]:
    """Apply the action to the next ``limit`` targets; return the job's progress."""
    job = get_job(state, job_id)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_STEP:
        raise InvalidRequest(f"limit must be from 1 to {MAX_STEP}", {"field": "limit"})
    if job.status not in (RUNNING, INTERRUPTED):
        raise Conflict(f"the job is {job.status}", {"job_id": job.id})
    job.status = RUNNING  # a replay steps a job the snapshot loaded as interrupted
    apply_one = _ACTIONS[job.action]
    end = min(len(job.targets), job.cursor + limit)
    players = state.players
    for player_id in job.targets[job.cursor : end]:
        player = players.get(player_id)
        if player is not None and apply_one(state, player_id, job.params):
            job.done += 1
        else:
            job.skipped += 1
    job.cursor = end
    job.updated_at = now
    state.version += 1
    if job.cursor == len(job.targets):
        _finish(state, job, DONE, now)
    return job_dict(job)


def cancel(state: GameState, job_id: object, admin: str, reason: str, now: float) -> dict[str, Any]:
    job = get_job(state, job_id)
    if job.status not in (RUNNING, INTERRUPTED):
        raise Conflict(f"the job is {job.status}", {"job_id": job.id})
    _finish(state, job, CANCELLED, now, admin, reason)
    return job_dict(job)


def resume(state: GameState, job_id: object, admin: str, reason: str, now: float) -> dict[str, Any]:
    job = get_job(state, job_id)
    if job.status != INTERRUPTED:
        raise Conflict(f"only an interrupted job resumes; this one is {job.status}")
    job.status = RUNNING
    job.updated_at = now
    audit.record(state, now, admin, "bulk_resume", f"bulk:{job.id}", reason, None, _counts(job))
    return job_dict(job)


def interrupt_running(state: GameState) -> list[int]:
    """At start-up: a job that was running has no one stepping it any more."""
    stopped = [job.id for job in state.bulk_jobs.values() if job.status == RUNNING]
    for job_id in stopped:
        state.bulk_jobs[job_id].status = INTERRUPTED
    return stopped


def running_jobs(state: GameState) -> list[int]:
    """The jobs the server should keep stepping."""
    return [job.id for job in state.bulk_jobs.values() if job.status == RUNNING]


def _finish(
    state: GameState,
    job: BulkJob,
    status: str,
    now: float,
    admin: str | None = None,
    reason: str | None = None,
) -> None:
    job.status = status
    job.finished_at = job.updated_at = now
    action = "bulk_done" if status == DONE else "bulk_cancel"
    who, why = admin or job.admin, reason or job.reason
    audit.record(state, now, who, action, f"bulk:{job.id}", why, None, _counts(job))


def _counts(job: BulkJob) -> dict[str, Any]:
    return {"status": job.status, "done": job.done, "skipped": job.skipped, "cursor": job.cursor}


def job_dict(job: BulkJob) -> dict[str, Any]:
    total = len(job.targets)
    return {
        "id": job.id,
        "action": job.action,
        "status": job.status,
        "params": dict(job.params),
        "selection": job.selection,
        "total": total,
        "processed": job.cursor,
        "done": job.done,
        "skipped": job.skipped,
        "remaining": total - job.cursor,
        "progress": 1.0 if total == 0 else round(job.cursor / total, 4),
        "admin": job.admin,
        "reason": job.reason,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def _ban(state: GameState, player_id: str, params: dict[str, Any]) -> bool:
    revoke = params.get("revoke_round_clicks", False)
    if state.players[player_id].status == BANNED and not revoke:
        return False
    roster.ban(state, player_id, revoke)
    return True


def _unban(state: GameState, player_id: str, params: dict[str, Any]) -> bool:
    if state.players[player_id].status == ACTIVE:
        return False
    roster.unban(state, player_id)
    return True


def _reset(state: GameState, player_id: str, params: dict[str, Any]) -> bool:
    roster.reset_score(state, player_id)
    return True


def _move(state: GameState, player_id: str, params: dict[str, Any]) -> bool:
    if state.players[player_id].planet == params["planet"]:
        return False
    roster.move_player(state, player_id, params["planet"])
    return True


_ACTIONS: dict[str, Callable[[GameState, str, dict[str, Any]], bool]] = {
    "ban": _ban,
    "unban": _unban,
    "reset_score": _reset,
    "move_planet": _move,
}
