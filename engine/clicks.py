"""Applying a push of click batches: idempotency, throttling, scores and the race (SPEC §4).

The order of checks is the contract: a malformed push is refused whole; a banned player is
refused; a batch id already applied returns its first result marked duplicate (so a retry after a
lost acknowledgement never counts twice, even between rounds); then the game must not be paused,
the round must be active and a push must be left in the player's push bucket; only then are
tokens spent and scores moved.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from engine import batch_memory, rounds, throttle
from engine.admin import interventions
from engine.errors import Banned, InvalidRequest, NotFound, Paused, RoundNotActive
from engine.players import BANNED, BatchResult, round_score
from engine.rules import Rules
from engine.state import GameState, active_round

BATCH_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # SPEC §4; the models, the document and the page
BATCH_ID = re.compile(BATCH_ID_PATTERN)


@dataclass(slots=True)
class PushResult:
    """What a push did: the HTTP reply as it is, and the WebSocket ``ack`` without the last field.

    A plain dataclass the server encodes directly (no dict in between). Not frozen: a frozen
    dataclass costs a microsecond more per push.
    """

    batch_id: str
    accepted: int
    throttled: int
    duplicate: bool
    score: int
    round_score: int
    rank: int | None  # all-time rank, 1 is best
    round_rank: int | None  # null until the player's first click of the round
    planet_total: int
    next_push_after: float  # seconds the page should wait before its next push

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_push(batch_id: object, clicks: object, rules: Rules) -> tuple[str, list[int]]:
    """Check the shape of a push; anything off refuses the whole push (SPEC §4).

    The server's request model refuses a bad push first, naming the field, and hands the engine
    a ``CheckedPush``; every other ``Push`` (a journal replay, a test, an admin tool) is checked
    here first, because the engine must not trust those callers.
    """
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
    """Apply a push whose shape is valid (``validate_push``, or the server's model, said so)."""
    rules = state.rules
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
    current = active_round(state)
    if current is None:
        raise RoundNotActive("no round is active", {"next_round_at": state.next_round_at})
    if player.planet not in current.totals:
        raise RoundNotActive("your planet is not in this round", {"round": current.id})
    throttle.take_push(player, rules, now)

    granted = throttle.take_clicks(player, clicks, rules, now)
    accepted = sum(granted)
    throttled = sum(clicks) - accepted
    if throttled:
        player.violations += 1
    planet = player.planet
    if accepted:
        player.round_score = round_score(player, current.id) + accepted
        player.round_id = current.id
        player.score += accepted
        player.last_click_at = now
        state.seq += 1
        slot = player.slot
        rank = state.all_board.set(slot, player.score, state.seq)
        round_rank = state.round_board.set(slot, player.round_score, state.seq)
        by_player = current.contributions[planet]
        batches = by_player.get(player_id)
        if batches is None:
            # Keyed by the player's own id string rather than the caller's equal copy (a
            # socket's, decoded from its token): one string a player for the snapshot's child
            # to read, not two on two pages.
            batches = by_player[player.id] = []
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
        round_score(player, current.id),
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
