"""Push validation (SPEC §4): every malformed push is refused whole and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from engine.clicks import validate_push
from engine.errors import Banned, InvalidRequest, NotFound
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, fingerprint, push

BAD_BATCH_IDS: list[Any] = [
    "",
    "a" * 65,
    "has space",
    "slash/",
    "dot.",
    "plus+",
    "é",
    "tab\t",
    "newline\n",
    "\nleading",
    None,
    17,
    b"bytes",
    ["b1"],
]

BAD_CLICKS: list[Any] = [
    [],
    [1] * 33,
    [0],
    [5, 0],
    [-1],
    [201],
    [5, 201],
    [10**30],
    [True],
    [False],
    [1.0],
    [2.5],
    [float("nan")],
    ["5"],
    [None],
    [[5]],
    None,
    5,
    "5",
    (5,),
    {"count": 5},
]


@pytest.fixture
def played(state: GameState) -> GameState:
    """A game where player ``a`` already scored 7 clicks at ``T0`` (so totals are not zero)."""
    add_player(state, "a")
    push(state, "a", "first", [7], T0)
    return state


@pytest.mark.parametrize("batch_id", BAD_BATCH_IDS, ids=repr)
def test_a_bad_batch_id_is_refused_and_nothing_changes(played: GameState, batch_id: Any) -> None:
    """A batch_id that is not 1-64 of [A-Za-z0-9_-] is an invalid_request and changes nothing."""
    before = fingerprint(played)
    with pytest.raises(InvalidRequest) as caught:
        push(played, "a", batch_id, [5], T0 + 1)
    assert caught.value.code == "invalid_request"
    assert caught.value.details == {"field": "batch_id"}
    assert fingerprint(played) == before


@pytest.mark.parametrize("clicks", BAD_CLICKS, ids=repr)
def test_bad_clicks_are_refused_and_nothing_changes(played: GameState, clicks: Any) -> None:
    """Clicks that are not 1-32 integers from 1 to MAX_COUNT refuse the push whole."""
    before = fingerprint(played)
    with pytest.raises(InvalidRequest) as caught:
        push(played, "a", "b2", clicks, T0 + 1)
    assert caught.value.details == {"field": "clicks"}
    assert fingerprint(played) == before
    assert played.version == before["version"]


def test_a_bad_count_after_good_ones_applies_none_of_them(played: GameState) -> None:
    """One bad count at the end of a push refuses the good counts before it too."""
    score_before = played.players["a"].score
    with pytest.raises(InvalidRequest):
        push(played, "a", "b2", [5, 5, 5, -5], T0 + 1)
    assert played.players["a"].score == score_before
    assert played.current is not None and played.current.totals == {"earth": 7, "mars": 0}
    assert push(played, "a", "b2", [5, 5, 5], T0 + 1).accepted == 15


def test_a_refused_push_does_not_take_the_batch_id(played: GameState) -> None:
    """A batch id refused for bad counts is not remembered: a corrected retry is applied."""
    with pytest.raises(InvalidRequest):
        push(played, "a", "b2", [0], T0 + 1)
    result = push(played, "a", "b2", [4], T0 + 1)
    assert (result.accepted, result.duplicate) == (4, False)


@pytest.mark.parametrize(
    ("batch_id", "clicks"),
    [
        ("a", [1]),
        ("A" * 64, [200]),
        ("Az09_-", [1] * 32),
        ("-", [200] * 32),
    ],
)
def test_the_largest_valid_shapes_pass_validation(
    state: GameState, batch_id: str, clicks: list[int]
) -> None:
    """The edges of the valid range (64-char ids, 32 counts, count MAX_COUNT) are accepted."""
    assert validate_push(batch_id, clicks, state.rules) == (batch_id, clicks)


def test_max_count_is_max_cps_times_push_rate_times_ten(state: GameState) -> None:
    """A count of MAX_CPS * CLICK_PUSH_RATE * 10 is valid and one more is not."""
    top = state.rules.max_count
    assert top == 200
    validate_push("b", [top], state.rules)
    with pytest.raises(InvalidRequest):
        validate_push("b", [top + 1], state.rules)


def test_a_banned_player_gets_banned(state: GameState) -> None:
    """A banned player's valid push is refused with banned and changes nothing."""
    add_player(state, "a")
    apply_command(state, {"op": "ban", "player_id": "a", "now": T0})
    before = fingerprint(state)
    with pytest.raises(Banned) as caught:
        push(state, "a", "b1", [5], T0)
    assert caught.value.code == "banned"
    assert fingerprint(state) == before


def test_a_banned_players_malformed_push_is_an_invalid_request(state: GameState) -> None:
    """The shape is checked before the ban: a malformed push from a banned player is invalid."""
    add_player(state, "a")
    apply_command(state, {"op": "ban", "player_id": "a", "now": T0})
    with pytest.raises(InvalidRequest):
        push(state, "a", "bad id", [5], T0)


def test_an_unknown_player_is_not_found(state: GameState) -> None:
    """A push for a player id that does not exist is refused with not_found."""
    before = fingerprint(state)
    with pytest.raises(NotFound):
        push(state, "ghost", "b1", [5], T0)
    assert fingerprint(state) == before
