"""Applying a push of click batches: idempotency, throttling, scores and the race (SPEC §4).

The order of checks is the contract: a malformed push is refused whole; a banned player is
refused; a batch id already applied returns its first result marked duplicate (so a retry after a
lost acknowledgement never counts twice, even between rounds); then the game must not be paused,
the round must be active and the push not too soon; only then are tokens spent and scores moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine import batch_memory, interventions, rounds, throttle
from engine.errors import Banned, InvalidRequest, NotFound, Paused, RoundNotActive
from engine.players import BANNED, BatchResult
from engine.rules import Rules
from engine.state import ACTIVE, GameState

BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(slots=True)
class PushResult:
    """What a push did. Not frozen: a frozen dataclass costs a microsecond more per push."""

    batch_id: str
    accepted: int
    throttled: int
    duplicate: bool
    score: int
    round_score: int
    rank: int | None
    round_rank: int | None
    planet_total: int
    next_push_after: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "accepted": self.accepted,
            "throttled": self.throttled,
            "duplicate": self.duplicate,
            "score": self.score,
            "round_score": self.round_score,
            "rank": self.rank,
            "round_rank": self.round_rank,
            "planet_total": self.planet_total,
            "next_push_after": self.next_push_after,
        }


def validate_push(batch_id: object, clicks: object, rules: Rules) -> tuple[str, list[int]]:
    """Check the shape of a push; anything off refuses the whole push (SPEC §4)."""
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise InvalidRequest("batch_id must be 1-64 of A-Z a-z 0-9 _ -", {"field": "batch_id"})
    if not isinstance(clicks, list) or not 1 <= len(clicks) <= rules.max_counts_per_push:
        raise InvalidRequest(
            f"clicks must be a list of 1 to {rules.max_counts_per_push} counts", {"field": "clicks"}
        )
    top = rules.max_count
    for count in clicks:
        if type(count) is not int or not 1 <= count <= top:
            raise InvalidRequest(
                f"each count must be an integer from 1 to {top}", {"field": "clicks"}
            )
    return batch_id, clicks


def push(
    state: GameState, player_id: str, batch_id: str, clicks: list[int], now: float
) -> PushResult:
    rules = state.rules
    validate_push(batch_id, clicks, rules)
    player = state.players.get(player_id)
    if player is None:
        raise NotFound("no such player")
    if player.status == BANNED:
        raise Banned("this player is banned")
    recalled = batch_memory.recall(player, batch_id)
    if recalled is not None:
        return _result(batch_id, recalled, True, rules)
    if state.paused:
        raise Paused("the game is paused", {"reason": state.pause_reason})
    current = state.current
    if current is None or current.status != ACTIVE:
        raise RoundNotActive("no round is active", {"next_round_at": state.next_round_at})
    if player.planet not in current.totals:
        raise RoundNotActive("your planet is not in this round", {"round": current.id})
    throttle.check_push_gap(player, rules, now)

    granted = throttle.take_clicks(player, clicks, rules, now)
    accepted = sum(granted)
    throttled = sum(clicks) - accepted
    player.last_push_at = now
    if throttled:
        player.violations += 1
    planet = player.planet
    if accepted:
        if player.round_id != current.id:
            player.round_id = current.id
            player.round_score = 0
        player.score += accepted
        player.round_score += accepted
        player.last_click_at = now
        state.seq += 1
        slot = player.slot
        rank = state.all_board.set(slot, player.score, state.seq)
        round_rank = state.round_board.set(slot, player.round_score, state.seq)
        by_player = current.contributions[planet]
        batches = by_player.get(player_id)
        if batches is None:
            batches = by_player[player_id] = []
        if throttled:
            batches.extend([count for count in granted if count])
        else:
            batches.extend(granted)
        current.totals[planet] += accepted
        state.planets[planet].all_time += accepted
        state.index.clicked(player)
    else:
        rank = state.all_board.rank(player.slot)
        round_rank = state.round_board.rank(player.slot)
    planet_total = current.totals[planet]
    stored: BatchResult = (
        accepted,
        throttled,
        player.score,
        player.round_score if player.round_id == current.id else 0,
        rank,
        round_rank,
        planet_total,
    )
    batch_memory.remember(player, batch_id, stored, rules.batch_memory)
    interventions.observe_push(state, player, accepted + throttled, throttled, now)
    state.version += 1
    if planet_total >= current.target:
        rounds.finish(state, current, "target", now)
    return _result(batch_id, stored, False, rules)


def _result(batch_id: str, stored: BatchResult, duplicate: bool, rules: Rules) -> PushResult:
    accepted, throttled, score, round_score, rank, round_rank, planet_total = stored
    return PushResult(
        batch_id,
        accepted,
        throttled,
        duplicate,
        score,
        round_score,
        rank,
        round_rank,
        planet_total,
        rules.click_push_rate,
    )
