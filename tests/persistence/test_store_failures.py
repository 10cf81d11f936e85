"""Failures while serving (SPEC §7): a bug half-way through a command, a disk that refuses
writes, a damaged segment; what stays in memory is always what a restart rebuilds."""

from __future__ import annotations

import asyncio
import resource
import signal
from pathlib import Path
from typing import Any

import pytest

from actor.clock import FakeClock
from engine import commands
from engine.command_types import CreatePlayer, Push, SetStatus
from engine.errors import Unavailable
from persistence import journal as journal_mod
from persistence import snapshot
from persistence.store import open_store, release_lock
from tests.conftest import T0, run_in_child
from tests.persistence.conftest import Game, reopen, settings_for
from tests.persistence.games import PLANETS, full_print


async def test_a_command_that_fails_half_way_leaves_memory_equal_to_the_journal(
    game: Game, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that raises after mutating half the state fails its caller only; what stays in
    memory is what a restart rebuilds from the journal, because the record was written ahead
    and the replay runs the same code to the same point."""

    def half_done(state: Any, cmd: SetStatus) -> None:
        player = state.players[cmd.player_id]
        player.score += 7  # the first half of a change ...
        state.version += 1
        raise RuntimeError("... and a bug before the second half")

    monkeypatch.setitem(commands.MUTATIONS, SetStatus, half_done)
    await game.join("a")
    with pytest.raises(RuntimeError):
        await game.actor.call(SetStatus(player_id="a", status="active"))
    await game.push("a", "b1", [5])
    assert game.store.state.players["a"].score == 12
    expected = full_print(game.store.state)
    game.crash()
    again = open_store(game.settings, PLANETS)
    assert full_print(again.state) == expected
    again.journal.close()
    release_lock(again.data_dir)


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
            size = max(
                game.store.data_dir.size(n)
                for _, n in journal_mod.list_segments(game.store.data_dir)
            )
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
            outcomes = []
            clock.jump(600)  # round 1's time is up: the tick is refused with the rest
            for cmd in (
                Push(player_id="a", batch_id="b2", clicks=[5]),
                CreatePlayer(player_id="b"),
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
            release_lock(again.data_dir)
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
    last = sorted(data_dir.glob("journal-*.log"))[-1]
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
