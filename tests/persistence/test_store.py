"""The store with a running actor: journal before acknowledgement, dirty-only background
snapshots, the final snapshot at shutdown, and the saver's child (SPEC §7)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actor.clock import FakeClock
from engine.command_types import CheckedPush, Push, QueueRound, Tick, op
from engine.errors import Unavailable
from persistence import journal as journal_mod
from persistence import saver as saver_mod
from persistence import snapshot
from persistence.data_dir import DataDir
from persistence.store import open_store, release_lock
from tests.conftest import T0
from tests.persistence.conftest import Game, reopen, segment_path, settings_for
from tests.persistence.games import PLANETS, full_print


async def test_a_push_is_in_the_journal_when_its_reply_arrives(game: Game) -> None:
    """The actor's reply comes after the turn's records reached the journal file."""
    await game.join("a")
    await game.push("a", "b1", [5])
    reader = journal_mod.SegmentReader(game.store.data_dir, journal_mod.segment_name(1))
    records = list(reader.frames())[1:]
    assert [op(r) for r in records] == ["tick", "create_player", "push"]
    assert records[-1] == Push(player_id="a", batch_id="b1", clicks=[5], now=T0 + 0.6)


async def test_a_turn_of_200_pushes_is_one_journal_frame_written_before_any_reply(
    game: Game,
) -> None:
    """200 pushes arriving in one pass of the loop reach the journal file as one frame, one
    write, and each reply finds that write done."""
    players = [f"p{i}" for i in range(200)]
    await asyncio.gather(*(game.join(p) for p in players))
    game.clock.jump(0.6)
    journal = game.store.journal
    appends = journal.appends
    writes_seen: list[int] = []
    done = asyncio.get_running_loop().create_future()

    def reply(value: Any, error: BaseException | None) -> None:
        writes_seen.append(journal.appends - appends if error is None else -1)
        if len(writes_seen) == len(players):
            done.set_result(None)

    for player_id in players:
        game.actor.send(CheckedPush(player_id=player_id, batch_id="b1", clicks=[3]), reply)
    await asyncio.wait_for(done, 10)
    assert writes_seen == [1] * 200 and journal.appends == appends + 1
    path = segment_path(game.settings.data_dir, 1)
    with DataDir.open(path.parent) as data_dir:
        records = list(journal_mod.SegmentReader(data_dir, path.name).frames())[-200:]
    assert [(type(r), r.player_id) for r in records] == [(Push, p) for p in players]
    size = path.stat().st_size
    last_turn = journal_mod.frame(msgspec.msgpack.encode(records))
    assert path.read_bytes()[size - len(last_turn) :] == last_turn


async def test_a_snapshot_is_written_only_when_the_state_changed(game: Game) -> None:
    """Saving twice without a change writes once; a change makes the next save write again."""
    status = game.store.saver.status
    assert game.store.dirty
    assert await game.store.save(game.actor.between_turns)  # the first round started: a change
    assert not game.store.dirty
    assert not await game.store.save(game.actor.between_turns)
    assert not await game.store.save(game.actor.between_turns)
    assert status.writes == 1
    await game.join("a")
    assert await game.store.save(game.actor.between_turns)
    assert status.writes == 2 and status.last_status == "ok"


async def test_the_background_saver_writes_once_per_change(tmp_path: Path) -> None:
    """With a short interval the saver writes after a change and then stays quiet."""
    game = await Game(settings_for(tmp_path, snapshot_interval=0.05), FakeClock(T0)).start()
    await game.actor.call(Tick())
    status = game.store.saver.status
    for _ in range(100):
        if status.writes:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # six more intervals with nothing new
    assert status.writes == 1
    await game.join("a")
    for _ in range(100):
        if status.writes == 2:
            break
        await asyncio.sleep(0.02)
    assert status.writes == 2
    await game.stop()
    assert status.writes == 2  # nothing changed since: no final write either


async def test_a_snapshot_write_logs_bytes_and_ms_and_feeds_observers(
    game: Game, caplog: pytest.LogCaptureFixture
) -> None:
    """Each write logs one "snapshot" line with its size and duration, and tells the metrics."""
    seen: list[tuple[float, int]] = []
    game.store.saver.observers.append(lambda seconds, size: seen.append((seconds, size)))
    with caplog.at_level(logging.INFO, "ctb.persistence"):
        await game.store.save(game.actor.between_turns)
    [line] = [r for r in caplog.records if getattr(r, "event", None) == "snapshot"]
    size = (game.settings.data_dir / snapshot.CURRENT).stat().st_size
    assert line.bytes == size and line.ms > 0
    assert seen == [(pytest.approx(line.ms / 1000, abs=0.001), size)]


async def test_shutdown_writes_a_final_snapshot_and_a_restart_needs_no_replay(
    game: Game,
) -> None:
    """Stopping the actor then closing the store saves the last state; it loads as it was."""
    await game.join("a")
    await game.push("a", "b1", [5, 3])
    before = full_print(game.store.state)
    await game.stop()
    again = await reopen(game)
    assert full_print(again.store.state) == before
    assert again.store.saver.status.saved_version == before["version"]
    await again.stop()


async def test_after_a_crash_the_journal_brings_back_every_acknowledged_push(game: Game) -> None:
    """Acknowledged pushes after the last snapshot survive a crash, and a retry is a duplicate."""
    await game.join("a")
    await game.push("a", "b1", [4])
    await game.store.save(game.actor.between_turns)
    first = await game.push("a", "b2", [6])
    before = full_print(game.store.state)
    game.crash()
    again = await reopen(game)
    assert full_print(again.store.state) == before
    retry = await again.push("a", "b2", [6])
    assert retry.duplicate and retry.score == first.score == 10
    await again.stop()


async def test_segments_are_deleted_once_both_snapshots_hold_them(game: Game) -> None:
    """A segment goes only when the previous snapshot contains it too, so a fallback to the
    previous snapshot still finds every later change in the journal."""

    def segments() -> list[int]:
        return [n for n, _ in journal_mod.list_segments(game.store.data_dir)]

    await game.store.save(game.actor.between_turns)  # covers 1; only one snapshot: nothing deleted
    assert segments() == [1, 2]
    await game.join("a")
    await game.store.save(
        game.actor.between_turns
    )  # covers 1-2, the previous covers 1: segment 1 goes
    assert segments() == [2, 3]
    await game.join("b")
    await game.store.save(game.actor.between_turns)
    assert segments() == [3, 4]


async def test_a_failed_snapshot_keeps_the_old_files_and_the_journal(
    game: Game, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the child fails, the status says so, nothing on disk is lost, and the next save
    writes again."""
    data_dir = game.settings.data_dir
    await game.store.save(game.actor.between_turns)
    await game.join("a")
    before = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name != "ctb.lock"}

    def broken(*args: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot, "save", broken)  # the forked child inherits the patch
    with caplog.at_level(logging.ERROR, "ctb.persistence"):
        assert not await game.store.save(game.actor.between_turns)
    status = game.store.saver.status
    assert status.failures == 1 and "No space" in (status.last_status or "")
    after = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.name != "ctb.lock"}
    assert {k: v for k, v in after.items() if k in before} == before
    assert any(getattr(r, "event", None) == "snapshot_failed" for r in caplog.records)
    monkeypatch.undo()
    assert await game.store.save(game.actor.between_turns)


