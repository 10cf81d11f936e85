"""A supervised child's side of "when the parent dies, even by ``kill -9``, every child exits"
(SPEC §11).

The supervisor gives each child the read end of a pipe whose write end only the parent holds,
and names it in ``CTB_PARENT_FD``. Nothing is ever written to it: when the parent dies the
kernel closes the write end and the read end reports end of file, however the parent died.

Two guards cover a child's life, one at a time:

- from ``arm`` (early at start-up) the kernel sends the child SIGTERM when the parent dies
  (``PR_SET_PDEATHSIG``); the child has no handler yet, so it exits at once. A parent that died
  before the child armed it sent nothing, so ``arm`` then looks at the pipe and exits if it is
  at end of file;
- from ``watch`` (inside the running event loop) the pipe is the guard: the kernel's signal is
  disarmed and end of file calls ``on_gone``, once, which stops the child the graceful way. One
  notice, not two: a second SIGTERM while aiohttp shuts down would cut its shutdown short.

Without ``CTB_PARENT_FD`` (a process not started by a supervisor) both are no-ops.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import select
import signal
from collections.abc import Callable

PARENT_FD = "CTB_PARENT_FD"  # the environment variable naming the pipe's read end
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_fd: int | None = None  # the pipe, once ``arm`` has taken it out of the environment


def _pdeathsig(sig: int) -> None:
    """Ask the kernel for ``sig`` when the parent dies (0: nothing). Linux only; elsewhere the
    pipe alone is the guard."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _parent_gone(fd: int) -> bool:
    """Nothing is ever written to the pipe: readable means end of file, the parent is gone."""
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def supervised_fd() -> int | None:
    """The pipe's read end when a supervisor started this process, else None."""
    global _fd
    if _fd is None:
        raw = os.environ.pop(PARENT_FD, None)  # not handed on to anything this process starts
        if raw is None or not raw.isdigit():
            return None
        _fd = int(raw)
        os.set_inheritable(_fd, False)
    return _fd


def arm() -> None:
    """Die with the parent from here on; exit now if it is already gone. Call it early."""
    fd = supervised_fd()
    if fd is None:
        return
    _pdeathsig(signal.SIGTERM)
    if _parent_gone(fd):  # it died before the line above: the kernel will send nothing
        raise SystemExit(0)


def watch(on_gone: Callable[[], None]) -> None:
    """From now on the running loop calls ``on_gone`` once when the parent is gone.

    Call it before the loop has a SIGTERM handler of its own (until then the kernel's SIGTERM
    ends the process outright); ``on_gone`` starts the same stop a SIGTERM would, for example
    ``signal.raise_signal(signal.SIGTERM)`` under aiohttp.
    """
    fd = supervised_fd()
    if fd is None:
        return
    loop = asyncio.get_running_loop()
    _pdeathsig(0)  # the pipe is the one guard from here: one notice, not two

    def readable() -> None:
        loop.remove_reader(fd)
        on_gone()

    loop.add_reader(fd, readable)  # fires at once if the parent died before this line
