"""The admin's part of the game state as plain data: flagged players' cases, the detectors'
running sums, bulk jobs (SPEC §8).

``engine/state.py`` holds these in ``GameState``; ``engine/admin/interventions.py`` and
``engine/admin/bulk.py`` hold the rules that change them and import the state. The records live
here, importing nothing of the engine, so the state needs neither rule module and no import
loops back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A case's states (engine/admin/interventions.py) and a bulk job's (engine/admin/bulk.py).
OPEN, ASSIGNED, RESOLVED = "open", "assigned", "resolved"
RUNNING, DONE, CANCELLED, INTERRUPTED = "running", "done", "cancelled", "interrupted"


@dataclass(slots=True)
class PushStats:
    """Running sums of one window of a player's pushes."""

    started: float
    last: float
    pushes: int = 1
    sum_dt: float = 0.0
    sum_dt2: float = 0.0
    sum_count: float = 0.0
    sum_count2: float = 0.0
    throttled_pushes: int = 0
    throttled_clicks: int = 0
    # The sums above as they stood every FAST_HALF intervals, the last three (fast_path.py).
    fast_marks: list[list[float]] = field(default_factory=list)


@dataclass(slots=True)
class Intervention:
    id: int
    player_id: str
    kind: str
    created_at: float
    evidence: dict[str, Any]
    status: str = OPEN
    flagged_by: str | None = None  # the admin of a manual flag; None when automatic
    assignee: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    resolution: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    updated_at: float = 0.0


@dataclass(slots=True)
class BulkJob:
    id: int
    action: str
    admin: str
    reason: str
    created_at: float
    total: int  # at creation: the ids given, or the players the filter matched
    end: int  # where the cursor stops: the number of ids, or of players at creation
    params: dict[str, Any] = field(default_factory=dict)  # planet, revoke_round_clicks
    selection: dict[str, Any] = field(default_factory=dict)  # {"filter": {...}} or the ids' count
    ids: list[str] | None = None  # the targets of a job over ids, until it is finished
    cursor: int = 0  # the next index into ``ids``, or the next slot to test
    done: int = 0
    skipped: int = 0
    status: str = RUNNING
    updated_at: float = 0.0
    finished_at: float | None = None
