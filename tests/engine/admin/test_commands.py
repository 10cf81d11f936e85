"""Admin commands (SPEC §8): each audited, batches all or nothing, the emergency stop."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import Conflict, InvalidRequest, NotFound, Paused
from engine.rules import Rules
from engine.state import GameState, new_state
from engine.view import board_dict, build_board
from tests.conftest import T0, add_player, apply_command, fingerprint, push, run_query


def cmd(state: GameState, op: str, now: float = T0, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "now": now, "admin": "tok-1", **fields})


@pytest.fixture
def game(state: GameState) -> GameState:
    """Players e1 and e2 on earth, m1 on mars, with 10, 20 and 5 clicks in round 1."""
    add_player(state, "e1", "Alice")
    add_player(state, "m1", "Bob")
    add_player(state, "e2", "Carol")
    push(state, "e1", "b1", [4, 6], T0)
    push(state, "e2", "b1", [20], T0)
    push(state, "m1", "b1", [5], T0)
    return state


def test_a_ban_writes_one_audit_entry_with_before_and_after(game: GameState) -> None:
    """An admin ban records who, what, whom, why, before, after and when."""
    result = cmd(game, "admin_ban", T0 + 1, player_id="e1", reason="bot", revoke_round_clicks=True)
    assert result["revoked"] == 10
    entry = game.audit[-1]
    assert entry == {
        "id": 1,
        "at": T0 + 1,
        "admin": "tok-1",
        "action": "ban",
        "target": "e1",
        "reason": "bot",
        "before": {"status": "active", "score": 10},
        "after": {"status": "banned", "score": 0, "revoked": 10},
    }
    assert result["audit_id"] == 1


@pytest.mark.parametrize(
    ("op", "fields"),
    [
        ("admin_patch_player", {"name": "Alicia"}),
        ("admin_ban", {}),
        ("admin_unban", {}),
        ("admin_reset_score", {}),
    ],
)
def test_a_change_to_a_player_names_the_player_for_the_server(
    game: GameState, op: str, fields: dict[str, Any]
) -> None:
    """Every action that changes a player's own object names the player in ``changed``, and
    never in what admins are sent; a kick changes nothing and names no one."""
    cmd(game, op, player_id="e1", reason="r", **fields)
    event = game.outbox[-1]
    assert event["changed"] == ["e1"] and "changed" not in event["data"]
    cmd(game, "admin_kick", player_id="e1", reason="r")
    assert "changed" not in game.outbox[-1]


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 501, 5])
def test_an_admin_change_without_a_fitting_reason_is_refused(game: GameState, reason) -> None:
    """The reason is required (1-500 characters); a refusal changes nothing."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest) as refused:
        cmd(game, "admin_reset_score", player_id="e1", reason=reason)
    assert refused.value.details == {"field": "reason"}
    assert fingerprint(game) == before


