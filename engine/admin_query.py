"""The admin's player listing and player detail, read from the live state (SPEC §8).

The listing runs inside an actor turn, so it is vectorised over the columns of
``engine.player_index``: every filter is one numpy comparison over the players' slots, the
search is a C-level substring scan, and a page of a sort is found with two partial partitions
(``np.partition``), never a full sort: the page's rows are the first ``page * limit`` in order
minus the first ``(page - 1) * limit``. The order is total — the sort key, then the slot (order
of creation) — so pages never overlap or skip a player while nothing changes.

``query_time_ms`` is measured with ``time.perf_counter``: a duration for the admin to read, not
a time any rule depends on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine import audit, interventions, roster, throttle
from engine import query_params as params
from engine.errors import InvalidRequest
from engine.players import STATUSES, round_score
from engine.state import GameState, current_round_id
from engine.view import player_dict

MAX_LIMIT = 500
SORTS = ("score", "round_score", "last_click", "created", "name")
ORDERS = ("desc", "asc")
FILTERS = (
    "search",
    "planet",
    "status",
    "score_min",
    "score_max",
    "round_score_min",
    "round_score_max",
    "active_since",
    "created_since",
    "flagged",
)
BIG = 10**15


@dataclass(slots=True, frozen=True)
class PlayerQuery:
    """What the admin asks for; every field but sort, order, page and limit is a filter."""

    search: str | None = None  # an id prefix or a name substring, case-insensitive
    planet: str | None = None
    status: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    round_score_min: int | None = None
    round_score_max: int | None = None
    active_since: float | None = None  # last click at or after (Unix seconds)
    created_since: float | None = None
    flagged: bool | None = None
    sort: str = "score"
    order: str = "desc"
    page: int = 1
    limit: int = 50


def parse_query(raw: Mapping[str, Any]) -> PlayerQuery:
    """A query from request parameters (a query string's strings or typed JSON values)."""
    params.refuse_unknown(raw, PlayerQuery.__slots__)
    search = params.text(raw, "search", 64)
    if search is not None and ("\n" in search or not search.strip()):
        raise InvalidRequest("search must be text on one line", {"field": "search"})
    status = raw.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {list(STATUSES)}", {"field": "status"})
    return PlayerQuery(
        search=search.strip() if search else None,
        planet=params.text(raw, "planet", 24),
        status=status,
        score_min=params.integer(raw, "score_min", None, 0, BIG),
        score_max=params.integer(raw, "score_max", None, 0, BIG),
        round_score_min=params.integer(raw, "round_score_min", None, 0, BIG),
        round_score_max=params.integer(raw, "round_score_max", None, 0, BIG),
        active_since=params.time(raw, "active_since"),
        created_since=params.time(raw, "created_since"),
        flagged=params.flag(raw, "flagged"),
        sort=params.choice(raw, "sort", "score", SORTS),
        order=params.choice(raw, "order", "desc", ORDERS),
        page=params.integer(raw, "page", 1, 1, 10**7) or 1,
        limit=params.integer(raw, "limit", 50, 1, MAX_LIMIT) or 50,
    )


def filters_applied(query: PlayerQuery) -> dict[str, Any]:
    values = asdict(query)
    return {name: values[name] for name in FILTERS if values[name] is not None}


def matching_slots(
    state: GameState, query: PlayerQuery, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """The slots of every player the query's filters match, in slot order.

    ``start`` and ``stop`` limit it to a window of slots: a bulk job's step tests the players
    its cursor reaches (``engine/bulk.py``), a few thousand at a time.
    """
    index = state.index
    if query.planet is not None and query.planet not in index.planet_code:
        raise InvalidRequest(f"unknown planet {query.planet!r}", {"field": "planet"})
    stop = index.n if stop is None else min(stop, index.n)
    window = slice(start, stop)
    mask = np.ones(max(0, stop - start), bool)
    if query.planet is not None:
        mask &= index.column("planet")[window] == index.planet_code[query.planet]
    if query.status is not None:
        mask &= index.column("status")[window] == STATUSES.index(query.status)
    if query.flagged is not None:
        mask &= index.column("flagged")[window] == int(query.flagged)
    score = index.column("score")[window]
    if query.score_min is not None:
        mask &= score >= query.score_min
    if query.score_max is not None:
        mask &= score <= query.score_max
    if query.round_score_min is not None or query.round_score_max is not None:
        live = _round_scores(state, window)
        if query.round_score_min is not None:
            mask &= live >= query.round_score_min
        if query.round_score_max is not None:
            mask &= live <= query.round_score_max
    if query.active_since is not None:
        # never clicked: NaN, false
        mask &= index.column("last_click")[window] >= query.active_since
    if query.created_since is not None:
        mask &= index.column("created")[window] >= query.created_since
    if query.search is not None:
        found = np.zeros(len(mask), bool)
        found[index.id_prefix_hits(query.search, start, stop) - start] = True
        found[index.name_hits(query.search, start, stop) - start] = True
        mask &= found
    return np.flatnonzero(mask) + start


def _round_scores(state: GameState, window: slice = slice(None)) -> np.ndarray:
    """Round scores as they read now: a score of another round counts 0 (lazy reset)."""
    index = state.index
    current = current_round_id(state)
    rounds = index.column("round_id")[window]
    if current is None:
        return np.zeros(len(rounds), np.int64)
    return np.where(rounds == current, index.column("round_score")[window], 0)


def _sort_keys(state: GameState, slots: np.ndarray, sort: str, order: str) -> list[np.ndarray]:
    """Keys, most significant first, that order ``slots`` ascending; ties fall to the slot."""
    index = state.index
    if sort == "name":
        keys = [index.column("name_key1")[slots], index.column("name_key2")[slots]]
        return keys if order == "asc" else [~k for k in keys]
    if sort in ("score", "round_score"):
        values = index.column("score") if sort == "score" else _round_scores(state)
        chosen = values[slots]
        return [chosen if order == "asc" else -chosen]
    column = index.column("last_click" if sort == "last_click" else "created")[slots]
    key = column if order == "asc" else -column
    return [np.where(np.isnan(key), np.inf, key)]  # never clicked: last either way


def _first(keys: list[np.ndarray], rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the first ``k`` of ``rows`` in the order of ``keys`` then position."""
    if k <= 0:
        return rows[:0]
    if k >= len(rows):
        return rows
    column = keys[0][rows]
    kth = np.partition(column, k - 1)[k - 1]
    before = rows[column < kth]
    tied = rows[column == kth]  # in position order, i.e. slot order
    need = k - len(before)
    rest = tied[:need] if len(keys) == 1 else _first(keys[1:], tied, need)
    return np.concatenate([before, rest])


def page_of(keys: list[np.ndarray], count: int, page: int, limit: int) -> np.ndarray:
    """Positions of one page's rows, in order."""
    rows = np.arange(count)
    start = (page - 1) * limit
    if start >= count:
        return rows[:0]
    upto = _first(keys, rows, start + limit)
    if start:
        upto = np.setdiff1d(upto, _first(keys, rows, start), assume_unique=True)
    # a page is at most MAX_LIMIT rows: sort it exactly, keys then position
    order = np.lexsort([upto, *(key[upto] for key in reversed(keys))])
    return upto[order]


def list_players(state: GameState, query: PlayerQuery, now: float) -> dict[str, Any]:
    """One page of the players the query matches, in its order, with the total count."""
    started = time.perf_counter()
    slots = matching_slots(state, query)
    keys = _sort_keys(state, slots, query.sort, query.order)
    chosen = slots[page_of(keys, len(slots), query.page, query.limit)]
    flagged = state.index.column("flagged")
    by_slot = state.index.by_slot
    rows = []
    for slot in chosen.tolist():
        player = by_slot[slot]
        row = player_dict(state, player)
        row["violations"] = player.violations
        row["flagged"] = bool(flagged[slot])
        rows.append(row)
    return {
        "players": rows,
        "total_count": len(slots),
        "page": query.page,
        "page_size": query.limit,
        "filters_applied": filters_applied(query),
        "sort": query.sort,
        "order": query.order,
        "query_time_ms": round((time.perf_counter() - started) * 1000, 3),
    }


ACTION_NAMES = ("ban", "unban", "reset_score", "kick", "patch", "flag", "intervention")


def player_detail(state: GameState, player_id: str, now: float) -> dict[str, Any]:
    """Everything about one player: standing, this round's batches, past rounds, cases, audit."""
    player = roster.get_player(state, player_id)
    current = state.current
    batches = (
        {
            planet: list(by_player[player_id])
            for planet, by_player in current.contributions.items()
            if player_id in by_player
        }
        if current is not None
        else {}
    )
    history = [
        {
            "round": s.id,
            "total": s.player_totals[player_id],
            "winner": s.winner,
            "at": s.finished_at,
        }
        for s in state.history
        if player_id in s.player_totals
    ]
    entries = audit.for_target(state, player_id)
    stats = state.push_stats.get(player_id)
    return {
        "player": player_dict(state, player),
        "round_id": current_round_id(state),
        "round_score": round_score(player, current_round_id(state)),
        "round_batches": batches,
        "rounds": history,
        "violations": player.violations,
        "tokens": round(throttle.available(player, state.rules, now), 3),
        "flagged": bool(state.index.column("flagged")[player.slot]),
        "push_stats": interventions.figures(stats) if stats is not None else None,
        "interventions": [
            interventions.case_dict(c)
            for c in state.interventions.values()
            if c.player_id == player_id
        ],
        "actions": [e for e in entries if e["action"] in ACTION_NAMES],
        "audit": entries,
    }
