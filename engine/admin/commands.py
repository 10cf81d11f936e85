"""Admin commands: every change an admin makes, each with its audit entry (SPEC §8).

Each command names ``admin`` (the admin token's id, never the token) and a ``reason``, and
writes its audit entry itself, inside the one ``commands.apply``: the journal stores the same
command, so a replay rebuilds the entry exactly and no change can go unaudited. The commands are
declared in ``engine/command_types.py``; the player actions they share with ``admin_batch``
(check, then apply) are in ``engine/admin/actions.py``.

The tables at the end (``MUTATIONS``, ``QUERIES``) are merged into ``engine.commands``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine import command_types as c
from engine import rounds
from engine.admin import audit, bans, bulk, interventions
from engine.admin import events as admin_events
from engine.admin import query as admin_query
from engine.admin import query_params as params
from engine.admin.actions import Checked, apply_checked, check, operation
from engine.errors import Conflict, GameError, InvalidRequest
from engine.state import GameState, active_round
from engine.view import RoundSummaryInfo

Handler = Callable[[GameState, Any], Any]
PREVIEW_SAMPLE = 10  # players a bulk dry run names


def _signed(cmd: c.AdminCommand) -> tuple[str, str]:
    """Who made the change and why: both are required, and checked before anything changes."""
    return audit.clean_admin(cmd.admin), audit.clean_reason(cmd.reason)


# -- player actions ---------------------------------------------------------------------------


def _action(name: str) -> Handler:
    """One player action as a command: the same check and apply as an operation of a batch."""

    def handler(state: GameState, cmd: c.AdminCommand) -> dict[str, Any]:
        admin = audit.clean_admin(cmd.admin)
        return apply_checked(state, check(state, operation(name, cmd)), admin, cmd.now)

    return handler


def _batch(state: GameState, cmd: c.AdminBatch) -> dict[str, Any]:
    """Check every operation, then apply them all; a refused one refuses the batch."""
    admin = audit.clean_admin(cmd.admin)
    operations = cmd.operations  # 1 to MAX_BATCH of them: their type says so
    checked: list[Checked] = []
    problems: list[dict[str, Any]] = []
    for i, op in enumerate(operations):
        try:
            checked.append(check(state, op))
            problems.append({"index": i, "ok": True})
        except GameError as error:
            problems.append({"index": i, "ok": False, "error": _error(error)})
    if len(checked) != len(operations):
        raise InvalidRequest("the batch was refused: nothing was applied", {"results": problems})
    results = []
    for i, one in enumerate(checked):
        outcome = apply_checked(state, one, admin, cmd.now)
        results.append({"index": i, "ok": True, "action": one.action, "result": outcome})
    return {"results": results, "applied": len(results)}


def _error(error: GameError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "details": error.details}


# -- the game as a whole ----------------------------------------------------------------------


def _pause(state: GameState, cmd: c.AdminPause) -> dict[str, Any]:
    """Emergency stop: pushes are refused with ``paused`` and the round clock stands still."""
    admin, reason = _signed(cmd)
    if state.paused:
        raise Conflict("the game is already paused")
    now = cmd.now
    state.paused, state.pause_reason, state.paused_at = True, reason, now
    audit.record(state, now, admin, "pause", "game", reason, {"paused": False}, {"paused": True})
    admin_events.emit(state, "pause", now, admin=admin, reason=reason)
    return pause_info(state)


def _resume(state: GameState, cmd: c.AdminResume) -> dict[str, Any]:
    """Play on; the active round's end and the next round's start move by the pause's length."""
    admin, reason = _signed(cmd)
    now = cmd.now
    if not state.paused:
        raise Conflict("the game is not paused")
    stood = max(0.0, now - (state.paused_at or now))
    current = state.current
    if current is not None and active_round(state) is not None and current.ends_at is not None:
        current.ends_at += stood
    if state.next_round_at is not None:
        state.next_round_at += stood
    state.paused, state.pause_reason, state.paused_at = False, None, None
    after = {"paused": False, "paused_seconds": stood}
    audit.record(state, now, admin, "resume", "game", reason, {"paused": True}, after)
    admin_events.emit(state, "resume", now, admin=admin, reason=reason, paused_seconds=stood)
    return pause_info(state)


def pause_info(state: GameState) -> dict[str, Any]:
    return {"paused": state.paused, "reason": state.pause_reason, "since": state.paused_at}


