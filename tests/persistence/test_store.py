"""The store with a running actor: journal before acknowledgement, dirty-only background
snapshots, the final snapshot at shutdown, and start-up errors (SPEC §7)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actor.actor import Actor
from actor.clock import FakeClock
from engine import commands
from engine.errors import Unavailable
from persistence import journal as journal_mod
from persistence import saver as saver_mod
from persistence import snapshot
from persistence.errors import StartupError
from persistence.store import Store, open_store, release_lock
from settings import Settings
from tests.conftest import T0, run_in_child
from tests.persistence.games import PLANETS, full_print

NOBODY = 65534  # the unprivileged user and group of Debian and most Linux systems


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    return dataclasses.replace(
        Settings(data_dir=data_dir, snapshot_interval=3600, fsync="everysec"), **overrides
    )


class Game:
    """A store and an actor on it, with the fake clock, as ``server.app.game_ctx`` wires them."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self.store: Store = open_store(settings, PLANETS)
        self.actor = Actor(self.store.state, clock, on_commit=self.store.append, tick_interval=None)

    async def start(self) -> Game:
        self.actor.start()
        await self.store.start(self.actor.between_turns)
        return self

    async def stop(self) -> None:
        await self.actor.stop()
        await self.store.close()

    def crash(self) -> None:
        """Drop everything as ``kill -9`` would: no final snapshot, no fsync, the lock freed."""
        for task in (self.actor._task, self.actor._ticker, *self.store._tasks):
            if task is not None:
                task.cancel()
        os.close(self.store.journal._fd)
        release_lock(self.store._lock_fd)

    async def join(self, player_id: str) -> dict[str, Any]:
        return await self.actor.call({"op": "create_player", "player_id": player_id})

    async def push(self, player_id: str, batch_id: str, clicks: list[int]) -> Any:
        self.clock.jump(0.6)
        return await self.actor.call(
            {"op": "push", "player_id": player_id, "batch_id": batch_id, "clicks": clicks}
        )


@pytest.fixture
async def game(tmp_path: Path) -> AsyncIterator[Game]:
    clock = FakeClock(T0)
    game = await Game(settings_for(tmp_path / "data"), clock).start()
    await game.actor.call({"op": "tick"})
    yield game
    if game.actor.running:
        await game.stop()


async def reopen(game: Game) -> Game:
    return await Game(game.settings, game.clock).start()


async def test_a_push_is_in_the_journal_when_its_reply_arrives(game: Game) -> None:
    """The actor's reply comes after the turn's records reached the journal file."""
    await game.join("a")
    await game.push("a", "b1", [5])
    reader = journal_mod.SegmentReader(journal_mod.segment_path(game.settings.data_dir, 1))
    records = list(reader.frames())[1:]
    assert [r["op"] for r in records] == ["tick", "create_player", "push"]
    assert records[-1]["batch_id"] == "b1" and records[-1]["now"] == T0 + 0.6


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
    await game.actor.call({"op": "tick"})
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
    data_dir = game.settings.data_dir

    def segments() -> list[int]:
        return [n for n, _ in journal_mod.list_segments(data_dir)]

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


def test_a_second_server_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    """The DATA_DIR lock keeps two servers from writing the same journal."""
    first = open_store(settings_for(tmp_path), PLANETS)
    with pytest.raises(StartupError, match="in use"):
        open_store(settings_for(tmp_path), PLANETS)
    first.journal.close()
    release_lock(first._lock_fd)


