"""Timed bans (SPEC §8): the reason and the end on the player, the tick lifting them, audited."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine import commands
from engine.admin import bans
from engine.command_types import Tick
from engine.errors import Banned, InvalidRequest
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, fingerprint, push, run_query


def cmd(state: GameState, op: str, now: float = T0, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "now": now, "admin": "alice", **fields})


def tick(state: GameState, now: float) -> None:
    """What the actor does at the start of a turn: a tick record when one is due."""
    if commands.is_due(state, now):
        commands.apply(state, Tick(now=now))


def me(state: GameState, player_id: str) -> dict[str, Any]:
    return run_query(state, {"op": "me", "player_id": player_id})


@pytest.fixture
def game(state: GameState) -> GameState:
    add_player(state, "p1", "Alice")
    add_player(state, "p2", "Bob")
    return state


def test_a_timed_ban_shows_its_reason_and_end_on_the_player(game: GameState) -> None:
    """The player object of a player banned for 60 s says why and the Unix time it ends."""
    result = cmd(game, "admin_ban", T0 + 1, player_id="p1", reason="spam", duration_seconds=60)
    assert result["player"]["banned_until"] == T0 + 61
    assert (me(game, "p1")["ban_reason"], me(game, "p1")["banned_until"]) == ("spam", T0 + 61)
    assert game.audit[-1]["after"]["banned_until"] == T0 + 61


def test_a_ban_without_duration_has_a_reason_and_no_end(game: GameState) -> None:
    """A ban for good keeps its reason and no end, and no tick ever lifts it."""
    cmd(game, "admin_ban", player_id="p1", reason="cheat")
    assert (me(game, "p1")["ban_reason"], me(game, "p1")["banned_until"]) == ("cheat", None)
    assert not bans.is_due(game, T0 + 10**9)


def test_the_tick_lifts_a_timed_ban_when_it_ends_and_audits_it(game: GameState) -> None:
    """Pushes are refused until the end; the tick at the end unbans, writes an ``unban`` by
    ``system`` with the reason ``ban expired``, names the player for their page, and pushes
    count again."""
    cmd(game, "admin_ban", player_id="p1", reason="spam", duration_seconds=3)
    with pytest.raises(Banned):
        push(game, "p1", "b1", [1], T0 + 1)
    tick(game, T0 + 2.999)
    assert me(game, "p1")["status"] == "banned"
    assert not commands.is_due(game, T0 + 2.999) and commands.is_due(game, T0 + 3)
    game.outbox.clear()
    tick(game, T0 + 3)
    lifted = me(game, "p1")
    assert (lifted["status"], lifted["banned_until"], lifted["ban_reason"]) == (
        "active",
        None,
        None,
    )
    entry = game.audit[-1]
    assert (entry["admin"], entry["action"], entry["target"], entry["reason"]) == (
        "system",
        "unban",
        "p1",
        "ban expired",
    )
    assert entry["at"] == T0 + 3 and entry["before"]["banned_until"] == T0 + 3
    [event] = game.outbox
    assert event["changed"] == ["p1"]
    data = event["data"]
    assert (data["kind"], data["admin"], data["player_id"], data["player_name"]) == (
        "unban",
        "system",
        "p1",
        "Alice",
    )
    assert push(game, "p1", "b2", [1], T0 + 4).accepted == 1
    assert not bans.is_due(game, T0 + 10**6)


def test_a_ban_lifted_by_hand_before_its_end_is_not_lifted_again(game: GameState) -> None:
    """An unban before the end leaves nothing for the tick: no second ``unban`` entry."""
    cmd(game, "admin_ban", player_id="p1", reason="spam", duration_seconds=10)
    cmd(game, "admin_unban", T0 + 1, player_id="p1", reason="sorry")
    entries = len(game.audit)
    tick(game, T0 + 11)
    assert len(game.audit) == entries and me(game, "p1")["status"] == "active"
    assert game.bans == {}


def test_a_ban_made_longer_ends_at_its_new_end(game: GameState) -> None:
    """Banning a banned player again replaces the end: the old end lifts nothing."""
    cmd(game, "admin_ban", player_id="p1", reason="spam", duration_seconds=5)
    cmd(game, "admin_ban", T0 + 1, player_id="p1", reason="again", duration_seconds=100)
    tick(game, T0 + 50)
    assert (me(game, "p1")["status"], me(game, "p1")["ban_reason"]) == ("banned", "again")
    tick(game, T0 + 101)
    assert me(game, "p1")["status"] == "active"


def test_bans_ending_at_once_lift_in_one_tick(game: GameState) -> None:
    """Two bans that ran out by the same tick are both lifted by it, each audited."""
    cmd(game, "admin_ban", player_id="p1", reason="a", duration_seconds=5)
    cmd(game, "admin_ban", player_id="p2", reason="b", duration_seconds=3)
    tick(game, T0 + 9)
    assert [e["target"] for e in game.audit[-2:]] == ["p2", "p1"]
    assert {me(game, p)["status"] for p in ("p1", "p2")} == {"active"}


@pytest.mark.parametrize("seconds", [0, 0.5, -5, 31_536_001, math.inf, math.nan, True, "60"])
def test_a_ban_with_a_wrong_duration_is_refused(game: GameState, seconds: object) -> None:
    """A duration outside 1 s to a year, or not a finite number, is refused; nothing changes."""
    before = fingerprint(game)
    with pytest.raises(InvalidRequest) as refused:
        bans.check_duration(seconds)
    assert refused.value.details == {"field": "duration_seconds"}
    with pytest.raises(InvalidRequest):
        cmd(game, "admin_batch", operations=[ban_op("p1", seconds)])
    assert fingerprint(game) == before


def ban_op(player_id: str, seconds: object) -> dict[str, Any]:
    return {"action": "ban", "player_id": player_id, "reason": "r", "duration_seconds": seconds}


def test_a_batch_ban_may_be_timed(game: GameState) -> None:
    """A ban in a batch carries its duration like a single one."""
    cmd(game, "admin_batch", operations=[ban_op("p1", 30), ban_op("p2", 60)])
    assert [me(game, p)["banned_until"] for p in ("p1", "p2")] == [T0 + 30, T0 + 60]


def test_an_intervention_resolved_with_a_timed_ban_lifts_itself(game: GameState) -> None:
    """``resolve: ban`` with a duration bans until then; a duration on another template is
    refused."""
    case = cmd(game, "admin_flag", player_id="p1", reason="fast")["id"]
    with pytest.raises(InvalidRequest) as refused:
        cmd(game, "admin_intervention", intervention_id=case, reason="r", resolve="warn",
            duration_seconds=10)  # fmt: skip
    assert refused.value.details == {"field": "duration_seconds"}
    cmd(game, "admin_intervention", intervention_id=case, reason="bot", resolve="ban",
        duration_seconds=10)  # fmt: skip
    assert (me(game, "p1")["banned_until"], me(game, "p1")["ban_reason"]) == (T0 + 10, "bot")
    tick(game, T0 + 10)
    assert me(game, "p1")["status"] == "active"


def test_a_ban_by_status_patch_keeps_its_reason_and_an_unban_forgets_it(game: GameState) -> None:
    """Setting the status to banned keeps the patch's reason; setting it back drops the record."""
    cmd(game, "admin_patch_player", player_id="p1", reason="rude", status="banned")
    assert me(game, "p1")["ban_reason"] == "rude"
    cmd(game, "admin_patch_player", player_id="p1", reason="ok", status="active")
    assert me(game, "p1")["ban_reason"] is None and game.bans == {}


def test_a_bulk_ban_tells_each_player_the_jobs_reason(game: GameState) -> None:
    """Each player a bulk ban reaches is banned for good with the job's reason."""
    job = cmd(game, "admin_bulk_create", action="ban", player_ids=["p1", "p2"], reason="raid")
    apply_command(game, {"op": "admin_bulk_step", "job_id": job["id"], "limit": 10, "now": T0})
    shown = [(me(game, p)["ban_reason"], me(game, p)["banned_until"]) for p in ("p1", "p2")]
    assert shown == [("raid", None), ("raid", None)]
