"""Players (SPEC §3): creation, display names, planet assignment, the lazy round score."""

from __future__ import annotations

from typing import Any

import pytest

from engine import commands, planets
from engine.errors import Banned, Conflict, InvalidRequest, NotFound
from engine.players import clean_name, default_name
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, add_player, fingerprint, push


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann", "Ann"),
        ("  Ann  ", "Ann"),
        ("\tAnn\n", "Ann"),
        ("a", "a"),
        ("x" * 24, "x" * 24),
        ("  " + "x" * 24 + "  ", "x" * 24),
        ("Jo Ann", "Jo Ann"),
        ("under_score-dash 42", "under_score-dash 42"),
        ("Zoë", "Zoë"),
        ("0", "0"),
    ],
)
def test_good_names_are_trimmed_and_kept(raw: str, expected: str) -> None:
    """Names of 1-24 letters, digits, spaces, _ or - are accepted after trimming."""
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "x" * 25, "a.b", "a@b", "semi;colon", "<b>", "a\nb", "a\tb", "emoji🙂", "quo'te"],
)
def test_bad_names_are_refused(raw: str) -> None:
    """Empty, too long or names with other characters are an invalid_request on 'name'."""
    with pytest.raises(InvalidRequest) as caught:
        clean_name(raw)
    assert caught.value.details == {"field": "name"}


@pytest.mark.parametrize("raw", [None, 5, ["Ann"], b"Ann"])
def test_a_name_that_is_not_a_string_is_refused(raw: Any) -> None:
    """A name of another type than str is an invalid_request."""
    with pytest.raises(InvalidRequest):
        clean_name(raw)


def test_a_player_without_a_name_gets_a_default_one(state: GameState) -> None:
    """A player created without a name is called player-<first 6 hex of the id>."""
    player = add_player(state, "8f14e45f-ceea-467a-9575-1234567890ab")
    assert player["name"] == "player-8f14e4" == default_name("8f14e45f-ceea")


def test_a_new_player_object_has_every_field(state: GameState) -> None:
    """The created player object carries the SPEC §5 fields with ISO 8601 UTC times."""
    player = add_player(state, "a", name=" Ann ")
    assert player == {
        "id": "a",
        "name": "Ann",
        "planet": "earth",
        "score": 0,
        "round_score": 0,
        "rank": 1,
        "round_rank": None,
        "status": "active",
        "created_at": "2023-11-14T22:13:20Z",
        "last_click_at": None,
    }


def test_creating_a_player_with_a_bad_name_changes_nothing(state: GameState) -> None:
    """A refused creation leaves no player behind and no planet count raised."""
    before = fingerprint(state)
    with pytest.raises(InvalidRequest):
        add_player(state, "a", name="no/slash")
    assert fingerprint(state) == before


def test_a_player_id_cannot_be_created_twice(state: GameState) -> None:
    """Creating an existing id is a conflict and leaves the first player as it was."""
    add_player(state, "a", name="First")
    before = fingerprint(state)
    with pytest.raises(Conflict):
        add_player(state, "a", name="Second")
    assert fingerprint(state) == before


def test_rename_trims_and_validates(state: GameState) -> None:
    """A rename stores the trimmed name; a bad one is refused and the old name stays."""
    add_player(state, "a", name="Ann")
    renamed = commands.apply(state, {"op": "rename", "player_id": "a", "name": " Bo ", "now": T0})
    assert renamed["name"] == "Bo"
    with pytest.raises(InvalidRequest):
        commands.apply(state, {"op": "rename", "player_id": "a", "name": "", "now": T0})
    assert state.players["a"].name == "Bo"


def test_a_banned_player_cannot_rename(state: GameState) -> None:
    """The rename command itself refuses a banned player with banned and changes nothing."""
    add_player(state, "a", name="Ann")
    commands.apply(state, {"op": "ban", "player_id": "a", "now": T0})
    before = fingerprint(state)
    with pytest.raises(Banned):
        commands.apply(state, {"op": "rename", "player_id": "a", "name": "Bo", "now": T0})
    assert fingerprint(state) == before
    commands.apply(state, {"op": "unban", "player_id": "a", "now": T0})
    assert (
        commands.apply(state, {"op": "rename", "player_id": "a", "name": "Bo", "now": T0})["name"]
        == "Bo"
    )


def test_names_need_not_be_unique(state: GameState) -> None:
    """Two players may share a display name."""
    add_player(state, "a", name="Sam")
    add_player(state, "b", name="Sam")
    assert state.players["a"].name == state.players["b"].name == "Sam"


def test_rename_of_an_unknown_player_is_not_found(state: GameState) -> None:
    """Renaming a player that does not exist is not_found."""
    with pytest.raises(NotFound):
        commands.apply(state, {"op": "rename", "player_id": "x", "name": "Bo", "now": T0})


def test_new_players_alternate_between_planets(state: GameState) -> None:
    """With equal planets, players go to the planet with the fewest players, name breaking ties."""
    assigned = [add_player(state, f"p{i}")["planet"] for i in range(5)]
    assert assigned == ["earth", "mars", "earth", "mars", "earth"]
    assert (state.planets["earth"].players, state.planets["mars"].players) == (3, 2)


def test_equal_player_counts_go_to_the_lower_all_time_total(state: GameState) -> None:
    """With equal player counts, the planet with the lower all-time total gets the player."""
    add_player(state, "a")  # earth
    add_player(state, "b")  # mars
    push(state, "a", "b1", [5], T0)
    assert add_player(state, "c")["planet"] == "mars"


def test_fewest_players_wins_over_the_lower_total(state: GameState) -> None:
    """A planet with fewer players gets the player even when its all-time total is higher."""
    add_player(state, "a")  # earth
    push(state, "a", "b1", [50], T0)
    assert add_player(state, "b")["planet"] == "mars"
    push(state, "b", "b1", [100], T0)
    assert add_player(state, "c")["planet"] == "earth"
    assert add_player(state, "d")["planet"] == "mars"


def test_the_name_breaks_a_full_tie() -> None:
    """With equal players and totals the alphabetically first planet is chosen."""
    game = new_state(Rules(), ["venus", "mars", "earth"])
    assert planets.pick_planet(game.planets) == "earth"
    game.planets["earth"].players = 1
    assert planets.pick_planet(game.planets) == "mars"
    game.planets["mars"].all_time = 5
    game.planets["mars"].players = 0
    game.planets["venus"].all_time = 4
    assert planets.pick_planet(game.planets) == "venus"


@pytest.mark.parametrize(
    "names",
    [["earth"], [f"p{i}" for i in range(17)], ["earth", "earth"], ["Earth", "mars"], ["", "x"]],
)
def test_a_bad_planet_set_is_refused(names: list[str]) -> None:
    """Planet sets of fewer than 2, more than 16, duplicate or badly named planets are refused."""
    with pytest.raises(InvalidRequest):
        planets.make_planets(names)


def test_sixteen_planets_are_allowed() -> None:
    """Sixteen distinct planets make a valid game."""
    assert len(planets.make_planets([f"p{i}" for i in range(16)])) == 16
