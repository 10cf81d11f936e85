"""The admin's state survives a save and a load, and a journal replay rebuilds it (SPEC §7, §8)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.admin import bans
from engine.state import GameState, new_state
from persistence import snapshot
from persistence.data_dir import DataDir
from tests.conftest import apply_command, push
from tests.persistence.games import PLANETS, RULES, full_print, games, play, player_ids

ADMIN = {"admin": "tok-1", "reason": "because"}

admin_moves = st.one_of(
    st.builds(
        lambda pid, revoke: {"op": "admin_ban", "player_id": pid, "revoke_round_clicks": revoke},
        player_ids,
        st.booleans(),
    ),
    st.builds(
        lambda pid, seconds: {"op": "admin_ban", "player_id": pid, "duration_seconds": seconds},
        player_ids,
        st.floats(1.0, 20.0),
    ),
    st.builds(lambda pid: {"op": "admin_unban", "player_id": pid}, player_ids),
    st.builds(lambda pid: {"op": "admin_reset_score", "player_id": pid}, player_ids),
    st.builds(lambda pid: {"op": "admin_kick", "player_id": pid}, player_ids),
    st.builds(
        lambda pid, name, score: {
            "op": "admin_patch_player",
            "player_id": pid,
            "name": name,
            "score": score,
        },
        player_ids,
        st.sampled_from(["Zed", "Ann"]),
        st.integers(0, 50),
    ),
    st.builds(lambda pid: {"op": "admin_flag", "player_id": pid}, player_ids),
    st.builds(
        lambda case, how: {"op": "admin_intervention", "intervention_id": case, "resolve": how},
        st.integers(1, 3),
        st.sampled_from(["warn", "ban", "dismiss"]),
    ),
    st.just({"op": "admin_pause"}),
    st.just({"op": "admin_resume"}),
    st.builds(
        lambda planet: {
            "op": "admin_bulk_create",
            "action": "move_planet",
            "planet": planet,
            "filter": {"score_min": 1},
        },
        st.sampled_from(PLANETS),
    ),
    st.builds(
        lambda job, n: {"op": "admin_bulk_step", "job_id": job, "limit": n},
        st.integers(1, 2),
        st.integers(1, 3),
    ),
    st.builds(lambda job: {"op": "admin_bulk_cancel", "job_id": job}, st.integers(1, 2)),
    st.builds(
        lambda pids: {
            "op": "admin_batch",
            "operations": [{"action": "reset_score", "player_id": p, "reason": "r"} for p in pids],
        },
        st.lists(player_ids, min_size=1, max_size=3),
    ),
)
mixed = st.lists(
    st.tuples(st.floats(0.0, 5.0), admin_moves.map(lambda c: {**c, **ADMIN})), max_size=25
)


def admin_print(state: GameState) -> dict[str, Any]:
    """``full_print`` plus everything the admin keeps."""
    printed = full_print(state)
    printed["paused"] = (state.paused, state.pause_reason, state.paused_at)
    printed["interventions"] = {i: dataclasses.asdict(c) for i, c in state.interventions.items()}
    printed["bulk_jobs"] = {i: dataclasses.asdict(j) for i, j in state.bulk_jobs.items()}
    printed["push_stats"] = [(pid, dataclasses.asdict(s)) for pid, s in state.push_stats.items()]
    printed["next_ids"] = (state.next_intervention_id, state.next_job_id)
    printed["ban_ends"] = sorted(  # the heap's live entries: stale ones are skipped anyway
        (until, pid) for until, pid in state.ban_expiries if until == bans.until(state, pid)
    )
    printed["index"] = {
        name: state.index.column(name).tolist()
        for name in ("score", "round_score", "round_id", "planet", "status", "flagged")
    }
    return printed


def save_and_load(state: GameState) -> GameState:
    with tempfile.TemporaryDirectory() as tmp, DataDir.open(Path(tmp)) as data_dir:
        snapshot.save(data_dir, state, journal_next=1)
        loaded, _ = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    return loaded


def interrupted(printed: dict[str, Any]) -> dict[str, Any]:
    """What a load shows: a running job comes back interrupted."""
    for job in printed["bulk_jobs"].values():
        if job["status"] == "running":
            job["status"] = "interrupted"
    return printed


@settings(max_examples=60, deadline=None)
@given(games, mixed)
def test_admin_state_survives_a_save_and_a_load(moves, admin) -> None:
    """Audit, interventions, detector sums, bulk jobs, bans and their ends, name histories and
    the pause come back equal; a running
    job comes back interrupted; the listing index is rebuilt to the same columns."""
    state, _, _ = play(moves + admin)
    expected = interrupted(admin_print(state))
    assert admin_print(save_and_load(state)) == expected


@settings(max_examples=60, deadline=None)
@given(games, mixed)
def test_replaying_the_journal_of_admin_commands_rebuilds_the_same_state(moves, admin) -> None:
    """The recorded command dicts, applied to a new game, give the same state and audit log."""
    state, records, _ = play(moves + admin)
    replayed = new_state(RULES, PLANETS)
    for record in records:
        apply_command(replayed, record)
    assert admin_print(replayed) == admin_print(state)


def test_a_job_stepped_after_the_snapshot_replays_and_ends_interrupted() -> None:
    """A snapshot taken mid-job, then steps in the journal: the steps replay onto the loaded
    (interrupted) job, and start-up marks it interrupted again with the replayed progress."""
    from engine.admin import bulk

    joins = [(0.0, {"op": "create_player", "player_id": f"p{i}", "name": None}) for i in range(6)]
    create = {"op": "admin_bulk_create", "action": "ban", "filter": {}, **ADMIN}
    state, _, now = play([*joins, (1.0, create)])
    loaded = save_and_load(state)
    step = {"op": "admin_bulk_step", "job_id": 1, "limit": 4, "now": now + 1}
    apply_command(state, step)
    apply_command(loaded, step)
    assert loaded.bulk_jobs[1].status == state.bulk_jobs[1].status == "running"
    assert bulk.interrupt_running(loaded) == [1]
    assert loaded.bulk_jobs[1].done == 4


def test_the_fast_paths_sums_survive_a_save_and_a_load() -> None:
    """A bot half-way to its fast judgement is saved and loaded: the loaded game flags it at
    the same push as the live one."""
    joins = [(0.0, {"op": "create_player", "player_id": "bot", "name": None})]
    state, _, now = play(joins)
    for i in range(8):
        push(state, "bot", f"b{i}", [50], now + i)
    loaded = save_and_load(state)
    assert admin_print(loaded) == admin_print(state)
    for game in (state, loaded):
        for i in range(8, 11):
            push(game, "bot", f"b{i}", [50], now + i)
        assert [c.kind for c in game.interventions.values()] == ["machine_rhythm"]
    assert admin_print(loaded) == admin_print(state)
