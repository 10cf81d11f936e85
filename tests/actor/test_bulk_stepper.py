"""The actor steps its own bulk jobs (actor/bulk_stepper.py): no server task, no table of jobs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actor import bulk_stepper
from actor.actor import Actor
from actor.clock import FakeClock
from engine.command_types import (
    AdminBulkCancel,
    AdminBulkCreate,
    AdminBulkStep,
    Command,
    GetMe,
)
from tests.actor.conftest import Running, create_players, push_cmd, started_game

ADMIN: dict[str, Any] = {"admin": "alice", "reason": "spam wave"}


async def finished(running: Running, job_id: int) -> dict[str, Any]:
    """The job once the actor has stepped it to its end (each await lets a turn run)."""
    for _ in range(10_000):
        job = running.state.bulk_jobs[job_id]
        if job.status != "running":
            return {"status": job.status, "done": job.done, "skipped": job.skipped}
        await asyncio.sleep(0)
    raise AssertionError("the job never finished")


def steps(records: list[Command]) -> list[tuple[int, int]]:
    return [(r.job_id, r.limit) for r in records if type(r) is AdminBulkStep]


async def test_a_created_job_is_stepped_to_its_end_in_journaled_steps(running: Running) -> None:
    """Creating a job is all it takes: the actor sends itself 100-player ban steps, journals
    each, and the job ends done with every target banned."""
    ids = [f"p{i}" for i in range(250)]
    await create_players(running.actor, ids)
    job = await running.actor.call(AdminBulkCreate(action="ban", player_ids=ids, **ADMIN))
    assert await finished(running, job["id"]) == {"status": "done", "done": 250, "skipped": 0}
    assert steps(running.records()) == [(job["id"], 100)] * 3
    assert all(running.state.players[p].status == "banned" for p in ids)


async def test_players_are_answered_between_two_steps(running: Running) -> None:
    """A step is one turn, and the next is sent from the next pass of the event loop: a push
    sent while a job runs is applied before the job ends."""
    ids = [f"p{i}" for i in range(2500)]
    await create_players(running.actor, [*ids, "player"])
    job = await running.actor.call(AdminBulkCreate(action="unban", player_ids=ids, **ADMIN))
    await running.actor.call(push_cmd("player", "b1", [3]))
    assert running.state.bulk_jobs[job["id"]].status == "running"  # 2,500 unbans: ten steps
    assert (await finished(running, job["id"]))["skipped"] == 2500  # none was banned
    kinds = [type(r).__name__ for r in running.records()]
    assert kinds.index("Push") < len(kinds) - 1 - kinds[::-1].index("AdminBulkStep")


async def test_two_running_jobs_take_one_step_each_in_turn(running: Running) -> None:
    """Two jobs alternate step by step rather than one running to its end first."""
    ids = [f"p{i}" for i in range(300)]
    await create_players(running.actor, ids)
    first, second = await asyncio.gather(
        running.actor.call(AdminBulkCreate(action="ban", player_ids=ids, **ADMIN)),
        running.actor.call(
            AdminBulkCreate(action="move_planet", player_ids=ids, planet="mars", **ADMIN)
        ),
    )
    await finished(running, first["id"])
    await finished(running, second["id"])
    order = [job_id for job_id, _ in steps(running.records())]
    assert order == [first["id"], second["id"]] * 3


async def test_a_cancelled_job_is_not_stepped_again(running: Running) -> None:
    """After a cancel, a step already sent is refused by the engine and no other follows it."""
    ids = [f"p{i}" for i in range(1000)]
    await create_players(running.actor, ids)
    job = await running.actor.call(AdminBulkCreate(action="ban", player_ids=ids, **ADMIN))
    cancelled = await running.actor.call(AdminBulkCancel(job_id=job["id"], **ADMIN))
    for _ in range(20):  # let any step already sent be refused
        await running.actor.call(GetMe(player_id="p0"))
    job_after = running.state.bulk_jobs[job["id"]]
    assert job_after.status == "cancelled" and job_after.done == cancelled["done"] < 1000
    kinds = [type(r) for r in running.records()]
    assert kinds[kinds.index(AdminBulkCancel) :].count(AdminBulkStep) <= 1


async def test_a_refused_write_is_stepped_again_later(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step the journal could not write is sent again after a while, and the job still ends."""
    monkeypatch.setattr(bulk_stepper, "RETRY_AFTER", 0.01)
    refused: list[int] = []

    def on_commit(records: list[Command]) -> None:
        if any(type(r) is AdminBulkStep for r in records) and len(refused) < 2:
            refused.append(len(records))
            raise OSError("disk full")

    game = started_game()
    actor = Actor(game, clock, on_commit=on_commit, tick_interval=None)
    actor.start()
    try:
        await create_players(actor, ["a", "b"])
        job = await actor.call(AdminBulkCreate(action="ban", player_ids=["a", "b"], **ADMIN))
        for _ in range(500):
            if game.bulk_jobs[job["id"]].status == "done":
                break
            await asyncio.sleep(0.005)
        assert len(refused) == 2 and game.bulk_jobs[job["id"]].done == 2
    finally:
        await actor.stop()
