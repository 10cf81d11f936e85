"""Bulk jobs: one admin action over many players, applied a chunk per actor turn (SPEC §8).

A job is kept as what the admin gave, once, plus a cursor, never as a list of every player it
reaches, so the snapshot does not grow with each job (a job over a million players used to keep
a million ids in every snapshot, for ever):

- *Over a list of ids*: the ids, deduplicated, and the cursor an index into them. The list is at
  most a request body's worth (64 KiB, a few thousand ids).
- *Over a filter*: the filter, and the cursor a slot. Players are walked in the order they were
  created (``Player.slot``), up to the last player that existed when the job was made; each is
  tested against the filter when the cursor reaches it. So a player who matched at creation but
  no longer does when reached is left alone, one who did not match then but does when reached is
  included, and players who joined after the job was made are never included. ``total`` is the
  number the filter matched at creation, what the admin was told; ``processed`` counts those the
  job reached, and may end below or above it.

The actor steps a running job itself, as it ticks the round: after a turn it sends itself the
``admin_bulk_step`` that ``next_step`` names, one job at a time in turn, so players' messages
run between two steps. A step reaches at most ``limit`` players (``STEP_LIMITS``: how many of
an action a turn holds, see below) and, over a filter, tests at most ``scan`` slots, so neither
a job matching everyone nor one matching almost no one holds the actor for long. Each step is a
journaled command like any other, with its ``limit`` and ``scan`` in the record, so a replay after
a crash redoes exactly the steps that were acknowledged.

States: ``running`` → ``done`` | ``cancelled``; a job still running when the server stops comes
back ``interrupted`` (``interrupt_running`` at start-up) with its progress, and an admin may
resume it. What a cancelled or interrupted job did stays done and is counted. A target that
needs nothing (already banned, already on that planet, gone) counts as skipped. A finished or
cancelled job keeps its summary only: who, what, when, the filter or the number of ids, counts.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

from engine import roster
from engine.admin import audit
from engine.admin import query as admin_query
from engine.admin.records import CANCELLED, DONE, INTERRUPTED, RUNNING, BulkJob
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.players import ACTIVE, BANNED
from engine.state import GameState

STEP = 250
MAX_STEP = 5000
SCAN = 8192  # slots a step over a filter tests at most: a window of numpy columns, ~0.1 ms
MAX_SCAN = 1 << 20
MAX_TARGETS = 2_000_000
ACTIONS = ("ban", "unban", "reset_score", "move_planet")
# Players a step reaches, by action: the actor's turn must stay well under 20 ms.
# ``bench/admin_bench.py`` measured, at a million players on a loaded machine, a step of 250
# bans at p95 6.4 ms (max 16 ms) and 250 score resets at p95 28 ms (max 76 ms): a reset moves
# the player on both leaderboards. So bans and moves go 100 a step, resets 40, and unbans 250
# (an unban touches no leaderboard).
STEP_LIMITS = {"ban": 100, "move_planet": 100, "reset_score": 40, "unban": 250}


def check_params(state: GameState, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The action's own parameters, validated before a job exists (the command's types have
    already bounded the action and the flag: ``engine/command_types.py``)."""
    if action == "move_planet":
        planet = params.get("planet")
        if planet not in state.planets:
            raise InvalidRequest(f"unknown planet {planet!r}", {"field": "planet"})
        return {"planet": planet}
    if action == "ban":
        return {"revoke_round_clicks": params.get("revoke_round_clicks", False)}
    return {}


def check_ids(raw: list[str]) -> list[str]:
    if not 1 <= len(raw) <= MAX_TARGETS:
        raise InvalidRequest(f"player_ids must list 1-{MAX_TARGETS} ids", {"field": "player_ids"})
    return list(dict.fromkeys(raw))  # once each, in the order given


def over_ids(
    state: GameState,
    action: str,
    params: dict[str, Any],
    ids: list[str],
    selection: dict[str, Any],
    admin: str,
    reason: str,
    now: float,
) -> BulkJob:
    """A job over a list of ids, in the order given."""
    job = _new(state, action, params, selection, len(ids), len(ids), admin, reason, now)
    job.ids = ids
    return _created(state, job, now)


def over_filter(
    state: GameState,
    action: str,
    params: dict[str, Any],
    query: admin_query.PlayerQuery,
    admin: str,
    reason: str,
    now: float,
) -> BulkJob:
    """A job over the players that exist now, each tested against ``query`` when reached."""
    matched = len(admin_query.matching_slots(state, query))
    selection = {"filter": admin_query.filters_applied(query)}
    job = _new(state, action, params, selection, matched, state.index.n, admin, reason, now)
    return _created(state, job, now)


def _new(
    state: GameState,
    action: str,
    params: dict[str, Any],
    selection: dict[str, Any],
    total: int,
    end: int,
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
        total=total,
        end=end,
        params=params,
        selection=selection,
        updated_at=now,
    )
    state.next_job_id += 1
    return job


def _created(state: GameState, job: BulkJob, now: float) -> BulkJob:
    state.bulk_jobs[job.id] = job
    after = {"job": job.id, "action": job.action, "targets": job.total, **job.params}
    audit.record(state, now, job.admin, "bulk_create", f"bulk:{job.id}", job.reason, None, after)
    if not job.total:  # nothing to do: a filter that matched no one is not walked
        _finish(state, job, DONE, now)
    return job


