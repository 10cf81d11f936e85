"""Flagged players: automatic detectors, manual flags, and the open → assigned → resolved queue.

Two detectors run in the push path (``observe_push``, one call from ``engine.clicks.push``) over
windows of ``WINDOW`` seconds of a player's pushes (SPEC §8):

- *sustained throttling*: at least ``MIN_THROTTLED`` pushes in the window were clipped by the
  click bucket, and they were at least ``THROTTLED_SHARE`` of its pushes;
- *machine rhythm*: at least ``MIN_PUSHES`` pushes whose intervals and click counts barely vary
  (coefficients of variation under ``CV_INTERVAL`` and ``CV_COUNT``). The game page itself
  pushes on a fixed cadence, so regular intervals alone say nothing; a person's counts vary from
  one second to the next, a script's do not.

A *fast path* (``engine/admin/fast_path.py``) beside the windows flags an obvious bot in seconds.

The statistics are running sums (``PushStats``), kept only for players who pushed in the last
``IDLE`` seconds, in an ordered dict that is trimmed from its stale end as pushes come: a million
players who once pushed cost nothing, the online ones about 200 bytes each. They are part of the
saved state, so a replay after a crash flags exactly what the live game flagged.

A flag carries its evidence (the figures above). A player has at most one case that is not
resolved, and is ``flagged`` in the listing while it lasts: the detectors open no second case,
and a flag by hand adds its reason to that case's notes and returns it (``flag``), so one
matter never splits into two entries of the queue. A case dismissed as a false positive keeps
the detectors quiet for that player for ``QUIET`` seconds.
Templates resolve the common cases in one action: ``warn``, ``ban`` (bans the player too, for
good or ``duration_seconds``), ``dismiss``; ``other`` needs a note.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from engine import roster
from engine.admin import audit, bans, fast_path
from engine.admin import events as admin_events
from engine.admin.fast_path import CV_COUNT, CV_INTERVAL
from engine.admin.fast_path import cv as _cv
from engine.admin.records import ASSIGNED, OPEN, RESOLVED, Intervention, PushStats
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.players import Player
from engine.state import GameState

WINDOW = 120.0
IDLE = 30.0  # a pause this long ends the window: the next push starts a new one
MIN_THROTTLED = 20
THROTTLED_SHARE = 0.5
MIN_PUSHES = 60
QUIET = 3600.0
EVICT_PER_PUSH = 4  # stale entries dropped per push: bounded work on the push path

THROTTLING, MACHINE_RHYTHM, MANUAL = "throttling", "machine_rhythm", "manual"
TEMPLATES = {
    "warn": "Warned the player",
    "ban": "Banned the player",
    "dismiss": "Dismissed as a false positive",
    "other": "",
}
MAX_NOTE = 1000
MAX_PAGE_SIZE = 500
Found = dict[str, Any]  # what a detector found: the figures a flag shows as its evidence


class CaseQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The queue's filters and page, declared once: read by ``query_params.read``, and the
    server's query parameters in the OpenAPI document are derived from it."""

    # A Literal made from the engine's tuple: msgspec reads it at run time, a type checker cannot.
    status: Literal[OPEN, ASSIGNED, RESOLVED] | None = None  # type: ignore[valid-type]
    player_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    page: Annotated[int, Meta(ge=1, le=10**9)] = 1
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE_SIZE)] = 50


def observe_push(state: GameState, player: Player, clicks: int, throttled: int, now: float) -> None:
    """Feed one applied push to the detectors; flags the player when a window is judged.

    On every push of every player, so kept lean: an online player's push is a few float
    additions and one ``move_to_end``; the stale end of the dict is trimmed only when an entry
    is added, which is the only time it grows.
    """
    stats_by_id = state.push_stats
    player_id = player.id
    stats = stats_by_id.get(player_id)
    if stats is not None and now - stats.last <= IDLE:
        dt = now - stats.last
        stats.last = now
        stats.pushes += 1
        stats.sum_dt += dt
        stats.sum_dt2 += dt * dt
        stats.sum_count += clicks
        stats.sum_count2 += clicks * clicks
        if throttled:
            stats.throttled_pushes += 1
            stats.throttled_clicks += throttled
        if stats.pushes % fast_path.FAST_HALF == 1:  # FAST_HALF more intervals
            found = fast_path.mark(stats, state.rules.max_cps)
            _detected(state, player, MACHINE_RHYTHM, found, now)
        if now - stats.started < WINDOW:
            stats_by_id.move_to_end(player_id)
            return
        _judge(state, player, stats, now)
        # The push that closed the window opens the next one: its time starts the next
        # intervals and its count is the next window's first, as on a fresh start below.
        stats.started, stats.pushes, stats.sum_dt, stats.sum_dt2 = now, 1, 0.0, 0.0
        stats.sum_count, stats.sum_count2 = clicks, clicks * clicks
        stats.throttled_pushes, stats.throttled_clicks = (1, throttled) if throttled else (0, 0)
        stats.fast_marks = [[0.0, 0.0, clicks, clicks * clicks]]
        stats_by_id.move_to_end(player_id)
        return
    mark = [[0.0, 0.0, clicks, clicks * clicks]]
    stats = PushStats(now, now, 1, 0.0, 0.0, clicks, clicks * clicks, fast_marks=mark)
    if throttled:
        stats.throttled_pushes, stats.throttled_clicks = 1, throttled
    stats_by_id.pop(player_id, None)
    stats_by_id[player_id] = stats  # at the end: the newest
    for _ in range(EVICT_PER_PUSH):
        oldest = next(iter(stats_by_id))
        if now - stats_by_id[oldest].last <= IDLE:
            break
        stats_by_id.popitem(last=False)


