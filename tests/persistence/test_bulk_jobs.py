"""Bulk jobs on disk: a summary once finished, a snapshot that does not grow with each job, an
interrupted job that resumes where it stopped, and the files of the format before (SPEC §7, §8).

``fixtures/format4-bulk`` was written by the code before jobs were kept as their filter and a
cursor: a format 4 snapshot whose jobs hold their target lists (job 1 running, 2 cancelled,
3 done) and a format 1 journal segment after it that steps job 1 to its end and runs job 4, a
ban over the filter ``planet: earth`` during which p6 moved to mars and "late" joined and moved
to earth; that server banned p6 (a target from creation) and not "late".
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

from actor.clock import FakeClock
from engine.admin.query import PlayerFilter
from engine.command_types import AdminBulkCreate, AdminBulkResume, AdminBulkStep, CreatePlayer
from engine.rules import Rules
from engine.state import GameState, new_state
from persistence import snapshot
from persistence.data_dir import DataDir
from persistence.recovery import recover
from tests.conftest import T0, add_player, apply_command
from tests.persistence.conftest import Game, reopen, settings_for
from tests.persistence.games import PLANETS, RULES

FIXTURE = Path(__file__).parent / "fixtures" / "format4-bulk"
SIGNED = {"admin": "tok-1", "reason": "because"}
FIXTURE_RULES = Rules(  # what the fixture's game ran under
    max_cps=5,
    burst_seconds=2.0,
    round_target=1000,
    round_seconds=400.0,
    round_break_seconds=3.0,
    batch_memory=4,
)


def job_figures(state: GameState) -> dict[int, tuple[Any, ...]]:
    return {
        i: (j.status, j.total, j.done, j.skipped, j.cursor, j.end, j.ids)
        for i, j in state.bulk_jobs.items()
    }


def test_a_format_4_snapshot_and_a_format_1_journal_load_with_the_meaning_they_were_written_with(
    tmp_path: Path,
) -> None:
    """The jobs of a format 4 snapshot come back as jobs over their ids or as summaries, the
    running one is stepped on by the journal after it, and a filter job of a format 1 segment
    bans the players it targeted at creation, as the server that wrote it did; saved again, the
    file is format 5 and holds no target list."""
    shutil.copytree(FIXTURE, tmp_path / "data")
    with DataDir.open(tmp_path / "data") as data_dir:
        result = recover(data_dir, FIXTURE_RULES, ["earth", "mars"], False)
        state = result.state
        assert result.replayed == 7 and result.refused == 0
        assert {pid: (p.planet, p.status) for pid, p in state.players.items()} == {
            "p0": ("earth", "banned"),
            "p1": ("mars", "banned"),
            "p2": ("mars", "active"),
            "p3": ("mars", "banned"),
            "p4": ("mars", "active"),
            "p5": ("mars", "banned"),
            "p6": ("mars", "banned"),
            "p7": ("mars", "banned"),
            "late": ("earth", "active"),
        }
        assert job_figures(state) == {
            1: ("done", 4, 4, 0, 4, 4, None),
            2: ("cancelled", 3, 1, 0, 1, 3, None),
            3: ("done", 2, 2, 0, 2, 2, None),
            4: ("done", 2, 2, 0, 2, 2, None),
        }
        assert state.bulk_jobs[4].selection == {"filter": {"planet": "earth"}}
        snapshot.save(data_dir, state, result.next_segment)
        again, _ = snapshot.read(data_dir, snapshot.CURRENT, FIXTURE_RULES)
    assert (tmp_path / "data" / snapshot.CURRENT).read_bytes()[8:12] == struct.pack(
        "<I", snapshot.FORMAT
    )
    assert job_figures(again) == job_figures(state)


def test_a_running_job_of_a_format_4_snapshot_resumes_over_its_targets(tmp_path: Path) -> None:
    """The job the format 4 snapshot holds mid-way loads interrupted over the ids it had left."""
    shutil.copytree(FIXTURE, tmp_path / "data")
    with DataDir.open(tmp_path / "data") as data_dir:
        loaded, _ = snapshot.read(data_dir, snapshot.CURRENT, FIXTURE_RULES)
    job = loaded.bulk_jobs[1]
    assert (job.status, job.ids, job.cursor, job.end) == (
        "interrupted",
        ["p1", "p3", "p5", "p7"],
        2,
        4,
    )
    apply_command(loaded, {"op": "admin_bulk_resume", "job_id": 1, "now": T0 + 10, **SIGNED})
    apply_command(loaded, {"op": "admin_bulk_step", "job_id": 1, "limit": 10, "now": T0 + 10})
    assert [loaded.players[p].status for p in ("p5", "p7")] == ["banned", "banned"]


def bulk_size(jobs: int, data_dir: DataDir) -> tuple[int, int]:
    """The snapshot of 5,000 players before and after ``jobs`` jobs over all of them."""
    state = new_state(RULES, PLANETS)
    apply_command(state, {"op": "tick", "now": T0})
    for i in range(5000):
        add_player(state, f"{i:08x}-0000-4000-8000-000000000000", now=T0)
    before = snapshot.save(data_dir, state, 1)
    ids = list(state.players)
    for n in range(jobs):
        over = {"filter": {}} if n % 2 else {"player_ids": ids}
        job = apply_command(
            state, {"op": "admin_bulk_create", "action": "unban", "now": T0, **over, **SIGNED}
        )
        if n < jobs // 2:  # cancelled at once
            apply_command(
                state, {"op": "admin_bulk_cancel", "job_id": job["id"], "now": T0, **SIGNED}
            )
            continue
        while state.bulk_jobs[job["id"]].status == "running":  # run to its end
            step = {"op": "admin_bulk_step", "job_id": job["id"], "limit": 5000, "now": T0}
            apply_command(state, step)
    return before, snapshot.save(data_dir, state, 2)


def test_ten_jobs_over_5000_players_grow_the_snapshot_by_less_than_10_percent(
    data_dir: DataDir,
) -> None:
    """Five jobs cancelled at once and five run to their end, over a filter and over every id:
    the snapshot grows by their summaries and audit entries only."""
    before, after = bulk_size(10, data_dir)
    assert after < before * 1.10, (before, after)


async def test_a_filter_job_interrupted_by_a_crash_resumes_exactly_where_it_stopped(
    tmp_path: Path,
) -> None:
    """A ban over a filter, stepped part way, then ``kill -9``: the restart finds it
    interrupted at the same slot with the same counts, and resumed it bans exactly the players
    the filter matches, those before the crash included once."""
    game = await Game(settings_for(tmp_path), FakeClock(T0)).start()
    for i in range(40):
        await game.actor.call(CreatePlayer(player_id=f"p{i:02d}"))
    create = AdminBulkCreate(action="ban", filter=PlayerFilter(planet="mars"), **SIGNED)
    job = await game.actor.call(create)
    await game.store.save(game.actor.between_turns)  # the job in the snapshot, then steps after
    for _ in range(3):
        await game.actor.call(AdminBulkStep(job_id=job["id"], limit=3, scan=8))
    before = game.store.state.bulk_jobs[job["id"]]
    stopped = (before.cursor, before.done, before.skipped)
    game.crash()
    again = await reopen(game)
    job_back = again.store.state.bulk_jobs[job["id"]]
    assert (job_back.status, (job_back.cursor, job_back.done, job_back.skipped)) == (
        "interrupted",
        stopped,
    )
    await again.actor.call(AdminBulkResume(job_id=job["id"], **SIGNED))
    while again.store.state.bulk_jobs[job["id"]].status == "running":
        await again.actor.call(AdminBulkStep(job_id=job["id"], limit=3, scan=8))
    players = again.store.state.players.values()
    on_mars = {p.id for p in players if p.planet == "mars"}
    assert {p.id for p in players if p.status == "banned"} == on_mars
    assert again.store.state.bulk_jobs[job["id"]].done == len(on_mars) > 9
    await again.stop()
