"""A supervised child's side of dying with its parent (cluster/parent_watch.py), in real child
processes given the read end of a real pipe, as the supervisor gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import ROOT

ARMED = "from cluster import parent_watch; parent_watch.arm(); print('armed', flush=True)"
WATCHING = """
import asyncio, sys
from cluster import parent_watch

async def main():
    parent_watch.arm()
    gone = asyncio.Event()
    parent_watch.watch(gone.set)
    print("watching", flush=True)
    await gone.wait()
    print("parent gone", flush=True)

asyncio.run(main())
"""


@pytest.fixture
def pipe() -> Iterator[list[int]]:
    """[read end, write end]; a test closes the write end with ``parent_dies``."""
    ends = list(os.pipe())
    yield ends
    for fd in ends:
        if fd >= 0:
            os.close(fd)


def parent_dies(ends: list[int]) -> None:
    """What the kernel does to the pipe when the parent dies: its end closes."""
    os.close(ends[1])
    ends[1] = -1


def child(code: str, fd: int | None) -> subprocess.Popen[str]:
    env = {name: value for name, value in os.environ.items() if name != "CTB_PARENT_FD"}
    if fd is not None:
        env["CTB_PARENT_FD"] = str(fd)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=() if fd is None else (fd,),
    )


def test_arm_goes_on_while_the_parent_lives(pipe: list[int]) -> None:
    """With the parent's end of the pipe open, ``arm`` returns and the child runs on."""
    proc = child(ARMED, pipe[0])
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "armed\n")


def test_arm_exits_when_the_parent_died_before_it(pipe: list[int]) -> None:
    """A child whose parent is gone before ``arm`` ran exits there, running nothing after it."""
    parent_dies(pipe)  # while the child is starting
    proc = child(ARMED, pipe[0])
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "")


def test_arm_does_nothing_without_a_supervisor() -> None:
    """Started by anything else (no CTB_PARENT_FD), ``arm`` returns and the process runs on."""
    proc = child(ARMED, None)
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "armed\n")


def test_watch_calls_on_gone_when_the_parent_goes(pipe: list[int]) -> None:
    """Once the parent's end of the pipe closes, the running loop calls ``on_gone``."""
    proc = child(WATCHING, pipe[0])
    assert proc.stdout is not None
    assert proc.stdout.readline() == "watching\n"
    parent_dies(pipe)
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "parent gone\n")
