"""Writing snapshots in the background without stalling the game, as Redis's BGSAVE (SPEC §7).

Inside one actor turn the saver moves the journal on to a new segment and ``fork()``s. The child
owns a copy-on-write image of the state exactly as it was between two turns; it encodes and
writes the snapshot and exits. The parent returns to the game at once: the fork copies the page
tables, 25-40 ms for a million players (bench/persist_bench.py), where encoding them in the
event loop's thread would stall it for seven seconds. The parent learns that the child is done
from a pidfd on the event loop (no thread), reads the child's one-line report from a pipe, and
only then deletes journal segments no snapshot on disk still needs.

Two snapshots are kept: ``snapshot.bin`` and ``snapshot.prev.bin``. A segment is deleted once
both snapshots contain it, so falling back to the previous snapshot at start-up still finds
every change after it in the journal.

The child dies with its parent (``PR_SET_PDEATHSIG``): a child left running by a killed server
would otherwise finish its save under the next server and rename that server's snapshot.bin to
snapshot.prev.bin. It writes through the directory the parent holds (``data_dir.py``), reopened
from the parent's descriptor, never through DATA_DIR's path: a directory moved or replaced under
the server still gets its own snapshot, and no other directory gets one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import os
import resource
import signal
import time
import warnings
from collections.abc import Callable

from engine.state import GameState
from persistence import journal as journal_mod
from persistence import snapshot
from persistence.data_dir import DataDir
from persistence.recovery import Recovered

log = logging.getLogger("ctb.persistence")

Observer = Callable[[float, int], None]  # (seconds, bytes) of a written snapshot
CHILD_TIMEOUT = 900.0  # seconds; a save of 1,000,000 players takes a few
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up before any fork: the child must not import or load a library."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()


@dataclasses.dataclass(slots=True)
class Job:
    """A snapshot being written by a child process."""

    pid: int
    report_fd: int
    version: int
    covers: int  # the snapshot holds every segment below this one
    players: int
    started: float
    fork_ms: float
    faults_at_fork: int  # the parent's minor page faults when it forked


@dataclasses.dataclass(slots=True)
class SaveStatus:
    """What an operator asks about saving: the last write, how it went, how long it took."""

    saved_version: int | None
    last_save_at: float | None = None
    last_status: str | None = None  # "ok" or "failed: <why>"
    last_bytes: int = 0
    last_ms: float = 0.0
    last_fork_ms: float = 0.0
    writes: int = 0
    failures: int = 0


class Saver:
    """Decides when a snapshot is due, runs the child, and deletes what it makes obsolete."""

    def __init__(
        self, data_dir: DataDir, journal: journal_mod.Journal, recovered: Recovered
    ) -> None:
        self.data_dir = data_dir
        self.journal = journal
        self.status = SaveStatus(saved_version=recovered.saved_version)
        self._current_covers = recovered.current_covers
        self._previous_covers = recovered.previous_covers
        self.observers: list[Observer] = []

    def is_dirty(self, state_version: int) -> bool:
        return state_version != self.status.saved_version

    def capture(self, state: GameState) -> Job | None:
        """In the actor's turn: rotate the journal and fork a child that writes the state."""
        if not self.is_dirty(state.version):
            return None
        covers = self.journal.rotate()
        parent = os.getpid()
        read_fd, write_fd = os.pipe()
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns about fork in a threaded process; the child below touches
                # no lock another thread could hold (no logging, no imports, no executor).
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:
            _child(self.data_dir, state, covers, write_fd, parent)
        os.close(write_fd)
        fork_ms = (time.perf_counter() - started) * 1000
        faults = minor_faults()
        players = len(state.players)
        return Job(pid, read_fd, state.version, covers, players, started, fork_ms, faults)

    async def finish(self, job: Job) -> bool:
        """Wait for the child without blocking the loop; on success delete covered segments."""
        try:
            code = await wait_child(job.pid)
        finally:
            report = _read_report(job.report_fd)
        ms = (time.perf_counter() - job.started) * 1000
        # Most of the parent's minor faults while a child lives are copy-on-write copies of pages
        # the two still shared (docs/persistence.md): each costs the game a fault and a page.
        copied = minor_faults() - job.faults_at_fork
        if code == 0 and report.startswith("ok "):
            _, size, child_faults = report.split()
            self._succeeded(job, int(size), ms, copied, int(child_faults))
            return True
        self._failed(job, f"exit {code}: {report or 'no report'}")
        return False

    def _succeeded(self, job: Job, size: int, ms: float, faults: int, child_faults: int) -> None:
        status = self.status
        status.saved_version = job.version
        status.last_save_at = time.time()
        status.last_status = "ok"
        status.last_bytes, status.last_ms, status.last_fork_ms = size, ms, job.fork_ms
        status.writes += 1
        if self._current_covers is not None:
            self._previous_covers = self._current_covers
        self._current_covers = job.covers
        deleted = self._delete_obsolete_segments()
        log.info(
            "snapshot written",
            extra={
                "event": "snapshot",
                "bytes": size,
                "ms": round(ms, 1),
                "fork_ms": round(job.fork_ms, 1),
                "faults": faults,
                "child_faults": child_faults,
                "players": job.players,
                "version": job.version,
                "journal_next": job.covers,
                "segments_deleted": deleted,
            },
        )
        for observe in self.observers:
            observe(ms / 1000, size)

    def _failed(self, job: Job, why: str) -> None:
        status = self.status
        status.last_status = f"failed: {why}"
        status.failures += 1
        self.data_dir.unlink(snapshot.temp_name(job.pid), missing_ok=True)
        log.error(
            "snapshot failed; the previous snapshots and the journal are kept",
            extra={"event": "snapshot_failed", "error": why, "version": job.version},
        )

    def _delete_obsolete_segments(self) -> int:
        """Delete segments both snapshots on disk contain; none while only one snapshot exists."""
        if self._previous_covers is None or self._current_covers is None:
            return 0
        below = min(self._previous_covers, self._current_covers)
        deleted = 0
        for number, name in journal_mod.list_segments(self.data_dir):
            if number >= below:
                break
            with contextlib.suppress(FileNotFoundError):
                self.data_dir.unlink(name)
                deleted += 1
        return deleted