def get_job(state: GameState, job_id: object) -> BulkJob:
    job = state.bulk_jobs.get(job_id) if isinstance(job_id, int) else None
    if job is None:
        raise NotFound("no such bulk job", {"job_id": job_id})
    return job


def step(
    state: GameState, job_id: object, limit: object, now: float, scan: object = SCAN
) -> tuple[dict[str, Any], list[str]]:
    """Apply the action to the next targets, at most ``limit`` of them and, over a filter, among
    at most ``scan`` slots; return the job's progress and the ids reached."""
    job = get_job(state, job_id)
    most = _count(limit, MAX_STEP, "limit")
    window = _count(scan, MAX_SCAN, "scan")
    if job.status not in (RUNNING, INTERRUPTED):
        raise Conflict(f"the job is {job.status}", {"job_id": job.id})
    job.status = RUNNING  # a replay steps a job the snapshot loaded as interrupted
    if job.ids is not None:
        reached = job.ids[job.cursor : job.cursor + most]
        job.cursor += len(reached)
    else:
        reached = _walk(state, job, most, window)
    apply_one = _ACTIONS[job.action]
    players = state.players
    for player_id in reached:
        player = players.get(player_id)
        if player is not None and apply_one(state, player_id, job, now):
            job.done += 1
        else:
            job.skipped += 1
    job.updated_at = now
    state.version += 1
    if job.cursor == job.end:
        _finish(state, job, DONE, now)
    return job_dict(job), reached


def _walk(state: GameState, job: BulkJob, limit: int, scan: int) -> list[str]:
    """Move a filter job's cursor; the ids of the players it reached.

    A step reaches the first ``limit`` players that match among the next ``scan`` slots; the
    cursor goes just past the last one reached when there are ``limit`` of them, else to the
    end of those slots. The slots are tested in windows that double from ``limit`` slots, so a
    filter that matches nearly everyone costs about ``limit`` slots a step, not ``scan``. The
    players are tested before any is changed: an action changes only the player it is applied
    to, so each is tested as the cursor reaches it.
    """
    query = admin_query.PlayerQuery(**job.selection["filter"])
    last = min(job.end, job.cursor + scan)
    cursor, size = job.cursor, limit
    found: list[int] = []
    while cursor < last and len(found) < limit:
        stop = min(last, cursor + size)
        slots = admin_query.matching_slots(state, query, cursor, stop)[: limit - len(found)]
        found += slots.tolist()
        cursor = found[-1] + 1 if len(found) == limit else stop
        size *= 2
    job.cursor = cursor
    by_slot = state.index.by_slot
    return [by_slot[slot].id for slot in found]


def _count(value: object, most: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidRequest(f"{name} must be from 1 to {most}", {"field": name})
    return value


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
    """The jobs the actor keeps stepping, oldest first."""
    return [job.id for job in state.bulk_jobs.values() if job.status == RUNNING]


def next_step(state: GameState, after: int, skip: Container[int] = ()) -> tuple[int, int] | None:
    """The job to step next and its step's limit: the first running job after job ``after``,
    else the first running one (each job in turn), leaving out ``skip``; None when none runs."""
    running = [job_id for job_id in running_jobs(state) if job_id not in skip]
    if not running:
        return None
    job_id = next((j for j in running if j > after), running[0])
    return job_id, STEP_LIMITS[state.bulk_jobs[job_id].action]


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
    job.ids = None  # from here on the job is its summary
    action = "bulk_done" if status == DONE else "bulk_cancel"
    who, why = admin or job.admin, reason or job.reason
    audit.record(state, now, who, action, f"bulk:{job.id}", why, None, _counts(job))


def _counts(job: BulkJob) -> dict[str, Any]:
    return {"status": job.status, "done": job.done, "skipped": job.skipped, "cursor": job.cursor}


def job_dict(job: BulkJob) -> dict[str, Any]:
    """A job's progress; over a filter, ``remaining`` is what the count at creation leaves."""
    processed = job.done + job.skipped
    return {
        "id": job.id,
        "action": job.action,
        "status": job.status,
        "params": dict(job.params),
        "selection": job.selection,
        "total": job.total,
        "processed": processed,
        "done": job.done,
        "skipped": job.skipped,
        "remaining": 0 if job.status == DONE else max(0, job.total - processed),
        "progress": 1.0 if job.end == 0 else round(job.cursor / job.end, 4),
        "admin": job.admin,
        "reason": job.reason,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def _ban(state: GameState, player_id: str, job: BulkJob, now: float) -> bool:
    """The job's reason is the ban's: the banned player is told it (SPEC §8)."""
    revoke = job.params.get("revoke_round_clicks", False)
    if state.players[player_id].status == BANNED and not revoke:
        return False
    roster.ban(state, player_id, revoke, now=now, reason=job.reason, by=job.admin)
    return True


def _unban(state: GameState, player_id: str, job: BulkJob, now: float) -> bool:
    if state.players[player_id].status == ACTIVE:
        return False
    roster.unban(state, player_id)
    return True


def _reset(state: GameState, player_id: str, job: BulkJob, now: float) -> bool:
    roster.reset_score(state, player_id)
    return True


def _move(state: GameState, player_id: str, job: BulkJob, now: float) -> bool:
    if state.players[player_id].planet == job.params["planet"]:
        return False
    roster.move_player(state, player_id, job.params["planet"])
    return True


_ACTIONS: dict[str, Callable[[GameState, str, BulkJob, float], bool]] = {
    "ban": _ban,
    "unban": _unban,
    "reset_score": _reset,
    "move_planet": _move,
}
