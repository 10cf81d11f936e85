"""The audit log: every admin change, who made it, why, and what it changed (SPEC §8).

An entry is written by the admin command itself, inside the same ``commands.apply``, so the
journal (which stores the command dicts) replays it identically and the log can never miss a
change or hold one that did not happen. Entries are plain dicts in ``state.audit``, oldest
first, and persist with the rest of the state::

    {"id", "at", "admin", "action", "target", "reason", "before", "after"}

Read back (``query``, ``for_target``), each entry also has ``target_name``: the target player's
name now, or None when the target is not a player (``game``, ``round:3``, ``bulk:2``). It is
looked up at reading, never stored, so a renamed player's past entries show who it is today.
``admin`` is the admin's name (``system`` for what no admin did, such as a ban running out);
entries written before admins had names keep the token's id they were written with, never the
token. ``id`` is the entry's place in the log plus
one: the log is only ever appended to. A bulk job writes one entry when it is created and one
when it ends (with its counts), not one per player: a bulk ban of 100,000 players would
otherwise add 100,000 entries; the job itself keeps the list of players it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from engine.admin import query_params as params
from engine.errors import InvalidRequest
from engine.state import GameState

MAX_REASON = 500
MAX_ADMIN = 64
MAX_PAGE_SIZE = 500


def clean_reason(raw: object) -> str:
    """A reason is required for every admin change: 1-500 characters once trimmed."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("a reason is required", {"field": "reason"})
    reason = raw.strip()
    if len(reason) > MAX_REASON:
        raise InvalidRequest(f"reason is at most {MAX_REASON} characters", {"field": "reason"})
    return reason


def clean_admin(raw: object) -> str:
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_ADMIN:
        raise InvalidRequest(f"admin must be 1-{MAX_ADMIN} characters", {"field": "admin"})
    return raw


def record(
    state: GameState,
    now: float,
    admin: str,
    action: str,
    target: str,
    reason: str,
    before: Any = None,
    after: Any = None,
) -> dict[str, Any]:
    """Append one entry; the caller has validated ``admin`` and ``reason`` before changing."""
    entry = {
        "id": len(state.audit) + 1,
        "at": now,
        "admin": admin,
        "action": action,
        "target": target,
        "reason": reason,
        "before": before,
        "after": after,
    }
    state.audit.append(entry)
    state.version += 1
    return entry


Text = Annotated[str, Meta(min_length=1, max_length=200)]
TIME = "Unix seconds; in a query string, ISO 8601 with a zone as well"


class AuditQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The audit log's filters and page, declared once: read by ``parse_query``, and the
    server's query parameters in the OpenAPI document are derived from it."""

    action: Text | None = None
    target: Text | None = None
    admin: Text | None = None
    since: Annotated[float, Meta(description=f"at or after: {TIME}")] | None = None
    until: Annotated[float, Meta(description=f"before: {TIME}")] | None = None
    page: Annotated[int, Meta(ge=1, le=10**9)] = 1
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE_SIZE)] = 50


def parse_query(raw: Mapping[str, Any]) -> AuditQuery:
    """The audit filter from request parameters (strings from a query string are accepted)."""
    return params.read(raw, AuditQuery)


def query(state: GameState, q: AuditQuery) -> dict[str, Any]:
    """Matching entries, newest first, one page of them, with the total count."""
    matches = [e for e in reversed(state.audit) if _matches(e, q)]
    start = (q.page - 1) * q.limit
    return {
        "entries": named(state, matches[start : start + q.limit]),
        "total_count": len(matches),
        "page": q.page,
        "page_size": q.limit,
    }


def for_target(state: GameState, target: str) -> list[dict[str, Any]]:
    """Every entry about one target (a player id), oldest first."""
    return named(state, [e for e in state.audit if e["target"] == target])


def named(state: GameState, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries as the API shows them: each with its target player's name, or None."""
    players = state.players
    return [
        {**e, "target_name": p.name if (p := players.get(e["target"])) is not None else None}
        for e in entries
    ]


def _matches(entry: dict[str, Any], q: AuditQuery) -> bool:
    return (
        (q.action is None or entry["action"] == q.action)
        and (q.target is None or entry["target"] == q.target)
        and (q.admin is None or entry["admin"] == q.admin)
        and (q.since is None or entry["at"] >= q.since)
        and (q.until is None or entry["at"] < q.until)
    )
