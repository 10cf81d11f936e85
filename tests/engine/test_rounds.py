"""Rounds and the game queue (SPEC §3): target and time-out wins, draws, breaks, late starts."""

from __future__ import annotations

from typing import Any

import pytest

from engine import rounds
from engine.errors import Conflict, InvalidRequest, RoundNotActive
from engine.players import round_score
from engine.rules import Rules
from engine.state import ACTIVE, FINISHED, GameState, new_state
from engine.view import player_dict
from tests.conftest import T0, StateFactory, add_player, apply_command, fingerprint, push, run_query

END = T0 + 600  # the default first round's ends_at
NEXT = END + 10  # and when the round after it starts


def tick(state: GameState, now: float) -> None:
    apply_command(state, {"op": "tick", "now": now})


def two_players(state: GameState) -> None:
    add_player(state, "e")  # earth
    add_player(state, "m")  # mars


def test_the_first_tick_starts_round_one_with_the_defaults() -> None:
    """A new game has no round until its first tick, which starts round 1 at that time."""
    game = new_state(Rules(), ["earth", "mars"])
    assert game.current is None and rounds.is_due(game, T0)
    tick(game, T0)
    current = game.current
    assert current is not None
    assert (current.id, current.status, current.target) == (1, ACTIVE, 10_000)
    assert (current.started_at, current.ends_at) == (T0, T0 + 600)
    assert current.totals == {"earth": 0, "mars": 0}
    assert game.outbox[-1]["event"] == "started" and game.outbox[-1]["data"]["id"] == 1


def test_reaching_the_target_wins_and_finishes_the_round(make_state: StateFactory) -> None:
    """The push that takes a planet to the target wins the round for that planet at once."""
    game = make_state(round_target=100)
    two_players(game)
    push(game, "m", "b1", [60], T0)
    result = push(game, "e", "b1", [100], T0 + 5)
    assert result.planet_total == 100 and result.accepted == 100
    current = game.current
    assert current is not None
    assert (current.status, current.winner, current.reason) == (FINISHED, "earth", "target")
    assert current.finished_at == T0 + 5
    assert game.next_round_at == T0 + 5 + game.rules.round_break_seconds
    summary = game.history[-1]
    assert (summary.winner, summary.reason, summary.totals) == (
        "earth",
        "target",
        {"earth": 100, "mars": 60},
    )
    assert game.outbox[-1]["event"] == "finished"


def test_one_below_the_target_does_not_win(make_state: StateFactory) -> None:
    """A total one short of the target leaves the round active."""
    game = make_state(round_target=100)
    two_players(game)
    push(game, "e", "b1", [99], T0)
    assert game.current is not None and game.current.status == ACTIVE


def test_pushes_after_the_target_get_round_not_active(make_state: StateFactory) -> None:
    """Once a planet has won, any other push is refused with round_not_active and next_round_at."""
    game = make_state(round_target=100)
    two_players(game)
    push(game, "e", "b1", [100], T0)
    before = fingerprint(game)
    with pytest.raises(RoundNotActive) as caught:
        push(game, "m", "b1", [5], T0 + 1)
    assert caught.value.code == "round_not_active"
    assert caught.value.details == {"next_round_at": T0 + 10}
    assert fingerprint(game) == before


def test_time_out_gives_the_round_to_the_highest_total(state: GameState) -> None:
    """When time runs out the planet with the higher total wins, finishing at ends_at."""
    two_players(state)
    push(state, "e", "b1", [30], T0)
    push(state, "m", "b1", [31], T0)
    tick(state, END + 2.5)
    current = state.current
    assert current is not None
    assert (current.status, current.winner, current.reason) == (FINISHED, "mars", "time")
    assert current.finished_at == END
    assert state.next_round_at == NEXT
    info = state.outbox[-1]
    assert info["event"] == "finished"
    assert info["data"]["duration"] == 600 and info["data"]["draw"] is False


def test_a_tick_before_ends_at_changes_nothing(state: GameState) -> None:
    """Ticks inside the round's time leave the state, and its version, untouched."""
    before = fingerprint(state)
    tick(state, END - 0.001)
    assert fingerprint(state) == before
    assert not rounds.is_due(state, END - 0.001) and rounds.is_due(state, END)


def test_equal_totals_at_time_out_are_a_draw(state: GameState) -> None:
    """Equal planet totals when time runs out are a draw: no winner."""
    two_players(state)
    push(state, "e", "b1", [25], T0)
    push(state, "m", "b1", [25], T0)
    tick(state, END)
    assert state.current is not None and state.current.winner is None
    assert state.history[-1].winner is None
    assert state.outbox[-1]["data"]["draw"] is True


