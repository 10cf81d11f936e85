"""The admin player listing (SPEC §8) equals a brute-force filter and sort over all players."""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings

from engine.admin import query as admin_query
from engine.admin.player_index import PlayerIndex
from engine.admin.query import PlayerQuery, list_players, parse_query
from engine.errors import InvalidRequest
from engine.players import Player, round_score
from engine.state import GameState, current_round_id
from tests.conftest import T0, apply_command
from tests.engine.admin.listing_games import NAMES, PLANETS, build_game, players, queries


def brute_force(state: GameState, q: PlayerQuery) -> tuple[list[str], int]:
    """Every player checked in Python, sorted by the query's key then creation order."""
    current = current_round_id(state)
    flagged = {c.player_id for c in state.interventions.values() if c.status != "resolved"}

    def matches(p: Player) -> bool:
        rs = round_score(p, current)
        search = q.search.lower() if q.search else None
        return (
            (q.planet is None or p.planet == q.planet)
            and (q.status is None or p.status == q.status)
            and (q.flagged is None or (p.id in flagged) == q.flagged)
            and (q.score_min is None or p.score >= q.score_min)
            and (q.score_max is None or p.score <= q.score_max)
            and (q.round_score_min is None or rs >= q.round_score_min)
            and (q.round_score_max is None or rs <= q.round_score_max)
            and (
                q.active_since is None
                or (p.last_click_at is not None and p.last_click_at >= q.active_since)
            )
            and (q.created_since is None or p.created_at >= q.created_since)
            and (search is None or p.id.lower().startswith(search) or search in p.name.lower())
        )

    def key(p: Player) -> Any:
        sign = 1 if q.order == "asc" else -1
        if q.sort == "name":
            raw = p.name.lower().encode()[:16].ljust(16, b"\0")
            return bytes(b if sign == 1 else 255 - b for b in raw)
        if q.sort == "score":
            return sign * p.score
        if q.sort == "round_score":
            return sign * round_score(p, current)
        value = p.last_click_at if q.sort == "last_click" else p.created_at
        return math.inf if value is None else sign * value

    found = sorted(
        (p for p in state.players.values() if matches(p)), key=lambda p: (key(p), p.slot)
    )
    start = (q.page - 1) * q.limit
    return [p.id for p in found[start : start + q.limit]], len(found)


@settings(max_examples=150, deadline=None)
@given(players, queries)
def test_a_listing_page_equals_a_brute_force_filter_and_sort(moves, raw) -> None:
    """Every filter, search, sort, order and page gives the same players and total as a plain
    Python filter and sort over all players."""
    state = build_game(moves)
    query = parse_query(raw)
    listed = list_players(state, query, T0)
    expected, total = brute_force(state, query)
    assert [row["id"] for row in listed["players"]] == expected
    assert listed["total_count"] == total


@settings(max_examples=60, deadline=None)
@given(players, queries)
def test_deep_pages_found_by_two_partitions_equal_a_brute_force_sort(moves, raw) -> None:
    """Pages past SORTED_ROWS rows, whose earlier rows are left out by a second partition
    rather than sorted, give the same players as a plain sort."""
    state = build_game(moves)
    query = parse_query(raw)
    with mock.patch.object(admin_query, "SORTED_ROWS", 2):
        listed = list_players(state, query, T0)
    assert [row["id"] for row in listed["players"]] == brute_force(state, query)[0]


@settings(max_examples=40, deadline=None)
@given(players)
def test_the_index_built_at_load_equals_the_one_kept_by_the_game(moves) -> None:
    """Rebuilding the index from the players gives the columns the live updates gave."""
    state = build_game(moves)
    flagged = [c.player_id for c in state.interventions.values() if c.status != "resolved"]
    built = PlayerIndex.build(state.players.values(), PLANETS, flagged)
    for name in ("score", "round_score", "round_id", "planet", "status", "flagged", "id_key"):
        assert built.column(name).tolist() == state.index.column(name).tolist(), name
    for name in ("name_key1", "name_key2", "created"):
        assert built.column(name).tolist() == state.index.column(name).tolist(), name
    assert built.name_hits("ann").tolist() == state.index.name_hits("ann").tolist()


