"""The admin's player listing and player detail (SPEC §8).

The listing has two parts. ``select`` finds the page: the slots of the players the filters
match, in the sort's order, and their count. It is vectorised over the columns of
``engine.admin.player_index``: every filter is one numpy comparison over the players' slots, the
search is a C-level substring scan, and a page of a sort is found with a partial partition
(``np.partition``), never a full sort: the first ``page * limit`` rows in order, sorted, less
the first ``(page - 1) * limit`` (``page_of``). The order is total — the sort key, then the slot
(order of creation) — so pages never overlap or skip a player while nothing changes.
``select`` reads any ``Columns``: the live index (``list_players``, one call in a turn, for the
engine's own callers and tests), or the copy the server reads outside the turn
(``engine/admin/index_copy.py``, ``server/admin/listing.py``). ``rows`` then turns the page's slots
into the players' objects, from the live state, in a turn.

The filter is declared once, here: ``PlayerFilter``, a typed model whose fields' types carry
their limits. ``parse_query`` reads a query string by it (``engine/admin/query_params.py``), a bulk
job's command carries one (``engine/command_types.py``), and the server derives the listing's
parameters in the OpenAPI document and the bulk body from it; the admin page builds its filter
form's values from the document's ``PlayerFilter`` (``server/static/admin/admin-players.js``).

``cost`` estimates a listing's work, in players scanned, for the admin's read budget.
``query_time_ms`` is measured with ``time.perf_counter``: a duration for the admin to read, not
a time any rule depends on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Protocol

import msgspec
import numpy as np
from msgspec import Meta

from engine import roster, throttle
from engine.admin import audit, interventions
from engine.admin import query_params as params
from engine.errors import InvalidRequest
from engine.players import BANNED, STATUSES, round_score
from engine.state import GameState, current_round_id
from engine.view import player_dict

MAX_LIMIT = 500
MAX_PAGE = 10**7
SORTS = ("score", "round_score", "last_click", "created", "name")
ORDERS = ("desc", "asc")
BIG = 10**15
# The cost of a listing in players scanned (``cost``): a row is the player's object with both
# ranks, about as much work as scanning a thousand players' columns; a search or a sort by name
# reads the names' bytes or keys as well.
ROW_COST = 1000
SORTED_ROWS = 20_000  # ``page_of`` sorts this many rows outright (about 2 ms)


class Columns(Protocol):
    """What ``select`` reads: the live ``PlayerIndex`` or its ``IndexCopy``."""

    n: int
    planet_code: dict[str, int]

    def column(self, name: str) -> np.ndarray: ...
    def name_hits(self, text: str, start: int = 0, stop: int | None = None) -> np.ndarray: ...
    def id_prefix_hits(
        self, prefix: str, start: int = 0, stop: int | None = None
    ) -> np.ndarray: ...


Count = Annotated[int, Meta(ge=0, le=BIG)]
TIME = audit.TIME


class PlayerFilter(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The listing's filters (SPEC §8), each optional; a player matches when every one given
    holds. Also a bulk job's filter, tested on each player as the job reaches them."""

    search: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=64,
                description="an id prefix or a part of the name, case-insensitive, one line",
            ),
        ]
        | None
    ) = None
    planet: Annotated[str, Meta(min_length=1, max_length=24)] | None = None
    # A Literal made from the engine's tuple: msgspec reads it at run time, a type checker cannot.
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    score_min: Count | None = None
    score_max: Count | None = None
    round_score_min: Count | None = None
    round_score_max: Count | None = None
    active_since: Annotated[float, Meta(description=f"clicked at or after: {TIME}")] | None = None
    created_since: Annotated[float, Meta(description=f"joined at or after: {TIME}")] | None = None
    flagged: bool | None = None


class PlayerQuery(PlayerFilter, frozen=True):
    """What the admin asks for: the filters, and the sort, order and page of the listing."""

    # A Literal made from the engine's tuple: msgspec reads it at run time, a type checker cannot.
    sort: Literal[SORTS] = "score"  # type: ignore[valid-type]
    order: Literal[ORDERS] = "desc"  # type: ignore[valid-type]
    page: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 1
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = 50