def figures(stats: PushStats) -> dict[str, Any]:
    """The evidence: what the window looked like."""
    intervals = stats.pushes - 1
    mean_dt = stats.sum_dt / intervals if intervals else 0.0
    mean_count = stats.sum_count / stats.pushes
    return {
        "window_seconds": round(stats.last - stats.started, 3),
        "pushes": stats.pushes,
        "throttled_pushes": stats.throttled_pushes,
        "throttled_clicks": stats.throttled_clicks,
        "mean_interval": round(mean_dt, 4),
        "cv_interval": _cv(stats.sum_dt, stats.sum_dt2, intervals),
        "mean_count": round(mean_count, 4),
        "cv_count": _cv(stats.sum_count, stats.sum_count2, stats.pushes),
    }


def _judge(state: GameState, player: Player, stats: PushStats, now: float) -> None:
    evidence = figures(stats)
    kind = None
    if (
        stats.throttled_pushes >= MIN_THROTTLED
        and stats.throttled_pushes >= THROTTLED_SHARE * stats.pushes
    ):
        kind = THROTTLING
    elif (
        stats.pushes >= MIN_PUSHES
        and evidence["cv_interval"] is not None
        and evidence["cv_interval"] <= CV_INTERVAL
        and evidence["cv_count"] is not None
        and evidence["cv_count"] <= CV_COUNT
    ):
        kind = MACHINE_RHYTHM
    if kind is None:
        return
    evidence["thresholds"] = {
        "min_throttled": MIN_THROTTLED,
        "throttled_share": THROTTLED_SHARE,
        "min_pushes": MIN_PUSHES,
        "cv_interval": CV_INTERVAL,
        "cv_count": CV_COUNT,
    }
    _detected(state, player, kind, evidence, now)


def _detected(state: GameState, player: Player, kind: str, found: Found | None, now: float) -> None:
    """A detector's finding opens a case, unless one is open or a dismissal keeps it quiet."""
    if found is None or state.index.is_flagged(player.slot) or _quiet(state, player, now):
        return
    found["violations"] = player.violations
    open_case(state, player, kind, found, now, None)


def _quiet(state: GameState, player: Player, now: float) -> bool:
    """A case of this player dismissed within ``QUIET`` seconds keeps the detectors quiet."""
    return any(
        case.player_id == player.id
        and case.resolution == "dismiss"
        and now - (case.resolved_at or 0.0) < QUIET
        for case in state.interventions.values()
    )


def open_case(
    state: GameState,
    player: Player,
    kind: str,
    evidence: dict[str, Any],
    now: float,
    admin: str | None,
) -> Intervention:
    case = Intervention(
        id=state.next_intervention_id,
        player_id=player.id,
        kind=kind,
        created_at=now,
        evidence=evidence,
        flagged_by=admin,
        updated_at=now,
    )
    state.next_intervention_id += 1
    state.interventions[case.id] = case
    state.index.set_flagged(player.slot, True)
    state.version += 1
    admin_events.emit(state, "flag", now, intervention=case_dict(state, case))
    return case


def flag(
    state: GameState, player_id: str, admin: str, reason: str, now: float
) -> tuple[Intervention, bool]:
    """An admin flags a player by hand; the reason is the evidence. Returns (case, opened).

    A player whose case is still open or assigned keeps that one case: the flag adds its reason
    to the case's notes, is audited, and returns the case (``opened`` False).
    """
    player = roster.get_player(state, player_id)
    case = unresolved_case(state, player_id) if state.index.is_flagged(player.slot) else None
    if case is not None:
        case.notes.append({"at": now, "admin": admin, "text": f"Flagged again: {reason}"})
        case.updated_at = now
        after = {"intervention": case.id, "existing": True}
        audit.record(state, now, admin, "flag", player_id, reason, None, after)
        admin_events.emit(state, "intervention", now, intervention=case_dict(state, case))
        return case, False
    case = open_case(state, player, MANUAL, {"reason": reason}, now, admin)
    audit.record(state, now, admin, "flag", player_id, reason, None, {"intervention": case.id})
    return case, True