def test_patch_changes_name_planet_status_and_scores_and_audits_them(game: GameState) -> None:
    """A patch applies every field given and audits exactly those fields before and after."""
    result = cmd(
        game,
        "admin_patch_player",
        player_id="e2",
        reason="support ticket 7",
        name="Caroline",
        planet="mars",
        score=100,
        round_score=3,
    )
    assert result["player"]["name"] == "Caroline"
    assert result["player"]["planet"] == "mars"
    assert (result["player"]["score"], result["player"]["round_score"]) == (100, 3)
    entry = game.audit[-1]
    assert entry["before"] == {"name": "Carol", "planet": "earth", "score": 20, "round_score": 20}
    assert entry["after"] == {"name": "Caroline", "planet": "mars", "score": 100, "round_score": 3}
    assert game.all_board.rank(game.players["e2"].slot) == 1
    assert game.current is not None and game.current.totals == {"earth": 30, "mars": 5}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "bad\nname"}, "name"),
        ({"planet": "pluto"}, "planet"),
        ({"status": "muted"}, "status"),
        ({"score": -1}, "score"),
        ({"round_score": True}, "round_score"),
        ({"colour": "red"}, None),
    ],
)
def test_a_bad_patch_is_refused_naming_the_field(game: GameState, fields, field) -> None:
    """Each refused patch field is named; nothing changes."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest) as refused:
        cmd(game, "admin_patch_player", player_id="e1", reason="r", **fields)
    details = refused.value.details
    assert details == ({"field": field} if field else {"fields": ["colour"]})
    assert fingerprint(game) == before


def test_kick_only_writes_the_audit_entry(game: GameState) -> None:
    """A kick changes no player; the entry is there for the server to act on and to read."""
    players = fingerprint(game)["players"]
    result = cmd(game, "admin_kick", player_id="m1", reason="spam")
    assert result["kicked"] is True
    assert fingerprint(game)["players"] == players
    assert game.audit[-1]["action"] == "kick"


def test_a_batch_applies_every_operation_and_reports_each(game: GameState) -> None:
    """All operations of a valid batch apply in one command, each with its result and entry."""
    result = cmd(
        game,
        "admin_batch",
        operations=[
            {"action": "ban", "player_id": "e1", "reason": "r1"},
            {"action": "reset_score", "player_id": "e2", "reason": "r2"},
            {"action": "patch", "player_id": "m1", "reason": "r3", "planet": "earth"},
        ],
    )
    assert [r["action"] for r in result["results"]] == ["ban", "reset_score", "patch"]
    assert game.players["e1"].status == "banned"
    assert game.players["e2"].score == 0
    assert game.players["m1"].planet == "earth"
    assert [e["reason"] for e in game.audit] == ["r1", "r2", "r3"]


def test_a_batch_with_one_bad_operation_applies_nothing(game: GameState) -> None:
    """One refused operation refuses the whole batch, with a result naming each operation."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest) as refused:
        cmd(
            game,
            "admin_batch",
            operations=[
                {"action": "ban", "player_id": "e1", "reason": "r1"},
                {"action": "ban", "player_id": "ghost", "reason": "r2"},
                {"action": "fly", "player_id": "e2", "reason": "r3"},
            ],
        )
    results = refused.value.details["results"]
    assert [r["ok"] for r in results] == [True, False, False]
    assert results[1]["error"]["code"] == NotFound.code
    assert fingerprint(game) == before


def test_pause_refuses_pushes_freezes_the_clock_and_shows_on_the_board(game: GameState) -> None:
    """While paused a push gets ``paused``, ticks do nothing, and the round ends later by the
    length of the pause once resumed."""
    assert game.current is not None
    ends_at = game.current.ends_at
    assert ends_at is not None
    cmd(game, "admin_pause", T0 + 10, reason="incident")
    board = build_board(game, 1, 0)
    assert board.paused and board_dict(board)["pause_reason"] == "incident"
    with pytest.raises(Paused):
        push(game, "e1", "b2", [1], T0 + 11)
    assert push(game, "e1", "b1", [4, 6], T0 + 11).duplicate  # a retry still gets its answer
    apply_command(game, {"op": "tick", "now": ends_at + 5})
    assert game.current.status == "active"
    with pytest.raises(Conflict):
        cmd(game, "admin_pause", T0 + 12, reason="again")
    cmd(game, "admin_resume", T0 + 70, reason="fixed")
    assert game.current.ends_at == ends_at + 60
    assert push(game, "e1", "b2", [1], T0 + 71).accepted == 1
    assert [e["action"] for e in game.audit] == ["pause", "resume"]
    with pytest.raises(Conflict):
        cmd(game, "admin_resume", T0 + 72, reason="again")


def test_queue_and_end_round_are_audited(game: GameState) -> None:
    """Round control through the admin commands leaves an entry for each."""
    queued = cmd(game, "admin_queue_round", reason="event", target=50, seconds=30)
    cmd(game, "admin_end_round", T0 + 5, reason="event starts")
    assert [e["action"] for e in game.audit] == ["queue_round", "end_round"]
    assert game.audit[0]["target"] == f"round:{queued['id']}"


