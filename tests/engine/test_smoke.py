from engine import commands
from engine.state import GameState
from tests.conftest import T0


def test_a_push_adds_accepted_clicks_to_score_and_planet(state: GameState) -> None:
    """A first push of 12 clicks is accepted whole and moves player and planet."""
    commands.apply(state, {"op": "create_player", "player_id": "a", "name": "Ann", "now": T0})
    result = commands.apply(
        state, {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [5, 7], "now": T0 + 1}
    )
    assert (result.accepted, result.throttled, result.score) == (12, 0, 12)
    assert state.current is not None and state.current.totals["earth"] == 12