def test_a_round_nobody_clicked_in_is_a_draw(state: GameState) -> None:
    """A round with no clicks at all ends in a draw with all totals zero."""
    tick(state, END)
    summary = state.history[-1]
    assert (summary.winner, summary.totals, summary.top, summary.player_totals) == (
        None,
        {"earth": 0, "mars": 0},
        [],
        {},
    )


def test_a_tie_between_two_of_three_leaders_is_a_draw(make_state: StateFactory) -> None:
    """With three planets, two sharing the highest total is a draw even if the third is lower."""
    game = make_state(planets=["earth", "mars", "venus"])
    for pid in ("e", "m", "v"):
        add_player(game, pid)
    push(game, "e", "b", [9], T0)
    push(game, "m", "b", [9], T0)
    push(game, "v", "b", [3], T0)
    tick(game, END)
    assert game.history[-1].winner is None


def test_the_break_ends_with_a_new_round(state: GameState) -> None:
    """The next round starts when the break is over, not a moment earlier."""
    tick(state, END)
    tick(state, NEXT - 0.001)
    assert state.current is not None and state.current.id == 1
    add_player(state, "a", now=NEXT - 0.001)
    with pytest.raises(RoundNotActive):
        push(state, "a", "b1", [5], NEXT - 0.001)
    tick(state, NEXT)
    current = state.current
    assert current is not None
    assert (current.id, current.status, current.started_at, current.ends_at) == (
        2,
        ACTIVE,
        NEXT,
        NEXT + 600,
    )
    assert state.next_round_at is None


def test_round_score_resets_lazily_when_the_next_round_starts(state: GameState) -> None:
    """A round_score from an older round reads 0, with no sweep over the stored players."""
    two_players(state)
    push(state, "e", "b1", [30], T0)
    assert round_score(state.players["e"], 1) == 30
    tick(state, NEXT)
    player = state.players["e"]
    assert player.round_score == 30 and player.round_id == 1  # not swept
    assert round_score(player, 2) == 0
    view = player_dict(state, player)
    assert (view["score"], view["round_score"], view["round_rank"]) == (30, 0, None)
    assert len(state.round_board) == 0


def test_the_round_score_of_the_new_round_counts_only_new_clicks(state: GameState) -> None:
    """The first push of a new round starts the round_score from zero; the score keeps growing."""
    two_players(state)
    push(state, "e", "b1", [30], T0)
    tick(state, NEXT)
    result = push(state, "e", "b2", [12], NEXT + 1)
    assert (result.score, result.round_score, result.round_rank) == (42, 12, 1)
    assert player_dict(state, state.players["e"])["round_score"] == 12


def test_the_round_score_stays_visible_during_the_break(state: GameState) -> None:
    """During the break the player still sees the finished round's score and rank."""
    two_players(state)
    push(state, "e", "b1", [30], T0)
    tick(state, END)
    view = player_dict(state, state.players["e"])
    assert (view["round_score"], view["round_rank"]) == (30, 1)


def test_a_late_start_after_a_long_outage_starts_at_now(state: GameState) -> None:
    """A tick long after the break starts one round at that time, not a chain of missed ones."""
    two_players(state)
    push(state, "e", "b1", [30], T0)
    late = END + 3 * 3600
    tick(state, late)
    assert [s.id for s in state.history] == [1]
    assert state.history[0].finished_at == END
    current = state.current
    assert current is not None
    assert (current.id, current.started_at, current.ends_at) == (2, late, late + 600)
    events = [e["event"] for e in state.outbox]
    assert events[-2:] == ["finished", "started"]


def test_queued_rounds_start_first_with_their_own_settings(state: GameState) -> None:
    """A queued round starts after the break with its target and duration; then the defaults."""
    queued = apply_command(state, {"op": "queue_round", "target": 50, "seconds": 30, "now": T0 + 1})
    assert queued == {"id": 2, "target": 50, "seconds": 30.0, "planets": ["earth", "mars"]}
    second = apply_command(state, {"op": "queue_round", "target": 70, "now": T0 + 1})
    tick(state, NEXT)
    current = state.current
    assert current is not None
    assert (current.id, current.target, current.ends_at) == (2, 50, NEXT + 30)
    tick(state, NEXT + 30 + 10)
    assert state.current is not None
    assert (state.current.id, state.current.target) == (second["id"], 70)
    assert state.current.seconds == 600
    tick(state, NEXT + 40 + 600 + 10)
    assert state.current is not None
    assert (state.current.id, state.current.target) == (4, 10_000)


def test_a_queued_round_with_some_planets_refuses_the_others(make_state: StateFactory) -> None:
    """In a round of earth and mars, a venus player's push is round_not_active."""
    game = make_state(planets=["earth", "mars", "venus"])
    for pid in ("e", "m", "v"):
        add_player(game, pid)
    apply_command(game, {"op": "queue_round", "planets": ["earth", "mars"], "now": T0})
    tick(game, NEXT)
    assert game.current is not None and game.current.totals == {"earth": 0, "mars": 0}
    with pytest.raises(RoundNotActive):
        push(game, "v", "b1", [5], NEXT)
    assert push(game, "e", "b1", [5], NEXT).accepted == 5