def _child(data_dir: DataDir, state: GameState, covers: int, report_fd: int, parent: int) -> None:
    """The forked child: write the snapshot, report one line, exit; it never returns."""
    code = 1
    try:
        # A child that outlives a killed server would rename the next server's snapshot.bin to
        # snapshot.prev.bin: the kernel kills it when its parent dies. A parent that died
        # before the prctl took effect has left this process to another parent already.
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(code)
        for sig in (signal.SIGINT, signal.SIGTERM):
            # A Ctrl-C reaches the whole process group; the parent decides when to stop.
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_IGN)
        gc.disable()  # a collection would touch every object and copy every page
        # Drop what the parent holds open (listening sockets, the DATA_DIR lock), so a child
        # that outlives a killed parent never keeps the port or the lock. The directory is
        # reopened first, through the held descriptor: a new descriptor holds no lock.
        own = data_dir.reopen()
        _close_all_but(report_fd, own.fd)
        size = snapshot.save(own, state, covers)
        os.write(report_fd, f"ok {size} {minor_faults()}".encode())
        code = 0
    except BaseException as error:
        with contextlib.suppress(BaseException):
            os.write(report_fd, f"{type(error).__name__}: {error}".encode()[:2000])
    finally:
        os._exit(code)


def _close_all_but(*kept: int) -> None:
    """Close every descriptor from 3 up, except ``kept``."""
    low = 3
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _max_fd())


def minor_faults() -> int:
    """This process's minor page faults so far (a child's count starts with its fork)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 65536


def _read_report(fd: int) -> str:
    """The child's report; its end of the pipe is closed once it exits, so this never waits."""
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")


async def wait_child(pid: int, timeout: float = CHILD_TIMEOUT) -> int:
    """The child's exit code, awaited on a pidfd (a thread waits where there are no pidfds).

    A child still running after ``timeout`` is killed: a stuck save must not hold up the next
    one or the shutdown forever.
    """
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        _, status = await loop.run_in_executor(None, os.waitpid, pid, 0)
        return os.waitstatus_to_exitcode(status)
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)
    try:
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            await exited
        _, status = os.waitpid(pid, 0)  # the child has exited: this returns at once
        return os.waitstatus_to_exitcode(status)
    except asyncio.CancelledError:
        with contextlib.suppress(ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)  # never leave a zombie
        raise
    except ChildProcessError:
        return -1  # reaped by someone else: treat as failed, the next interval writes again
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