FILTERS = PlayerFilter.__struct_fields__


def parse_query(raw: Mapping[str, Any]) -> PlayerQuery:
    """A query from request parameters (a query string's strings or typed JSON values)."""
    return _searching(params.read(raw, PlayerQuery))


def query_of(given: PlayerFilter) -> PlayerQuery:
    """The query a filter alone asks (a bulk job's): every player it matches. Its times are
    checked finite here, as a query string's are when read: a NaN bound would match nothing."""
    for name in ("active_since", "created_since"):
        value = getattr(given, name)
        if value is not None and not math.isfinite(value):
            raise InvalidRequest(f"{name} must be a finite number", {"field": name})
    return _searching(PlayerQuery(**msgspec.structs.asdict(given)))


def _searching(query: PlayerQuery) -> PlayerQuery:
    """The search on one line and trimmed, which its type cannot say."""
    search = query.search
    if search is None:
        return query
    if "\n" in search or not search.strip():
        raise InvalidRequest("search must be text on one line", {"field": "search"})
    return msgspec.structs.replace(query, search=search.strip())


def filters_applied(query: PlayerQuery) -> dict[str, Any]:
    return {name: value for name in FILTERS if (value := getattr(query, name)) is not None}


def cost(query: PlayerQuery, players: int) -> int:
    """About how much work the listing is, in players scanned (see ``ROW_COST``)."""
    passes = 1 + (query.search is not None) + (query.sort == "name")
    return passes * players + ROW_COST * query.limit


def check_planet(index: Columns, query: PlayerQuery) -> None:
    if query.planet is not None and query.planet not in index.planet_code:
        raise InvalidRequest(f"unknown planet {query.planet!r}", {"field": "planet"})


