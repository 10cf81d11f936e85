"""The round lifecycle and the queue of rounds (SPEC §3).

A round finishes when a planet reaches the target (that planet wins), when its time runs out
(the highest total wins, equal totals draw) or when an admin ends it. After the break the next
queued round starts, or a new one with the default settings. Everything here is driven by
``now`` passed in: the actor's tick calls ``advance`` and nothing else keeps time.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from engine.errors import Conflict, InvalidRequest
from engine.rules import MAX_ROUND_SECONDS, MAX_ROUND_TARGET
from engine.state import (
    ACTIVE,
    FINISHED,
    Contributor,
    GameState,
    Round,
    RoundSummary,
    active_round,
)
from engine.view import RoundSummaryInfo, round_view


def make_round(
    state: GameState,
    target: int | None = None,
    seconds: float | None = None,
    planets: list[str] | None = None,
) -> Round:
    rules = state.rules
    chosen = list(planets) if planets is not None else list(state.planets)
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise InvalidRequest("a round needs at least 2 distinct planets", {"field": "planets"})
    unknown = [p for p in chosen if p not in state.planets]
    if unknown:
        raise InvalidRequest(f"unknown planets: {unknown}", {"field": "planets"})
    target = rules.round_target if target is None else target
    seconds = rules.round_seconds if seconds is None else seconds
    if (
        isinstance(target, bool)
        or not isinstance(target, int)
        or not 1 <= target <= MAX_ROUND_TARGET
    ):
        raise InvalidRequest("target must be an integer from 1 to 10^12", {"field": "target"})
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 1 <= seconds <= MAX_ROUND_SECONDS
    ):
        raise InvalidRequest(f"seconds must be from 1 to {MAX_ROUND_SECONDS}", {"field": "seconds"})
    round_ = Round(id=state.next_round_id, planets=chosen, target=target, seconds=float(seconds))
    state.next_round_id += 1
    return round_


def queue_round(
    state: GameState,
    target: int | None = None,
    seconds: float | None = None,
    planets: list[str] | None = None,
) -> Round:
    round_ = make_round(state, target, seconds, planets)
    state.queue.append(round_)
    state.version += 1
    return round_


def is_due(state: GameState, now: float) -> bool:
    """Whether ``advance`` would change anything at ``now`` (cheap; called on every message)."""
    if (
        state.paused
    ):  # the round clock stands still (engine/admin/commands.py moves it on at the resume)
        return False
    active = active_round(state)
    if active is not None:
        return active.ends_at is not None and now >= active.ends_at
    return state.next_round_at is not None and now >= state.next_round_at


def advance(state: GameState, now: float) -> None:
    """Finish a round whose time ran out and start the next one whose break is over."""
    if state.paused:
        return
    active = active_round(state)
    if active is not None and now >= (active.ends_at or now):
        finish(state, active, "time", active.ends_at or now)
    if (
        active_round(state) is None
        and state.next_round_at is not None
        and now >= state.next_round_at
    ):
        start_next(state, now)


def start_next(state: GameState, now: float) -> Round:
    """Start the next queued round, or a default one; a late start begins at ``now``."""
    round_ = state.queue.popleft() if state.queue else make_round(state)
    round_.status = ACTIVE
    round_.started_at = now
    round_.ends_at = now + round_.seconds
    round_.totals = {planet: 0 for planet in round_.planets}
    round_.contributions = {planet: {} for planet in round_.planets}
    state.current = round_
    state.next_round_at = None
    state.round_board.clear()
    state.version += 1
    state.outbox.append({"event": "started", "data": round_info(state)})
    return round_


def end_current(state: GameState, now: float) -> RoundSummary:
    """An admin ends the active round now; the usual break follows."""
    active = active_round(state)
    if active is None:
        raise Conflict("no round is active")
    return finish(state, active, "admin", now)


def finish(state: GameState, round_: Round, reason: str, at: float) -> RoundSummary:
    totals = dict(round_.totals)
    winner: str | None
    if reason == "target":
        winner = max(totals, key=lambda p: totals[p])
    else:
        best = max(totals.values(), default=0)
        leaders = [p for p, total in totals.items() if total == best]
        winner = leaders[0] if len(leaders) == 1 else None
    round_.status = FINISHED
    round_.finished_at = at
    round_.winner = winner
    round_.reason = reason
    player_totals: dict[str, int] = {}  # a player moved mid-round has batches on two planets
    for by_player in round_.contributions.values():
        for player_id, batches in by_player.items():
            player_totals[player_id] = player_totals.get(player_id, 0) + sum(batches)
    top: list[Contributor] = [
        {
            "rank": rank,
            "id": player_id,
            "name": state.players[player_id].name if player_id in state.players else None,
            "planet": state.players[player_id].planet if player_id in state.players else None,
            "score": score,
        }
        for rank, player_id, score in state.round_board.top(state.rules.top_n)
    ]
    summary = RoundSummary(
        id=round_.id,
        planets=list(round_.planets),
        target=round_.target,
        started_at=round_.started_at or at,
        finished_at=at,
        winner=winner,
        reason=reason,
        totals=totals,
        top=top,
        player_totals=player_totals,
    )
    state.history.append(summary)
    state.next_round_at = at + state.rules.round_break_seconds
    state.version += 1
    state.outbox.append({"event": "finished", "data": summary_info(summary)})
    return summary


def round_info(state: GameState) -> dict[str, Any]:
    """The round as the board and the ``round`` started event show it."""
    return asdict(round_view(state))


def queued_info(round_: Round) -> dict[str, Any]:
    """A queued round as the command that queued it answers."""
    return {
        "id": round_.id,
        "target": round_.target,
        "seconds": round_.seconds,
        "planets": round_.planets,
    }


def summary_info(summary: RoundSummary) -> RoundSummaryInfo:
    return {
        "id": summary.id,
        "planets": summary.planets,
        "target": summary.target,
        "started_at": summary.started_at,
        "finished_at": summary.finished_at,
        "duration": summary.finished_at - summary.started_at,
        "winner": summary.winner,
        "draw": summary.winner is None,
        "reason": summary.reason,
        "totals": summary.totals,
        "top": summary.top,
    }