@pytest.mark.parametrize(
    "settings",
    [
        {"target": 0},
        {"target": -5},
        {"target": True},
        {"target": 1.5},
        {"target": "100"},
        {"target": 10**12 + 1},
        {"seconds": 0},
        {"seconds": 0.5},
        {"seconds": 86400 * 7 + 1},
        {"seconds": True},
        {"seconds": "60"},
        {"planets": ["earth"]},
        {"planets": ["earth", "earth"]},
        {"planets": ["earth", "pluto"]},
        {"planets": []},
    ],
)
def test_a_bad_queued_round_is_refused(state: GameState, settings: dict[str, Any]) -> None:
    """Queueing a round with a bad target, duration or planet list is refused, changing nothing."""
    before = fingerprint(state)
    with pytest.raises(InvalidRequest):
        apply_command(state, {"op": "queue_round", "now": T0, **settings})
    assert fingerprint(state) == before


def test_an_admin_ends_the_active_round_now(state: GameState) -> None:
    """end_round finishes the round at once with reason admin and starts the usual break."""
    two_players(state)
    push(state, "e", "b1", [10], T0)
    push(state, "m", "b1", [20], T0)
    summary = apply_command(state, {"op": "end_round", "now": T0 + 42})
    assert (summary["winner"], summary["reason"], summary["duration"]) == ("mars", "admin", 42)
    assert state.current is not None and state.current.status == FINISHED
    assert state.next_round_at == T0 + 42 + 10
    with pytest.raises(RoundNotActive):
        push(state, "e", "b2", [5], T0 + 43)


def test_ending_a_round_when_none_is_active_is_a_conflict(state: GameState) -> None:
    """end_round during the break is a conflict and changes nothing."""
    apply_command(state, {"op": "end_round", "now": T0 + 1})
    before = fingerprint(state)
    with pytest.raises(Conflict):
        apply_command(state, {"op": "end_round", "now": T0 + 2})
    assert fingerprint(state) == before


def test_a_finished_round_keeps_its_summary(state: GameState) -> None:
    """The summary keeps totals, winner, duration, the top 10 and every player's round total."""
    for i in range(12):
        add_player(state, f"p{i:02}")
        push(state, f"p{i:02}", "b1", [i + 1], T0)
    tick(state, END)
    summary = state.history[-1]
    assert summary.totals == {"earth": 1 + 3 + 5 + 7 + 9 + 11, "mars": 2 + 4 + 6 + 8 + 10 + 12}
    assert summary.winner == "mars"
    assert [entry["id"] for entry in summary.top] == [f"p{i:02}" for i in range(11, 1, -1)]
    assert summary.top[0] == {
        "rank": 1,
        "id": "p11",
        "name": "player-p11",
        "planet": "mars",
        "score": 12,
    }
    assert summary.player_totals == {f"p{i:02}": i + 1 for i in range(12)}
    assert (summary.started_at, summary.finished_at) == (T0, END)


def test_the_rounds_query_lists_finished_rounds_newest_first(state: GameState) -> None:
    """The rounds query returns summaries of finished rounds, the newest first."""
    tick(state, END)
    tick(state, NEXT)
    apply_command(state, {"op": "end_round", "now": NEXT + 5})
    listed = run_query(state, {"op": "rounds"})
    assert [r["id"] for r in listed] == [2, 1]
    assert listed[0]["reason"] == "admin" and listed[1]["reason"] == "time"
    assert [r["id"] for r in run_query(state, {"op": "rounds", "limit": 1})] == [2]


def test_a_player_moved_mid_round_keeps_both_planets_clicks_in_the_summary(
    state: GameState,
) -> None:
    """A player's round total in the summary adds the batches given on every planet."""
    two_players(state)
    push(state, "e", "b1", [8], T0)
    apply_command(state, {"op": "move_player", "player_id": "e", "planet": "mars", "now": T0})
    push(state, "e", "b2", [5], T0 + 1)
    tick(state, END)
    summary = state.history[-1]
    assert summary.player_totals == {"e": 13}
    assert summary.totals == {"earth": 8, "mars": 5}
    assert summary.top[0]["score"] == 13


def test_contributions_are_keyed_by_the_players_own_id_string(state: GameState) -> None:
    """A push that names its player by an equal copy of the id files the round's contributions
    under the player's own id string, so the state holds one such string a player."""
    add_player(state, "player-one")
    player = state.players["player-one"]
    copy = "".join(["player-", "one"])
    assert copy == player.id and copy is not player.id
    push(state, copy, "b1", [3], T0)
    assert state.current is not None
    (key,) = state.current.contributions[player.planet]
    assert key is player.id
