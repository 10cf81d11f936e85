"""Names in the admin's data (SPEC §8): audit targets, cases and events by name, and each
player's name history."""

from __future__ import annotations

from typing import Any

import pytest

from engine import roster
from engine.state import GameState
from tests.conftest import T0, add_player, apply_command, run_query


def cmd(state: GameState, op: str, now: float = T0, **fields: Any) -> Any:
    return apply_command(state, {"op": op, "now": now, "admin": "alice", "reason": "r", **fields})


def rename(state: GameState, player_id: str, name: str, now: float) -> None:
    apply_command(state, {"op": "rename", "player_id": player_id, "name": name, "now": now})


def detail(state: GameState, player_id: str) -> dict[str, Any]:
    return run_query(state, {"op": "admin_player", "player_id": player_id, "now": T0})


@pytest.fixture
def game(state: GameState) -> GameState:
    add_player(state, "p1", "Alice", T0 - 100)
    add_player(state, "p2", "Alice")  # the same name: the id tells them apart
    return state


def test_audit_entries_name_their_target_as_it_is_called_now(game: GameState) -> None:
    """Each entry read back names its target player by the name they have now, and has a
    null name for a target that is not a player; the stored entries are left as written."""
    cmd(game, "admin_reset_score", player_id="p1")
    cmd(game, "admin_pause")
    rename(game, "p1", "Alicia", T0 + 1)
    entries = run_query(game, {"op": "admin_audit", "query": {}})["entries"]
    assert [(e["target"], e["target_name"]) for e in entries] == [("game", None), ("p1", "Alicia")]
    assert all("target_name" not in e for e in game.audit)
    assert [e["target_name"] for e in detail(game, "p1")["audit"]] == ["Alicia"]


def test_cases_and_admin_events_carry_the_players_name(game: GameState) -> None:
    """A case (its reply, the listing, the flag event) and a ban event name the player."""
    case = cmd(game, "admin_flag", player_id="p2")
    assert (case["player_id"], case["player_name"]) == ("p2", "Alice")
    assert game.outbox[-1]["data"]["intervention"]["player_name"] == "Alice"
    listed = run_query(game, {"op": "admin_interventions", "query": {}})["interventions"]
    assert [c["player_name"] for c in listed] == ["Alice"]
    cmd(game, "admin_ban", player_id="p1")
    event = game.outbox[-1]["data"]
    assert (event["kind"], event["player_id"], event["player_name"], event["admin"]) == (
        "ban",
        "p1",
        "Alice",
        "alice",
    )


def test_the_detail_shows_the_name_history_by_player_and_by_admin(game: GameState) -> None:
    """The first name (at creation), a rename by the player and one by an admin, oldest first,
    each with who gave it; a player never renamed has their one name."""
    rename(game, "p1", "Ally", T0 + 1)
    cmd(game, "admin_patch_player", T0 + 2, player_id="p1", name="Player One")
    assert detail(game, "p1")["names"] == [
        {"at": T0 - 100, "name": "Alice", "by": "player"},
        {"at": T0 + 1, "name": "Ally", "by": "player"},
        {"at": T0 + 2, "name": "Player One", "by": "alice"},
    ]
    assert detail(game, "p2")["names"] == [{"at": T0, "name": "Alice", "by": "player"}]


def test_the_name_history_keeps_the_last_20(game: GameState) -> None:
    """25 renames keep the 20 latest names; a rename to the name the player has adds none."""
    for i in range(25):
        rename(game, "p1", f"Name {i}", T0 + i)
    rename(game, "p1", "Name 24", T0 + 30)
    names = detail(game, "p1")["names"]
    assert len(names) == roster.MAX_NAMES == 20
    assert [n["name"] for n in names] == [f"Name {i}" for i in range(5, 25)]


def test_the_detail_says_until_when_and_why_a_player_is_banned(game: GameState) -> None:
    """A timed ban's end and reason are in the detail; an unbanned player's are null."""
    cmd(game, "admin_ban", player_id="p1", reason="spam", duration_seconds=600)
    shown = detail(game, "p1")
    assert (shown["banned_until"], shown["ban_reason"]) == (T0 + 600, "spam")
    assert (detail(game, "p2")["banned_until"], detail(game, "p2")["ban_reason"]) == (None, None)