def _queue_round(state: GameState, cmd: c.AdminQueueRound) -> dict[str, Any]:
    admin, reason = _signed(cmd)
    info = rounds.queued_info(rounds.queue_round(state, cmd.target, cmd.seconds, cmd.planets))
    after = {k: v for k, v in info.items() if k != "id"}
    audit.record(state, cmd.now, admin, "queue_round", f"round:{info['id']}", reason, None, after)
    admin_events.emit(state, "queue_round", cmd.now, admin=admin, round_id=info["id"], **after)
    return info


def _end_round(state: GameState, cmd: c.AdminEndRound) -> RoundSummaryInfo:
    admin, reason = _signed(cmd)
    summary = rounds.end_current(state, cmd.now)
    info = rounds.summary_info(summary)
    after: dict[str, Any] = {"winner": summary.winner, "totals": summary.totals}
    audit.record(state, cmd.now, admin, "end_round", f"round:{summary.id}", reason, None, after)
    admin_events.emit(state, "end_round", cmd.now, admin=admin, round_id=summary.id, **after)
    return info


# -- bulk jobs --------------------------------------------------------------------------------


def _bulk_params(state: GameState, cmd: c.AdminBulkCreate | c.AdminBulkPreview) -> dict[str, Any]:
    """The action's parameters, checked, and one selection: a filter or a list of ids."""
    given: dict[str, Any] = {"revoke_round_clicks": cmd.revoke_round_clicks}
    if cmd.planet is not msgspec.UNSET:
        given["planet"] = cmd.planet
    job_params = bulk.check_params(state, cmd.action, given)
    if (cmd.filter is msgspec.UNSET) == (cmd.player_ids is msgspec.UNSET):
        raise InvalidRequest("give either filter or player_ids", {"field": "filter"})
    return job_params


def _bulk_create(state: GameState, cmd: c.AdminBulkCreate) -> dict[str, Any]:
    """A job over the players a filter matches now, or over a list of ids."""
    admin, reason = _signed(cmd)
    job_params = _bulk_params(state, cmd)
    action, now = cmd.action, cmd.now
    if cmd.player_ids is not msgspec.UNSET and cmd.filter is msgspec.UNSET:
        ids = bulk.check_ids(cmd.player_ids)
        selection: dict[str, Any] = {"player_ids": len(ids)}
        job = bulk.over_ids(state, action, job_params, ids, selection, admin, reason, now)
        return _bulk_event(state, bulk.job_dict(job), now)
    assert cmd.filter is not msgspec.UNSET  # checked: one of the two
    query = admin_query.query_of(cmd.filter)
    if cmd.walk:
        job = bulk.over_filter(state, action, job_params, query, admin, reason, now)
    else:  # a record of an earlier version: the ids the filter matched then are the targets
        by_slot = state.index.by_slot
        ids = [by_slot[s].id for s in admin_query.matching_slots(state, query).tolist()]
        selection = {"filter": admin_query.filters_applied(query)}
        job = bulk.over_ids(state, action, job_params, ids, selection, admin, reason, now)
    return _bulk_event(state, bulk.job_dict(job), now)


def _bulk_event(
    state: GameState, job: dict[str, Any], now: float, reached: list[str] | None = None
) -> dict[str, Any]:
    """Tell admins how a job stands; a step names whom it reached (and a ban's, whom to close)."""
    banned = reached if reached and job["action"] == "ban" else ()
    admin_events.emit(state, "bulk", now, banned=banned, changed=reached or (), job=job)
    return job


def _bulk_step(state: GameState, cmd: c.AdminBulkStep) -> dict[str, Any]:
    result, reached = bulk.step(state, cmd.job_id, cmd.limit, cmd.now, cmd.scan)
    # Targets skipped (already banned, already on that planet) are named too: telling a player
    # what did not change, or closing a socket that is already gone, costs nothing.
    return _bulk_event(state, result, cmd.now, reached)


def _bulk_cancel(state: GameState, cmd: c.AdminBulkCancel) -> dict[str, Any]:
    admin, reason = _signed(cmd)
    return _bulk_event(state, bulk.cancel(state, cmd.job_id, admin, reason, cmd.now), cmd.now)


def _bulk_resume(state: GameState, cmd: c.AdminBulkResume) -> dict[str, Any]:
    admin, reason = _signed(cmd)
    return _bulk_event(state, bulk.resume(state, cmd.job_id, admin, reason, cmd.now), cmd.now)


# -- interventions ----------------------------------------------------------------------------


def _flag(state: GameState, cmd: c.AdminFlag) -> dict[str, Any]:
    """The case the flag opened, or the player's case already open (``existing``: true)."""
    admin, reason = _signed(cmd)
    case, opened = interventions.flag(state, cmd.player_id, admin, reason, cmd.now)
    return {**interventions.case_dict(state, case), "existing": not opened}


