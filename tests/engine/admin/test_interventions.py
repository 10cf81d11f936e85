"""Interventions (SPEC §8): automatic flags with evidence, manual flags, the case lifecycle."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.admin import interventions
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.rules import Rules
from engine.state import GameState, new_state
from tests.conftest import T0, add_player, apply_command, push, run_query


def cmd(state: GameState, op: str, now: float = T0, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "now": now, "admin": "tok", "reason": "r", **fields})


def long_game() -> GameState:
    game = new_state(Rules(round_seconds=3600.0, round_target=10**9), ["earth", "mars"])
    apply_command(game, {"op": "tick", "now": T0})
    return game


def play(game: GameState, pid: str, pushes: list[tuple[float, int]]) -> None:
    for i, (at, count) in enumerate(pushes):
        push(game, pid, f"b{i}", [count], at)


def test_a_script_pushing_the_same_count_every_second_is_flagged_with_evidence() -> None:
    """Regular intervals and constant counts over two minutes open a machine_rhythm case."""
    game = long_game()
    add_player(game, "bot")
    play(game, "bot", [(T0 + i, 10) for i in range(130)])
    (case,) = game.interventions.values()
    assert (case.kind, case.status, case.player_id) == ("machine_rhythm", "open", "bot")
    assert case.evidence["cv_count"] == 0.0 and case.evidence["cv_interval"] == 0.0
    assert case.evidence["pushes"] >= interventions.MIN_PUSHES
    listed = run_query(game, {"op": "admin_players", "query": {"flagged": "true"}})
    assert [row["id"] for row in listed["players"]] == ["bot"]


def test_a_person_with_varying_counts_is_not_flagged() -> None:
    """The page's own fixed cadence with a person's varying counts opens no case."""
    game = long_game()
    add_player(game, "human")
    rng = random.Random(7)
    play(game, "human", [(T0 + i, rng.randint(3, 12)) for i in range(400)])
    assert game.interventions == {}


def test_sustained_throttling_is_flagged() -> None:
    """Most pushes of a window clipped by the bucket open a throttling case."""
    game = long_game()
    add_player(game, "fast")
    rng = random.Random(3)
    play(game, "fast", [(T0 + i, rng.randint(40, 200)) for i in range(121)])  # judged at 120 s
    (case,) = game.interventions.values()
    assert case.kind == "throttling"
    assert case.evidence["throttled_pushes"] >= interventions.MIN_THROTTLED
    assert case.evidence["violations"] == game.players["fast"].violations


def test_a_pause_in_pushing_starts_a_new_window() -> None:
    """Pushes split by more than IDLE seconds are never judged as one window."""
    game = long_game()
    add_player(game, "bot")
    first = [(T0 + i, 10) for i in range(100)]
    second = [(T0 + 100 + interventions.IDLE + 1 + i, 10) for i in range(100)]
    play(game, "bot", first + second)
    assert game.interventions == {}


def test_stats_are_kept_only_for_players_who_pushed_lately() -> None:
    """A player idle for longer than IDLE loses their running sums as others push."""
    game = long_game()
    for pid in ("a", "b"):
        add_player(game, pid)
    push(game, "a", "x", [1], T0)
    for i in range(5):
        push(game, "b", f"y{i}", [1], T0 + interventions.IDLE + 1 + i)
    assert list(game.push_stats) == ["b"]


def test_the_case_lifecycle_and_the_ban_template() -> None:
    """A manual flag is assigned, noted, then resolved with ``ban``: the player is banned, the
    flag cleared, each step audited."""
    game = long_game()
    add_player(game, "p")
    case = cmd(game, "admin_flag", player_id="p", reason="reports from players")
    assert case["kind"] == "manual" and case["evidence"] == {"reason": "reports from players"}
    assigned = cmd(game, "admin_intervention", intervention_id=case["id"], assignee="ops-2")
    assert assigned["status"] == "assigned"
    cmd(game, "admin_intervention", intervention_id=case["id"], note="looked at the logs")
    done = cmd(game, "admin_intervention", T0 + 5, intervention_id=case["id"], resolve="ban")
    assert (done["status"], done["resolution"], done["resolved_at"]) == ("resolved", "ban", T0 + 5)
    assert [n["text"] for n in done["notes"]] == ["looked at the logs", "Banned the player"]
    assert game.players["p"].status == "banned"
    assert not game.index.column("flagged")[game.players["p"].slot]
    actions = [e["action"] for e in game.audit]
    assert actions == ["flag", "intervention", "intervention", "ban", "intervention"]
    with pytest.raises(Conflict):
        cmd(game, "admin_intervention", intervention_id=case["id"], resolve="warn")


def test_flagging_a_player_with_an_open_case_returns_that_case_with_a_note() -> None:
    """A second flag by hand opens no second case: the open one gets the reason as a note,
    the flag is audited, and the case is returned marked existing."""
    game = long_game()
    add_player(game, "p")
    first = cmd(game, "admin_flag", player_id="p", reason="reported twice")
    again = cmd(game, "admin_flag", T0 + 5, player_id="p", reason="and again", admin="tok-2")
    assert (first["existing"], again["existing"]) == (False, True)
    assert again["id"] == first["id"] and len(game.interventions) == 1
    assert again["evidence"] == {"reason": "reported twice"}
    assert again["notes"] == [{"at": T0 + 5, "admin": "tok-2", "text": "Flagged again: and again"}]
    assert [(e["action"], e["after"]) for e in game.audit] == [
        ("flag", {"intervention": first["id"]}),
        ("flag", {"intervention": first["id"], "existing": True}),
    ]


def test_an_assigned_case_also_takes_a_later_flag_and_a_resolved_one_does_not() -> None:
    """A flag joins the case while it is assigned; once that case is resolved a flag opens a
    new one."""
    game = long_game()
    add_player(game, "p")
    case = cmd(game, "admin_flag", player_id="p")
    cmd(game, "admin_intervention", intervention_id=case["id"], assignee="ops")
    assert cmd(game, "admin_flag", player_id="p")["id"] == case["id"]
    cmd(game, "admin_intervention", intervention_id=case["id"], resolve="warn")
    reopened = cmd(game, "admin_flag", player_id="p")
    assert reopened["id"] != case["id"] and reopened["existing"] is False
    assert [c.status for c in game.interventions.values()] == ["resolved", "open"]


def test_a_detector_opens_no_case_beside_an_open_one_and_a_flag_joins_the_detectors() -> None:
    """The detector leaves a player flagged by hand alone; a flag by hand after the detector's
    case joins it."""
    game = long_game()
    for pid in ("flagged-bot", "bot"):
        add_player(game, pid)
    cmd(game, "admin_flag", player_id="flagged-bot")
    play(game, "flagged-bot", [(T0 + i, 10) for i in range(130)])
    play(game, "bot", [(T0 + i, 10) for i in range(130)])
    kinds = {c.player_id: c.kind for c in game.interventions.values()}
    assert kinds == {"flagged-bot": "manual", "bot": "machine_rhythm"}
    joined = cmd(game, "admin_flag", T0 + 200, player_id="bot", reason="saw it too")
    assert joined["kind"] == "machine_rhythm" and joined["existing"] is True
    assert len(game.interventions) == 2


def test_a_dismissed_case_keeps_the_detectors_quiet_for_a_while() -> None:
    """After a false positive is dismissed the same rhythm opens no new case within QUIET."""
    game = long_game()
    add_player(game, "steady")
    play(game, "steady", [(T0 + i, 10) for i in range(130)])
    (case,) = game.interventions.values()
    cmd(game, "admin_intervention", T0 + 130, intervention_id=case.id, resolve="dismiss")
    for i in range(300):
        push(game, "steady", f"c{i}", [10], T0 + 131 + i)
    assert len(game.interventions) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"resolve": "shrug"},
        {"resolve": "other"},
        {"assignee": ""},
        {"note": "x" * 1001},
    ],
)
def test_a_bad_update_is_refused(fields: dict[str, Any]) -> None:
    """An update that changes nothing, an unknown template, or a bad field is refused."""
    game = long_game()
    add_player(game, "p")
    case = cmd(game, "admin_flag", player_id="p")
    with pytest.raises(InvalidRequest):
        cmd(game, "admin_intervention", intervention_id=case["id"], **fields)
    with pytest.raises(NotFound):
        cmd(game, "admin_intervention", intervention_id=99, note="n")


def test_the_queue_lists_newest_first_by_status() -> None:
    """The interventions query filters by status and player and pages."""
    game = long_game()
    for pid in ("a", "b", "c"):
        add_player(game, pid)
        cmd(game, "admin_flag", player_id=pid)
    cmd(game, "admin_intervention", intervention_id=2, resolve="warn")
    listed = run_query(game, {"op": "admin_interventions", "query": {"status": "open"}})
    assert [c["player_id"] for c in listed["interventions"]] == ["c", "a"]
    assert listed["total_count"] == 2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 40.0), st.integers(1, 300)), max_size=200))
def test_the_running_sums_match_the_pushes(moves) -> None:
    """Whatever the timing, a window's figures are those of the pushes since it began."""
    game = long_game()
    add_player(game, "p")
    now = T0
    window: list[tuple[float, int]] = []
    for i, (step, count) in enumerate(moves):
        now += step
        result = push(game, "p", f"b{i}", [min(count, game.rules.max_count)], now)
        clicks = result.accepted + result.throttled
        if window and now - window[-1][0] > interventions.IDLE:
            window = []
        window.append((now, clicks))
        stats = game.push_stats["p"]
        if stats.pushes == 1:
            window = [(now, clicks)]
        assert stats.pushes == len(window)
        assert stats.sum_count == sum(c for _, c in window)
        assert stats.started == window[0][0]
