"""The snapshot child and its parent: a child never outlives a killed server (SPEC §7)."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.state import new_state
from persistence import snapshot
from persistence.data_dir import DataDir
from persistence.journal import Journal
from persistence.recovery import Recovered
from persistence.saver import Saver
from tests.conftest import run_in_child
from tests.persistence.games import PLANETS, RULES

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
DEADLINE = 30.0  # seconds; only a broken run waits this long
NEXT_SERVER = b"the snapshot of the next server"


def until(done: Callable[[], object], what: str) -> None:
    """Poll ``done()`` until it is true; fail naming ``what`` after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in {DEADLINE} s")
        time.sleep(0.01)


def server_with_a_save_in_flight(data_dir: Path, started: Path, go: Path) -> None:
    """The server's side: fork a snapshot child that holds before writing until ``go`` exists.

    The hold wraps the real ``snapshot.save``, so the child is caught in the middle of a save,
    as a child writing a large state is when its server is killed.
    """
    real_save = snapshot.save

    def held(*args: Any) -> int:
        started.with_suffix(".tmp").write_text(str(os.getpid()))
        started.with_suffix(".tmp").rename(started)
        until(go.exists, "the test's go")
        return real_save(*args)

    snapshot.save = held  # type: ignore[assignment]  # this process is the test's own fork
    state = new_state(RULES, PLANETS)
    held = DataDir.open(data_dir)
    journal = Journal(held, 1, "no", RULES)
    saver = Saver(held, journal, Recovered(state, None, None, None, 1))
    assert saver.capture(state) is not None
    time.sleep(DEADLINE)  # killed long before this ends


def kill_the_server_mid_save(tmp_path: Path) -> str:
    """Kill a server whose snapshot child is mid-save, start "the next server", let the child
    go on; report how the child ended and what the data directory then holds."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # the orphaned child becomes ours to reap
    data_dir, started, go = tmp_path / "data", tmp_path / "started", tmp_path / "go"
    data_dir.mkdir()
    server = os.fork()
    if server == 0:
        try:
            server_with_a_save_in_flight(data_dir, started, go)
        finally:
            os._exit(0)
    until(started.exists, "the snapshot child's start")
    child = int(started.read_text())
    os.kill(server, signal.SIGKILL)
    os.waitpid(server, 0)
    (data_dir / snapshot.CURRENT).write_bytes(NEXT_SERVER)
    go.touch()
    ended: list[int] = []

    def reaped() -> bool:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            ended.append(os.waitstatus_to_exitcode(status))
        return bool(pid)

    until(reaped, "the snapshot child's end")
    return json.dumps(
        {
            "exit": ended[0],
            "current": (data_dir / snapshot.CURRENT).read_bytes().decode(errors="replace"),
            "previous": (data_dir / snapshot.PREVIOUS).exists(),
        }
    )


def test_a_snapshot_child_dies_with_its_killed_server(tmp_path: Path) -> None:
    """When the server is killed mid-save, its snapshot child is killed too, so it never renames
    the next server's snapshot.bin to snapshot.prev.bin."""
    outcome = run_in_child(lambda: kill_the_server_mid_save(tmp_path))
    assert json.loads(outcome) == {
        "exit": -signal.SIGKILL,
        "current": NEXT_SERVER.decode(),
        "previous": False,
    }
