"""Why a player is banned, until when, and the lifting of bans that ran out (SPEC §8).

A ban may carry ``duration_seconds``; it then ends by itself. ``state.bans`` keeps a record for
each banned player (the reason the player is told, when, by whom, and the end of a timed ban),
saved with the state; ``roster`` writes it on a ban and drops it on an unban, whoever makes
them. The ends of timed bans also sit in a heap (``state.ban_expiries``, rebuilt from the
records at load), so the round tick, which asks ``is_due`` on every turn, looks at one entry;
``lift_expired`` runs in the tick's record, so a replay lifts the same bans at the same time.
A lifted ban is audited as an ``unban`` by ``system``, and the player is named in ``changed``:
their page hears it at once, as after an admin's unban (``server/player_news.py``).
"""

from __future__ import annotations

import heapq
import math

from engine import roster
from engine.admin import audit
from engine.admin import events as admin_events
from engine.errors import InvalidRequest
from engine.players import BANNED
from engine.state import GameState

MAX_DURATION = 31_536_000  # a year, in seconds
SYSTEM = "system"  # the audit's admin for a change no admin made
EXPIRED = "ban expired"


def check_duration(raw: object) -> float | None:
    """``duration_seconds`` of a ban: absent (None), or a finite number from 1 to a year."""
    if raw is None:
        return None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or not 1 <= raw <= MAX_DURATION
    ):
        message = f"duration_seconds must be a number from 1 to {MAX_DURATION}"
        raise InvalidRequest(message, {"field": "duration_seconds"})
    return float(raw)


def until(state: GameState, player_id: str) -> float | None:
    """When the player's ban ends: None when not banned or banned without end."""
    record = state.bans.get(player_id)
    return None if record is None else record.until


def reason(state: GameState, player_id: str) -> str | None:
    record = state.bans.get(player_id)
    return None if record is None else record.reason


def is_due(state: GameState, now: float) -> bool:
    """Whether a timed ban may have run out at ``now`` (cheap: called on every turn)."""
    expiries = state.ban_expiries
    return bool(expiries) and expiries[0][0] <= now


def lift_expired(state: GameState, now: float) -> list[str]:
    """Unban every player whose timed ban ended by ``now``; returns their ids, in order."""
    expiries, lifted = state.ban_expiries, []
    while expiries and expiries[0][0] <= now:
        ends, player_id = heapq.heappop(expiries)
        record = state.bans.get(player_id)
        player = state.players.get(player_id)
        if record is None or record.until != ends or player is None or player.status != BANNED:
            continue  # lifted by hand, or banned again with another end
        before = {"status": BANNED, "banned_until": ends, "ban_reason": record.reason}
        roster.unban(state, player_id)
        entry = audit.record(
            state, now, SYSTEM, "unban", player_id, EXPIRED, before, {"status": player.status}
        )
        admin_events.emit(
            state,
            "unban",
            now,
            changed=[player_id],
            player_id=player_id,
            player_name=player.name,
            admin=SYSTEM,
            reason=EXPIRED,
            audit_id=entry["id"],
        )
        lifted.append(player_id)
    return lifted