async def test_a_save_racing_with_the_actor_stopping_does_not_hang(game: Game) -> None:
    """A save asked for while the actor stops runs in its last turn or is refused at once."""
    await game.join("a")
    save = asyncio.create_task(game.store.save(game.actor.between_turns))
    await game.actor.stop()
    with contextlib.suppress(Unavailable):  # asked after the stop: refused, not left waiting
        await asyncio.wait_for(save, 5)
    await asyncio.wait_for(game.store.close(), 10)


async def test_the_event_loop_keeps_turning_while_a_snapshot_is_written(game: Game) -> None:
    """The child does the writing: the parent's loop serves other tasks in the meantime."""
    for i in range(200):
        await game.join(f"p{i}")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    assert await game.store.save(game.actor.between_turns)
    task.cancel()
    assert ticks > 3


async def test_wait_child_reports_the_exit_code() -> None:
    """The parent learns a child's exit code on the event loop."""
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert await saver_mod.wait_child(pid) == 3


@pytest.mark.parametrize("before", [0, 2])
async def test_changes_in_the_snapshot_turn_are_never_applied_twice(
    game: Game, before: int
) -> None:
    """Commands that share a turn with the snapshot request, queued before or after it, are in
    the snapshot or after it in the journal, never both: a restart has each round once."""
    await game.join("a")
    call = game.actor.call
    rounds = [QueueRound(target=10 + i) for i in range(3)]
    await asyncio.gather(
        *(call(cmd) for cmd in rounds[:before]),
        game.store.save(game.actor.between_turns),
        *(call(cmd) for cmd in rounds[before:]),
    )
    expected = full_print(game.store.state)
    game.crash()
    again = open_store(game.settings, PLANETS)
    assert full_print(again.state) == expected
    assert [r.target for r in again.state.queue] == [10, 11, 12]
    again.journal.close()
    release_lock(again.data_dir)


async def test_a_child_that_never_finishes_is_killed_after_the_timeout() -> None:
    """A stuck save is killed, so it can hold up neither the next save nor the shutdown."""
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    assert await saver_mod.wait_child(pid, timeout=0.2) == -9


async def test_a_moved_directory_keeps_every_file_and_the_store_says_so(
    game: Game, tmp_path: Path
) -> None:
    """After ``mv DATA_DIR moved; mkdir DATA_DIR`` the journal and the snapshot go on in the
    moved directory, the new one stays empty, the store names the move for /readyz, and once
    the directory is moved back that problem is gone."""
    path = game.settings.data_dir
    await game.join("a")
    moved = tmp_path / "moved"
    os.rename(path, moved)
    path.mkdir()
    await game.join("b")
    assert await game.store.save(game.actor.between_turns)
    assert "no longer the directory this server holds" in (game.store.not_ready or "")
    assert os.listdir(path) == []
    with DataDir.open(moved) as held:
        saved, _ = snapshot.read(held, snapshot.CURRENT, game.store.state.rules)
    assert sorted(saved.players) == ["a", "b"]
    os.rmdir(path)
    os.rename(moved, path)
    assert not await game.store.save(game.actor.between_turns)  # nothing changed; checked again
    assert game.store.not_ready is None