def test_the_audit_log_filters_and_pages_newest_first(game: GameState) -> None:
    """Entries filter by action, target, admin and time, newest first, in pages."""
    for i in range(5):
        cmd(game, "admin_kick", T0 + i, player_id="e1" if i % 2 else "m1", reason=f"r{i}")
    cmd(game, "admin_ban", T0 + 9, player_id="m1", reason="last", admin="tok-2")
    page = run_query(game, {"op": "admin_audit", "query": {"action": "kick", "limit": "2"}})
    assert page["total_count"] == 5
    assert [e["reason"] for e in page["entries"]] == ["r4", "r3"]
    by_target = run_query(game, {"op": "admin_audit", "query": {"target": "e1"}})
    assert [e["reason"] for e in by_target["entries"]] == ["r3", "r1"]
    window = {"since": str(T0 + 1), "until": T0 + 3, "admin": "tok-1"}
    timed = run_query(game, {"op": "admin_audit", "query": window})
    assert [e["reason"] for e in timed["entries"]] == ["r2", "r1"]
    with pytest.raises(InvalidRequest):
        run_query(game, {"op": "admin_audit", "query": {"limit": 501}})


def test_player_detail_gathers_standing_batches_history_and_audit(game: GameState) -> None:
    """The detail shows the round's batches, past rounds' totals, cases and audit entries."""
    apply_command(game, {"op": "end_round", "now": T0 + 1})
    apply_command(game, {"op": "tick", "now": T0 + 11})
    push(game, "e1", "b2", [3], T0 + 12)
    cmd(game, "admin_flag", T0 + 13, player_id="e1", reason="odd")
    cmd(game, "admin_kick", T0 + 14, player_id="e1", reason="odd again")
    detail = run_query(game, {"op": "admin_player", "player_id": "e1", "now": T0 + 15})
    assert detail["player"]["score"] == 13
    assert detail["round_batches"] == {"earth": [3]}
    assert detail["rounds"] == [{"round": 1, "total": 10, "winner": "earth", "at": T0 + 1}]
    assert detail["flagged"] is True
    assert [c["kind"] for c in detail["interventions"]] == ["manual"]
    assert [e["action"] for e in detail["actions"]] == ["flag", "kick"]
    assert detail["push_stats"]["pushes"] == 2  # T0 and T0 + 12: one window
    with pytest.raises(NotFound):
        run_query(game, {"op": "admin_player", "player_id": "ghost"})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 60), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["a", "b", "c"]),
)
def test_a_revoking_ban_restores_planet_totals_exactly(moves, victim) -> None:
    """After a revoking ban each planet's total equals a brute-force sum over the contributions
    that remain, and is the total before minus exactly the victim's batches."""
    game = new_state(Rules(round_target=10**9), ["earth", "mars"])
    apply_command(game, {"op": "tick", "now": T0})
    for pid in ("a", "b", "c"):
        add_player(game, pid)
    now = T0
    for i, (pid, count, move) in enumerate(moves):
        now += 1.0
        if move:  # moved mid-round: the victim's batches may sit on both planets
            planet = "mars" if game.players[pid].planet == "earth" else "earth"
            cmd(game, "admin_patch_player", now, player_id=pid, reason="r", planet=planet)
        push(game, pid, f"b{i}", [count], now)
    assert game.current is not None
    before = dict(game.current.totals)
    theirs = {
        planet: sum(by_player.get(victim, []))
        for planet, by_player in game.current.contributions.items()
    }
    result = cmd(game, "admin_ban", now, player_id=victim, reason="r", revoke_round_clicks=True)
    assert result["revoked"] == sum(theirs.values())
    for planet, by_player in game.current.contributions.items():
        brute = sum(sum(batches) for batches in by_player.values())
        assert game.current.totals[planet] == brute == before[planet] - theirs[planet]
    assert game.players[victim].score == 0
