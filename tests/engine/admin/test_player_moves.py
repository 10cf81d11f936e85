"""Admin moves on one player (SPEC §3, §8): move, ban, revoke, unban, reset_score."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import Banned, InvalidRequest, NotFound
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, fingerprint, push, run_query


def admin(state: GameState, op: str, player_id: str, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "player_id": player_id, "now": T0, **fields})


def contributions(state: GameState) -> dict[str, dict[str, list[int]]]:
    assert state.current is not None
    return state.current.contributions


def totals(state: GameState) -> dict[str, int]:
    assert state.current is not None
    return state.current.totals


@pytest.fixture
def game(state: GameState) -> GameState:
    """Players e1, e2 on earth and m1 on mars, with 10, 20 and 5 clicks in round 1."""
    add_player(state, "e1")
    add_player(state, "m1")
    add_player(state, "e2")
    push(state, "e1", "b1", [4, 6], T0)
    push(state, "e2", "b1", [20], T0)
    push(state, "m1", "b1", [5], T0)
    return state


def test_move_player_keeps_old_clicks_on_the_old_planet(game: GameState) -> None:
    """After a move, earlier clicks stay on the old planet and later ones go to the new one."""
    moved = admin(game, "move_player", "e1", planet="mars")
    assert moved["planet"] == "mars"
    assert totals(game) == {"earth": 30, "mars": 5}
    push(game, "e1", "b2", [7], T0 + 1)
    assert totals(game) == {"earth": 30, "mars": 12}
    assert contributions(game)["earth"]["e1"] == [4, 6]
    assert contributions(game)["mars"]["e1"] == [7]
    assert game.players["e1"].score == 17
    assert (game.planets["earth"].all_time, game.planets["mars"].all_time) == (30, 12)


def test_move_player_updates_the_planet_player_counts(game: GameState) -> None:
    """A move takes one player off the old planet's count and adds one to the new planet's."""
    admin(game, "move_player", "e1", planet="mars")
    assert (game.planets["earth"].players, game.planets["mars"].players) == (1, 2)
    assert add_player(game, "new")["planet"] == "earth"


def test_moving_to_the_same_planet_changes_nothing(game: GameState) -> None:
    """A move to the player's own planet leaves the state and its version as they were."""
    before = fingerprint(game)
    admin(game, "move_player", "e1", planet="earth")
    assert fingerprint(game) == before


def test_moving_to_an_unknown_planet_is_refused(game: GameState) -> None:
    """A move to a planet that does not exist is an invalid_request and changes nothing."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest):
        admin(game, "move_player", "e1", planet="pluto")
    with pytest.raises(NotFound):
        admin(game, "move_player", "ghost", planet="mars")
    assert fingerprint(game) == before


def test_a_ban_without_revoke_keeps_the_clicks(game: GameState) -> None:
    """A plain ban blocks the player but leaves their clicks in the score and the totals."""
    result = admin(game, "ban", "e1")
    assert result["revoked"] == 0 and result["player"]["status"] == "banned"
    assert totals(game) == {"earth": 30, "mars": 5}
    assert game.players["e1"].score == 10
    with pytest.raises(Banned):
        push(game, "e1", "b2", [1], T0 + 1)


def test_a_ban_with_revoke_takes_out_exactly_the_players_batches(game: GameState) -> None:
    """Revoking removes the player's recorded batches from the planet, and nobody else's."""
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 10
    assert totals(game) == {"earth": 20, "mars": 5}
    assert "e1" not in contributions(game)["earth"]
    assert contributions(game)["earth"]["e2"] == [20]
    assert game.planets["earth"].all_time == 20
    player = result["player"]
    assert (player["score"], player["round_score"], player["round_rank"]) == (0, 0, None)
    assert game.players["e1"].slot not in game.round_board


def test_a_revoke_follows_the_player_across_a_move(game: GameState) -> None:
    """A player moved mid-round has the batches on both planets revoked."""
    admin(game, "move_player", "e1", planet="mars")
    push(game, "e1", "b2", [7], T0 + 1)
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 17
    assert totals(game) == {"earth": 20, "mars": 5}


def test_a_revoke_keeps_clicks_of_earlier_rounds_in_the_score(game: GameState) -> None:
    """Only the active round's clicks are revoked; the all-time score keeps older rounds."""
    apply_command(game, {"op": "end_round", "now": T0 + 1})
    apply_command(game, {"op": "tick", "now": T0 + 11})
    push(game, "e1", "b2", [3], T0 + 12)
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 3
    assert game.players["e1"].score == 10
    assert game.history[0].totals == {"earth": 30, "mars": 5}


