"""Players (SPEC §3): creation, display names, planet assignment, the lazy round score."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine import planets
from engine.errors import Banned, Conflict, InvalidRequest, NotFound
from engine.players import (
    INVISIBLE,
    INVISIBLE_CHARS,
    NAME_MAX,
    NAME_MIN,
    clean_name,
    default_name,
)
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, add_player, apply_command, fingerprint, push


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


def test_names_in_any_script_and_spelling_are_kept_in_one_form() -> None:
    """Letters of any script pass; NFKC gives one spelling to decomposed, full-width, odd spaces."""
    assert clean_name("José") == "José"
    assert clean_name("Jose\u0301") == "José"  # e + combining acute: the composed form is kept
    assert clean_name("名前") == "名前"
    assert clean_name("नमस्ते") == "नमस्ते"  # virama and vowel sign are marks on letters
    assert clean_name("\uff2a\uff4f\uff45") == "Joe"  # full-width letters
    assert clean_name("Ann\u00a0Lee") == "Ann Lee"  # a no-break space is a space
    assert clean_name("\u3000Ann\u2003") == "Ann"  # ideographic and em spaces are trimmed
    assert clean_name("ﬁne") == "fine"  # a ligature


def test_characters_that_show_nothing_are_refused_anywhere_in_a_name() -> None:
    """Fillers, zero-width and bidi controls, joiners, variation selectors and tags are refused."""
    for low, high in INVISIBLE:
        for code in range(low, min(high, low + 40) + 1):
            for name in (chr(code), f"Ann{chr(code)}", f"{chr(code)}Ann", f"A{chr(code)}nn"):
                with pytest.raises(InvalidRequest) as caught:
                    clean_name(name)
                assert caught.value.details == {"field": "name"}, hex(code)
    for filler in ("\u3164", "\u115f", "\u1160", "\uffa0", "\u3164\u3164\u3164"):
        with pytest.raises(InvalidRequest):
            clean_name(filler)


def test_marks_belong_to_a_letter_or_digit_and_do_not_stack() -> None:
    """A mark on a letter or digit passes; alone, after a space or _, or 5 in a row it does not."""
    assert clean_name("q\u0301\u0302\u0303\u0304") == "q\u0301\u0302\u0303\u0304"
    assert clean_name("7\u20e3") == "7\u20e3"  # an enclosing keycap mark on a digit
    for raw in ("\u0301", "\u0301\u0301", " \u0301", "a \u0301", "_\u0301", "q" + "\u0301" * 5):
        with pytest.raises(InvalidRequest):
            clean_name(raw)


def test_the_length_counts_after_normalising_and_trimming() -> None:
    """24 characters pass however many spaces surround them; NFKC that makes 25 is refused."""
    assert clean_name(" " * 500 + "x" * 24 + "\u3000" * 500) == "x" * 24
    assert clean_name("x" * 23 + "e\u0301") == "x" * 23 + "é"  # 25 code points, 24 after NFKC
    with pytest.raises(InvalidRequest):
        clean_name("x" * 23 + "ﬁ")  # the ligature becomes two letters: 25
    with pytest.raises(InvalidRequest):
        clean_name("x" * 10_000)


NAME_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from([" ", "_", "-", "\u0301", "\u3164", "\u200b", "\ufe0f", "\u00a0"]),
    ),
    max_size=30,
)


@given(NAME_TEXT)
def test_a_clean_name_is_visible_trimmed_normal_and_stable(raw: str) -> None:
    """A name that passes is 1-24 allowed characters, in NFKC, and cleans to itself."""
    try:
        name = clean_name(raw)
    except InvalidRequest as refused:
        assert refused.details == {"field": "name"}
        return
    assert NAME_MIN <= len(name) <= NAME_MAX
    assert name == name.strip() == unicodedata.normalize("NFKC", name)
    assert not INVISIBLE_CHARS.intersection(name)
    assert unicodedata.category(name[0])[0] != "M"
    for char in name:
        assert unicodedata.category(char)[0] in "LNM" or char in " _-", repr(char)
    assert clean_name(name) == name


@given(
    st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=NAME_MAX),
    st.sampled_from(sorted(INVISIBLE_CHARS)),
    st.integers(0, NAME_MAX),
)
def test_a_letter_name_passes_and_one_invisible_character_refuses_it(
    letters: str, invisible: str, at: int
) -> None:
    """Letters and digits of any script pass as NFKC; one invisible character among them fails."""
    normal = unicodedata.normalize("NFKC", letters)
    assume(
        len(normal) <= NAME_MAX and normal == normal.strip() and not INVISIBLE_CHARS & set(normal)
    )
    assume(all(unicodedata.category(c)[0] in "LNM" for c in normal))
    assert clean_name(letters) == normal
    with pytest.raises(InvalidRequest):
        clean_name(letters[:at] + invisible + letters[at:])


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
    """The created player object carries the SPEC §5 fields with ISO 8601 UTC times, no rank
    in either scope before a click, its board key (the first player's slot) and no ban."""
    player = add_player(state, "a", name=" Ann ")
    assert player == {
        "id": "a",
        "name": "Ann",
        "planet": "earth",
        "score": 0,
        "round_score": 0,
        "rank": None,
        "round_rank": None,
        "status": "active",
        "created_at": "2023-11-14T22:13:20Z",
        "last_click_at": None,
        "key": 0,
        "banned_until": None,
        "ban_reason": None,
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
    renamed = apply_command(state, {"op": "rename", "player_id": "a", "name": " Bo ", "now": T0})
    assert renamed["name"] == "Bo"
    with pytest.raises(InvalidRequest):
        apply_command(state, {"op": "rename", "player_id": "a", "name": "", "now": T0})
    assert state.players["a"].name == "Bo"


def test_a_banned_player_cannot_rename(state: GameState) -> None:
    """The rename command itself refuses a banned player with banned and changes nothing."""
    add_player(state, "a", name="Ann")
    apply_command(state, {"op": "ban", "player_id": "a", "now": T0})
    before = fingerprint(state)
    with pytest.raises(Banned):
        apply_command(state, {"op": "rename", "player_id": "a", "name": "Bo", "now": T0})
    assert fingerprint(state) == before
    apply_command(state, {"op": "unban", "player_id": "a", "now": T0})
    assert (
        apply_command(state, {"op": "rename", "player_id": "a", "name": "Bo", "now": T0})["name"]
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
        apply_command(state, {"op": "rename", "player_id": "x", "name": "Bo", "now": T0})


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