def test_a_data_dir_that_is_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    """DATA_DIR under a regular file cannot be created: the error names it."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StartupError, match=r"DATA_DIR .*file/data cannot be used"):
        open_store(settings_for(tmp_path / "file" / "data"), PLANETS)


def start_unprivileged(data_dir: Path) -> str:
    """``open_store`` on ``data_dir`` in a child process; the StartupError's text, or "started".

    Root reads and writes any directory, so when the tests run as root (as CI does) the child
    first drops to the unprivileged ``nobody`` user: the permission check is then the kernel's.
    """

    def scenario() -> str:
        if os.geteuid() == 0:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        try:
            open_store(settings_for(data_dir), PLANETS)
        except StartupError as error:
            return str(error)
        return "started"

    return run_in_child(scenario)


@pytest.mark.parametrize("mode", [0o000, 0o300, 0o500], ids=["no-access", "no-read", "no-write"])
def test_a_data_dir_without_permission_is_a_clear_error(mode: int) -> None:
    """A DATA_DIR the server may not list or write stops start-up with the reason and is left
    exactly as it was: its files are neither read, moved nor replaced."""
    parent = Path(tempfile.mkdtemp())
    data_dir = parent / "data"
    try:
        parent.chmod(0o755)  # only DATA_DIR itself is out of reach, not the way to it
        data_dir.mkdir()
        (data_dir / snapshot.CURRENT).write_bytes(b"the operator's snapshot")
        if os.geteuid() == 0:
            os.chown(data_dir, NOBODY, NOBODY)  # the mode is then about the child's own user
        data_dir.chmod(mode)
        outcome = start_unprivileged(data_dir)
        data_dir.chmod(0o700)
        assert f"DATA_DIR {data_dir} cannot be" in outcome
        assert os.listdir(data_dir) == [snapshot.CURRENT]
        assert (data_dir / snapshot.CURRENT).read_bytes() == b"the operator's snapshot"
    finally:
        data_dir.chmod(0o700)
        shutil.rmtree(parent)


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
    rounds = [{"op": "queue_round", "target": 10 + i} for i in range(3)]
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
    release_lock(again._lock_fd)


async def test_a_child_that_never_finishes_is_killed_after_the_timeout() -> None:
    """A stuck save is killed, so it can hold up neither the next save nor the shutdown."""
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    assert await saver_mod.wait_child(pid, timeout=0.2) == -9


async def test_a_command_that_fails_half_way_leaves_memory_equal_to_the_journal(
    game: Game, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that raises after mutating half the state fails its caller only; what stays in
    memory is what a restart rebuilds from the journal, because the record was written ahead
    and the replay runs the same code to the same point."""

    def half_done(state: Any, cmd: dict[str, Any]) -> None:
        player = state.players[cmd["player_id"]]
        player.score += 7  # the first half of a change ...
        state.version += 1
        raise RuntimeError("... and a bug before the second half")

    monkeypatch.setitem(commands.MUTATIONS, "half_done", half_done)
    await game.join("a")
    with pytest.raises(RuntimeError):
        await game.actor.call({"op": "half_done", "player_id": "a"})
    await game.push("a", "b1", [5])
    assert game.store.state.players["a"].score == 12
    expected = full_print(game.store.state)
    game.crash()
    again = open_store(game.settings, PLANETS)
    assert full_print(again.state) == expected
    again.journal.close()
    release_lock(again._lock_fd)


def test_changes_the_disk_refuses_are_never_served(tmp_path: Path) -> None:
    """With the journal's file held at its size by the kernel (RLIMIT_FSIZE, as a full disk),
    a push and a new player are refused, nothing of them is in memory or on the board, a round
    whose time ran out is not finished; once the disk takes writes again all goes on, and a
    restart finds exactly what was served."""

    def scenario() -> str:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

        async def play() -> str:
            clock = FakeClock(T0)
            game = await Game(settings_for(tmp_path, fsync="no"), clock).start()
            await game.join("a")
            await game.push("a", "b1", [5])
            state, board = game.store.state, game.actor.board
            version, served = state.version, full_print(state)
            size = max(p.stat().st_size for _, p in journal_mod.list_segments(tmp_path))
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
            outcomes = []
            clock.jump(600)  # round 1's time is up: the tick is refused with the rest
            for cmd in (
                {"op": "push", "player_id": "a", "batch_id": "b2", "clicks": [5]},
                {"op": "create_player", "player_id": "b"},
            ):
                try:
                    await game.actor.call(cmd)
                    outcomes.append("acknowledged")
                except Unavailable:
                    outcomes.append("unavailable")
            unchanged = (state.version, full_print(state)) == (version, served)
            outcomes.append(f"unchanged {unchanged}, same board {game.actor.board is board}")
            outcomes.append(f"problem {game.store.write_problem is not None}")
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            await game.join("c")
            outcomes.append(f"round {state.current.status}, players {sorted(state.players)}")
            served = full_print(state)
            game.crash()
            again = open_store(game.settings, PLANETS)
            outcomes.append(f"restart equal {full_print(again.state) == served}")
            again.journal.close()
            release_lock(again._lock_fd)
            return " | ".join(outcomes)

        return asyncio.run(play())

    assert run_in_child(scenario).split(" | ") == [
        "unavailable",
        "unavailable",
        "unchanged True, same board True",
        "problem True",
        "round finished, players ['a', 'c']",
        "restart equal True",
    ]


async def test_after_a_recovery_the_previous_snapshot_still_has_every_change_after_it(
    game: Game,
) -> None:
    """A start-up that moved a damaged segment aside saves its state first; after the next
    background save, losing snapshot.bin still leaves snapshot.prev.bin and the journal with
    every change, those of the recovered server included."""
    data_dir = game.settings.data_dir
    await game.join("a")
    await game.store.save(game.actor.between_turns)
    for i in range(6):
        await game.push("a", f"b{i}", [1])
    game.crash()
    _, last = journal_mod.list_segments(data_dir)[-1]
    damaged = bytearray(last.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    last.write_bytes(damaged)
    recovered = await reopen(game)
    assert 0 < recovered.store.state.players["a"].score < 6
    await recovered.join("b")
    assert await recovered.store.save(recovered.actor.between_turns)
    await recovered.push("b", "c1", [2])
    before = full_print(recovered.store.state)
    recovered.crash()
    (data_dir / snapshot.CURRENT).unlink()
    again = await reopen(recovered)
    assert full_print(again.store.state) == before
    await again.stop()