def _intervention(state: GameState, cmd: c.AdminIntervention) -> dict[str, Any]:
    """Assign, note, or resolve with a template (``warn``, ``ban``, ``dismiss``, ``other``)."""
    admin, reason = _signed(cmd)
    duration = None if cmd.duration_seconds is msgspec.UNSET else cmd.duration_seconds
    case = interventions.check_update(
        state, cmd.intervention_id, cmd.assignee, cmd.note, cmd.resolve, duration
    )
    return interventions.update(
        state,
        case,
        admin,
        reason,
        cmd.now,
        cmd.assignee,
        cmd.note,
        cmd.resolve,
        cmd.revoke_round_clicks,
        bans.check_duration(duration),
    )


MUTATIONS: dict[type[c.Command], Handler] = {
    c.AdminPatchPlayer: _action("patch"),
    c.AdminBan: _action("ban"),
    c.AdminUnban: _action("unban"),
    c.AdminResetScore: _action("reset_score"),
    c.AdminKick: _action("kick"),
    c.AdminBatch: _batch,
    c.AdminPause: _pause,
    c.AdminResume: _resume,
    c.AdminQueueRound: _queue_round,
    c.AdminEndRound: _end_round,
    c.AdminBulkCreate: _bulk_create,
    c.AdminBulkStep: _bulk_step,
    c.AdminBulkCancel: _bulk_cancel,
    c.AdminBulkResume: _bulk_resume,
    c.AdminFlag: _flag,
    c.AdminIntervention: _intervention,
}


# -- queries: read the live state in a turn, never journaled -----------------------------------


def _players(state: GameState, cmd: c.AdminListPlayers) -> dict[str, Any]:
    query = admin_query.parse_query(cmd.query)
    return admin_query.list_players(state, query, cmd.now)


def _player(state: GameState, cmd: c.AdminGetPlayer) -> dict[str, Any]:
    return admin_query.player_detail(state, cmd.player_id, cmd.now)


def _audit(state: GameState, cmd: c.AdminGetAudit) -> dict[str, Any]:
    return audit.query(state, audit.parse_query(cmd.query))


def _interventions(state: GameState, cmd: c.AdminListInterventions) -> dict[str, Any]:
    q = params.read(cmd.query, interventions.CaseQuery)
    return interventions.listing(state, q.status, q.player_id, q.page, q.limit)


def _bulk_job(state: GameState, cmd: c.AdminGetBulkJob) -> dict[str, Any]:
    return bulk.job_dict(bulk.get_job(state, cmd.job_id))


def _bulk_preview(state: GameState, cmd: c.AdminBulkPreview) -> dict[str, Any]:
    """A dry run: how many players the job would reach now, and the first ten of them.

    Checked as the job itself would be, so a dry run that answers is a job that would start.
    Over ids, the ids that are players (the job skips the others); over a filter, the players
    it matches now, in the order the job walks them.
    """
    _bulk_params(state, cmd)
    if cmd.player_ids is not msgspec.UNSET:
        players = state.players
        found = [players[pid] for pid in bulk.check_ids(cmd.player_ids) if pid in players]
        total, sample = len(found), found[:PREVIEW_SAMPLE]
    else:
        assert cmd.filter is not msgspec.UNSET  # checked: one of the two
        slots = admin_query.matching_slots(state, admin_query.query_of(cmd.filter))
        by_slot = state.index.by_slot
        total, sample = len(slots), [by_slot[s] for s in slots[:PREVIEW_SAMPLE].tolist()]
    named = [{"id": player.id, "name": player.name} for player in sample]
    return {"dry_run": True, "total": total, "sample": named}


def _bulk_jobs(state: GameState, cmd: c.AdminListBulkJobs) -> dict[str, Any]:
    return {"jobs": [bulk.job_dict(job) for job in reversed(state.bulk_jobs.values())]}


def _game(state: GameState, cmd: c.AdminGetGame) -> dict[str, Any]:
    return pause_info(state)


QUERIES: dict[type[c.Command], Handler] = {
    c.AdminListPlayers: _players,
    c.AdminGetPlayer: _player,
    c.AdminGetAudit: _audit,
    c.AdminListInterventions: _interventions,
    c.AdminGetBulkJob: _bulk_job,
    c.AdminListBulkJobs: _bulk_jobs,
    c.AdminBulkPreview: _bulk_preview,
    c.AdminGetGame: _game,
}