def test_a_revoke_during_the_break_takes_nothing_back(game: GameState) -> None:
    """Between rounds there is no active round: a revoking ban revokes 0 clicks."""
    apply_command(game, {"op": "end_round", "now": T0 + 1})
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 0
    assert game.players["e1"].score == 10
    assert game.history[0].player_totals["e1"] == 10


def test_a_revoke_after_a_reset_never_makes_the_score_negative(game: GameState) -> None:
    """Revoking clicks the reset already took out of the score leaves the score at 0, not below."""
    admin(game, "reset_score", "e1")
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 10
    assert game.players["e1"].score == 0
    assert totals(game)["earth"] == 20


def test_a_revoke_after_a_reset_takes_only_the_later_clicks_from_the_score(
    game: GameState,
) -> None:
    """After a reset and 7 more clicks, a revoking ban removes those 7 from the score."""
    apply_command(game, {"op": "end_round", "now": T0 + 1})
    apply_command(game, {"op": "tick", "now": T0 + 11})
    push(game, "e1", "b2", [5], T0 + 12)  # score 15: 10 from round 1, 5 from round 2
    admin(game, "reset_score", "e1")
    push(game, "e1", "b3", [7], T0 + 13)  # score 7
    result = admin(game, "ban", "e1", revoke_round_clicks=True)
    assert result["revoked"] == 12
    assert game.players["e1"].score == 0


def test_unban_lets_the_player_push_again(game: GameState) -> None:
    """An unbanned player's pushes are accepted again."""
    admin(game, "ban", "e1")
    assert admin(game, "unban", "e1")["status"] == "active"
    assert push(game, "e1", "b2", [2], T0 + 1).accepted == 2


def test_banning_twice_and_unbanning_an_active_player_change_nothing(game: GameState) -> None:
    """Setting the status a player already has leaves the state version alone."""
    admin(game, "ban", "e1")
    version = game.version
    admin(game, "ban", "e1")
    assert game.version == version
    admin(game, "unban", "e2")
    assert game.version == version


def test_set_status_refuses_an_unknown_status(game: GameState) -> None:
    """set_status with a status other than active or banned is an invalid_request."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest):
        admin(game, "set_status", "e1", status="muted")
    assert fingerprint(game) == before
    assert admin(game, "set_status", "e1", status="banned")["status"] == "banned"


def test_reset_score_zeroes_the_player_but_not_the_planet(game: GameState) -> None:
    """reset_score sets score and round_score to 0, and so takes both ranks away, and leaves
    what the planet earned."""
    player = admin(game, "reset_score", "e2")
    assert (player["score"], player["round_score"], player["round_rank"]) == (0, 0, None)
    assert totals(game) == {"earth": 30, "mars": 5}
    assert contributions(game)["earth"]["e2"] == [20]
    assert (player["rank"], game.all_board.rank(game.players["e2"].slot)) == (None, None)


def test_after_a_reset_new_clicks_count_from_zero(game: GameState) -> None:
    """A reset player's next push starts both scores again from 0."""
    admin(game, "reset_score", "e2")
    result = push(game, "e2", "b2", [3], T0 + 1)
    assert (result.score, result.round_score) == (3, 3)
    assert totals(game)["earth"] == 33


@pytest.mark.parametrize("op", ["ban", "unban", "reset_score", "set_status"])
def test_admin_moves_on_an_unknown_player_are_not_found(state: GameState, op: str) -> None:
    """Every admin move names a player; an unknown id is not_found and changes nothing."""
    before = fingerprint(state)
    fields = {"status": "banned"} if op == "set_status" else {}
    with pytest.raises(NotFound):
        admin(state, op, "ghost", **fields)
    assert fingerprint(state) == before


def test_an_unknown_command_is_an_invalid_request(state: GameState) -> None:
    """A command name the table does not know is refused."""
    with pytest.raises(InvalidRequest):
        apply_command(state, {"op": "explode", "now": T0})
    with pytest.raises(InvalidRequest):
        run_query(state, {"op": "explode"})
