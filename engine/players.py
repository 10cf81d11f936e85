"""Players: creation, display names, and the round score that resets lazily (SPEC §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InvalidRequest

MAX_NAME_LENGTH = 24  # SPEC §3; the request models, the document and the page read it here
NAME = re.compile(rf"[\w\- ]{{1,{MAX_NAME_LENGTH}}}")
ACTIVE, BANNED = "active", "banned"
STATUSES = (ACTIVE, BANNED)

# A stored push result: accepted, throttled, score, round_score, rank, round_rank, planet_total.
BatchResult = tuple[int, int, int, int, "int | None", "int | None", int]


@dataclass(slots=True)
class Player:
    id: str
    name: str
    planet: str
    created_at: float
    tokens: float
    tokens_at: float
    score: int = 0
    round_score: int = 0
    round_id: int = 0  # the round ``round_score`` belongs to; any other round reads it as 0
    last_click_at: float | None = None
    last_push_at: float | None = None
    status: str = ACTIVE
    violations: int = 0
    # recent batch ids and their replies, oldest first: see engine/batch_memory.py
    batch_ids: str = ""
    batch_results: bytes = b""
    slot: int = -1  # the player's number on the leaderboards, given at creation


def clean_name(raw: object) -> str:
    """Trim and check a display name: 1-24 letters, digits, space, ``_`` or ``-``."""
    if not isinstance(raw, str):
        raise InvalidRequest("name must be a string", {"field": "name"})
    name = raw.strip()
    if not NAME.fullmatch(name):
        raise InvalidRequest("name must be 1-24 letters, digits, spaces, _ or -", {"field": "name"})
    return name


def default_name(player_id: str) -> str:
    return f"player-{player_id.replace('-', '')[:6]}"


def round_score(player: Player, round_id: int | None) -> int:
    """The player's score in round ``round_id``: a score from an older round counts as 0."""
    return player.round_score if round_id is not None and player.round_id == round_id else 0