def test_the_reply_names_the_filters_and_the_page(state: GameState) -> None:
    """The reply carries total_count, page, page_size, filters_applied and query_time_ms."""
    apply_command(state, {"op": "create_player", "player_id": "a", "name": "Ann", "now": T0})
    reply = list_players(state, parse_query({"search": "an", "status": "active"}), T0)
    assert reply["total_count"] == 1
    assert (reply["page"], reply["page_size"]) == (1, 50)
    assert reply["filters_applied"] == {"search": "an", "status": "active"}
    assert reply["query_time_ms"] >= 0
    assert reply["players"][0]["flagged"] is False


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"page": "x"}, "page"),
        ({"sort": "age"}, "sort"),
        ({"order": "up"}, "order"),
        ({"status": "muted"}, "status"),
        ({"score_min": -1}, "score_min"),
        ({"flagged": "maybe"}, "flagged"),
        ({"active_since": "yesterday"}, "active_since"),
        ({"active_since": "NaN"}, "active_since"),
        ({"active_since": "inf"}, "active_since"),
        ({"active_since": "-Infinity"}, "active_since"),
        ({"active_since": "1e999"}, "active_since"),
        ({"active_since": float("nan")}, "active_since"),
        ({"created_since": float("-inf")}, "created_since"),
        ({"created_since": "\u0663"}, "created_since"),  # an Arabic-Indic 3: float() reads it
        ({"score_min": "\u00b2"}, "score_min"),  # a superscript 2: isdigit(), but not int()
        ({"score_max": "--5"}, "score_max"),
        ({"round_score_min": "+5"}, "round_score_min"),
        ({"created_since": "2024-01-01T00:00:00"}, "created_since"),
        ({"search": ""}, "search"),
    ],
)
def test_a_bad_query_names_the_field(raw: dict[str, Any], field: str) -> None:
    """Each malformed parameter is an invalid_request naming it."""
    with pytest.raises(InvalidRequest) as refused:
        parse_query(raw)
    assert refused.value.details == {"field": field}


def test_an_unknown_planet_or_parameter_is_refused(state: GameState) -> None:
    """A planet the game lacks and a parameter the listing does not know are refused."""
    with pytest.raises(InvalidRequest) as refused:
        list_players(state, parse_query({"planet": "pluto"}), T0)
    assert refused.value.details == {"field": "planet"}
    with pytest.raises(InvalidRequest) as refused:
        parse_query({"colour": "red"})
    assert refused.value.details == {"fields": ["colour"]}


def test_times_may_be_iso_strings(state: GameState) -> None:
    """active_since and created_since read ISO 8601 with a zone as well as Unix seconds."""
    query = parse_query({"created_since": "2023-11-14T22:13:20Z"})
    assert query.created_since == T0


def test_keys_deferred_at_load_count_players_who_joined_or_were_renamed_since() -> None:
    """A loaded game's index builds its id and name keys at the first read that needs them;
    players who joined or were renamed before that read are keyed like the rest."""
    moves = [(i % len(NAMES), i % 5, 0, False, False) for i in range(12)]
    loaded = build_game(moves)
    loaded.index = PlayerIndex.build(loaded.players.values(), PLANETS)
    live = build_game(moves)
    for state in (loaded, live):
        apply_command(state, {"op": "create_player", "player_id": "late-9", "now": T0 + 500})
        apply_command(state, {"op": "rename", "player_id": "id000-000", "name": "Zed", "now": T0})
    for name in ("id_key", "name_key1", "name_key2"):
        assert loaded.index.column(name).tolist() == live.index.column(name).tolist(), name
    query = parse_query({"sort": "name", "order": "asc", "search": "late"})
    assert list_players(loaded, query, T0 + 600)["total_count"] == 1