def unresolved_case(state: GameState, player_id: str) -> Intervention | None:
    """The player's case that is open or assigned, if there is one."""
    for case in reversed(state.interventions.values()):
        if case.player_id == player_id and case.status != RESOLVED:
            return case
    return None


def get_case(state: GameState, case_id: object) -> Intervention:
    case = state.interventions.get(case_id) if isinstance(case_id, int) else None
    if case is None:
        raise NotFound("no such intervention", {"intervention_id": case_id})
    return case


def check_update(
    state: GameState,
    case_id: object,
    assignee: str | None,
    note: str | None,
    resolution: str | None,
    duration: float | None = None,
) -> Intervention:
    """Validate an update before anything changes: the whole update applies or none of it.

    The command's types have bounded the assignee, the note and the template
    (``engine/command_types.py``); what is left depends on the case.
    """
    case = get_case(state, case_id)
    if duration is not None and resolution != "ban":
        raise InvalidRequest("duration_seconds needs resolve: ban", {"field": "duration_seconds"})
    bans.check_duration(duration)
    if resolution == "other" and note is None:
        raise InvalidRequest("resolving as other needs a note", {"field": "note"})
    if case.status == RESOLVED and (assignee is not None or resolution is not None):
        raise Conflict("the intervention is resolved", {"intervention_id": case.id})
    if assignee is None and note is None and resolution is None:
        raise InvalidRequest("nothing to change: give assignee, note or resolve")
    return case


def update(
    state: GameState,
    case: Intervention,
    admin: str,
    reason: str,
    now: float,
    assignee: str | None = None,
    note: str | None = None,
    resolution: str | None = None,
    revoke_round_clicks: bool = False,
    duration: float | None = None,
) -> dict[str, Any]:
    """Assign, add a note, resolve (with a template): the checked update, audited."""
    before = case_dict(state, case)
    if assignee is not None:
        case.assignee = assignee
        case.status = ASSIGNED
    if note is not None:
        case.notes.append({"at": now, "admin": admin, "text": note})
    if resolution is not None:
        if resolution == "ban":
            player = roster.get_player(state, case.player_id)
            was = player.status
            revoked = roster.ban(
                state,
                case.player_id,
                revoke_round_clicks,
                now=now,
                reason=reason,
                duration=duration,
                by=admin,
            )
            after = {"status": player.status, "revoked": revoked}
            if duration is not None:
                after["banned_until"] = bans.until(state, case.player_id)
            audit.record(state, now, admin, "ban", case.player_id, reason, {"status": was}, after)
        if note is None:
            case.notes.append({"at": now, "admin": admin, "text": TEMPLATES[resolution]})
        case.status = RESOLVED
        case.resolution = resolution
        case.resolved_at = now
        case.resolved_by = admin
        _unflag_if_clear(state, case.player_id)
    case.updated_at = now
    after = case_dict(state, case)
    audit.record(state, now, admin, "intervention", case.player_id, reason, before, after)
    banned = [case.player_id] if resolution == "ban" else ()
    admin_events.emit(state, "intervention", now, banned=banned, changed=banned, intervention=after)
    return after


def _unflag_if_clear(state: GameState, player_id: str) -> None:
    player = state.players.get(player_id)
    if player is not None and unresolved_case(state, player_id) is None:
        state.index.set_flagged(player.slot, False)


def case_dict(state: GameState, case: Intervention) -> dict[str, Any]:
    """The case as the API and the admin events show it, with its player's name now."""
    return {
        "id": case.id,
        "player_id": case.player_id,
        "player_name": p.name if (p := state.players.get(case.player_id)) is not None else None,
        "kind": case.kind,
        "status": case.status,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "evidence": case.evidence,
        "flagged_by": case.flagged_by,
        "assignee": case.assignee,
        "notes": list(case.notes),
        "resolution": case.resolution,
        "resolved_at": case.resolved_at,
        "resolved_by": case.resolved_by,
    }


def listing(
    state: GameState, status: str | None, player_id: str | None, page: int, limit: int
) -> dict[str, Any]:
    """The queue, newest first, filtered by status and player."""
    cases = [
        c
        for c in reversed(state.interventions.values())
        if status in (None, c.status) and player_id in (None, c.player_id)
    ]
    start = (page - 1) * limit
    return {
        "interventions": [case_dict(state, c) for c in cases[start : start + limit]],
        "total_count": len(cases),
        "page": page,
        "page_size": limit,
    }