def matching_slots(
    state: GameState, query: PlayerQuery, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """The slots of every player the query's filters match, in slot order.

    ``start`` and ``stop`` limit it to a window of slots: a bulk job's step tests the players
    its cursor reaches (``engine/admin/bulk.py``), a few thousand at a time.
    """
    return matching(state.index, current_round_id(state), query, start, stop)


def matching(
    index: Columns,
    round_id: int | None,
    query: PlayerQuery,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """The slots from ``start`` to ``stop`` of every player the query's filters match in
    ``index``, in slot order."""
    check_planet(index, query)
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
        live = _round_scores(index, round_id, window)
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


def _round_scores(index: Columns, round_id: int | None, window: slice = slice(None)) -> np.ndarray:
    """Round scores as they read in round ``round_id``: another round's count 0 (lazy reset)."""
    rounds = index.column("round_id")[window]
    if round_id is None:
        return np.zeros(len(rounds), np.int64)
    return np.where(rounds == round_id, index.column("round_score")[window], 0)


def _sort_keys(
    index: Columns, round_id: int | None, slots: np.ndarray, sort: str, order: str
) -> list[np.ndarray]:
    """Keys, most significant first, that order ``slots`` ascending; ties fall to the slot."""
    every = len(slots) == index.n  # the filters kept everyone: the columns are the keys

    def take(column: np.ndarray) -> np.ndarray:
        return column if every else column[slots]

    if sort == "name":
        keys = [take(index.column("name_key1")), take(index.column("name_key2"))]
        return keys if order == "asc" else [~k for k in keys]
    if sort in ("score", "round_score"):
        values = index.column("score") if sort == "score" else _round_scores(index, round_id)
        chosen = take(values)
        return [chosen if order == "asc" else -chosen]
    column = take(index.column("last_click" if sort == "last_click" else "created"))
    key = column if order == "asc" else -column
    return [np.where(np.isnan(key), np.inf, key)]  # never clicked: last either way


def _first(keys: list[np.ndarray], rows: np.ndarray | None, k: int, count: int) -> np.ndarray:
    """Positions of the first ``k`` of ``rows`` (None: all ``count``) in the order of ``keys``
    then position."""
    if k <= 0:
        return np.zeros(0, np.int64)
    if rows is None and k >= count:
        return np.arange(count)
    if rows is not None and k >= len(rows):
        return rows
    column = keys[0] if rows is None else keys[0][rows]
    kth = np.partition(column, k - 1)[k - 1]
    before, tied = np.flatnonzero(column < kth), np.flatnonzero(column == kth)
    if rows is not None:
        before, tied = rows[before], rows[tied]  # still in position order, i.e. slot order
    need = k - len(before)
    rest = tied[:need] if len(keys) == 1 else _first(keys[1:], tied, need, count)
    return np.concatenate([before, rest])


def page_of(keys: list[np.ndarray], count: int, page: int, limit: int) -> np.ndarray:
    """Positions of one page's rows, in order.

    The rows up to the page's end are found with one partition and sorted exactly, keys then
    position; past ``SORTED_ROWS`` rows, the rows before the page are found with a second
    partition and left out first, so a deep page never sorts a million rows.
    """
    start = (page - 1) * limit
    if start >= count:
        return np.zeros(0, np.int64)
    upto = _first(keys, None, start + limit, count)
    skip = start
    if start and len(upto) > SORTED_ROWS:
        upto = np.setdiff1d(upto, _first(keys, None, start, count), assume_unique=True)
        skip = 0
    order = np.lexsort([upto, *(key[upto] for key in reversed(keys))])
    return upto[order[skip : skip + limit]]


def select(index: Columns, round_id: int | None, query: PlayerQuery) -> tuple[list[int], int]:
    """The slots of the query's page, in its order, and how many players match in all.

    ``round_id`` is the round the round scores are read in (the current one).
    """
    slots = matching(index, round_id, query)
    keys = _sort_keys(index, round_id, slots, query.sort, query.order)
    chosen = slots[page_of(keys, len(slots), query.page, query.limit)]
    return chosen.tolist(), len(slots)


def rows(state: GameState, slots: list[int]) -> list[dict[str, Any]]:
    """The players of ``slots`` as the listing shows them, from the live state."""
    index = state.index
    by_slot = index.by_slot
    found = []
    for slot in slots:
        player = by_slot[slot]
        row: Any = player_dict(state, player)
        row["violations"] = player.violations
        row["flagged"] = index.is_flagged(slot)
        found.append(row)
    return found


def reply(
    query: PlayerQuery, players: list[dict[str, Any]], total: int, ms: float
) -> dict[str, Any]:
    """The listing's reply (SPEC §8): the page, the total, what was asked, how long it took."""
    return {
        "players": players,
        "total_count": total,
        "page": query.page,
        "page_size": query.limit,
        "filters_applied": filters_applied(query),
        "sort": query.sort,
        "order": query.order,
        "query_time_ms": round(ms, 3),
    }


def list_players(state: GameState, query: PlayerQuery, now: float) -> dict[str, Any]:
    """One page of the players the query matches, in its order, with the total count: the
    whole listing at once, on the live index (the server splits it up: see ``select``)."""
    started = time.perf_counter()
    page, total = select(state.index, current_round_id(state), query)
    found = rows(state, page)
    return reply(query, found, total, (time.perf_counter() - started) * 1000)


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
    ban = state.bans.get(player_id) if player.status == BANNED else None
    return {
        "player": player_dict(state, player),
        "names": [
            {"at": change.at, "name": change.name, "by": change.by}
            for change in roster.name_history(state, player)
        ],
        "banned_until": None if ban is None else ban.until,
        "ban_reason": None if ban is None else ban.reason,
        "round_id": current_round_id(state),
        "round_score": round_score(player, current_round_id(state)),
        "round_batches": batches,
        "rounds": history,
        "violations": player.violations,
        "tokens": round(throttle.available(player, state.rules, now), 3),
        "flagged": state.index.is_flagged(player.slot),
        "push_stats": interventions.figures(stats) if stats is not None else None,
        "interventions": [
            interventions.case_dict(state, c)
            for c in state.interventions.values()
            if c.player_id == player_id
        ],
        "actions": [e for e in entries if e["action"] in ACTION_NAMES],
        "audit": entries,
    }
