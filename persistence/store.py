"""The saved game as the server sees it: open at start-up, journal each turn, save in background.

``open_store`` rebuilds the state (``recovery.py``) and opens a new journal segment; the actor
calls ``append`` once per turn before it applies anything; ``start`` runs the snapshot
saver and, with ``FSYNC=everysec``, a once-a-second fsync in a thread of its own; ``close`` runs
after the actor stopped, writes a final snapshot and makes the journal durable.

One server per data directory: an ``flock`` on the directory itself (``lock.py``) refuses a
second one, which would otherwise write the same journal segments as the first, and every file
is reached through the locked directory's descriptor (``data_dir.py``), never through the path.
Before each save the store checks that DATA_DIR's path still leads to that directory; when it
does not (moved, replaced, mounted over), the server goes on serving and saving in the directory
it holds, says so loudly in the log, and ``/readyz`` answers 503 until the path leads there
again (docs/persistence.md).

After a failed journal write (a full disk) the store probes the disk once a second
(``Journal.probe``), so readiness comes back as soon as the disk has room again, without
waiting for a client's write that a load balancer would never send to a server not ready.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from engine.command_types import Command
from engine.errors import Unavailable
from engine.state import GameState
from persistence import journal as journal_mod
from persistence.data_dir import DataDir
from persistence.errors import JournalError, StartupError
from persistence.lock import release_lock, take_lock
from persistence.recovery import recover
from persistence.saver import Job, Saver
from settings import Settings

log = logging.getLogger("ctb.persistence")

SYNC_INTERVAL = 1.0
PROBE_INTERVAL = 1.0  # seconds between disk probes while the last journal write failed
FREEZE_AT = 100_000  # players


BetweenTurns = Callable[[Callable[[GameState], Any]], Awaitable[Any]]


class Store:
    """Owns the journal, the saver and the lock of one data directory.

    The store never sees the actor: the app factory hands ``start`` a ``between_turns``
    function that runs a callable on the state at a turn boundary (``Actor.between_turns``),
    where the state holds exactly what the journal holds. The snapshot is forked there.
    """

    def __init__(
        self,
        state: GameState,
        journal: journal_mod.Journal,
        saver: Saver,
        data_dir: DataDir,
        snapshot_interval: float,
    ) -> None:
        self.state = state
        self.journal = journal
        self.saver = saver
        self.data_dir = data_dir  # locked: released by ``close``
        self.dir_problem: str | None = None  # set while DATA_DIR's path leads elsewhere
        self._interval = snapshot_interval
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sync_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._sync_future: asyncio.Future[None] | None = None

    @property
    def write_problem(self) -> str | None:
        """Why changes cannot be made durable right now, or None when they can (/readyz)."""
        if self.journal.failure is not None:
            return self.journal.failure
        if self.journal.last_error is not None:
            return f"the last journal write failed: {self.journal.last_error}"
        return None

    @property
    def not_ready(self) -> str | None:
        """Why a load balancer should send this server nothing now, or None (/readyz)."""
        problem = self.write_problem
        if problem is not None:
            return f"changes cannot be saved: {problem}"
        return self.dir_problem

    def check_path(self) -> str | None:
        """Does DATA_DIR's path still lead to the directory held? Log when that changes.

        Nothing is written anywhere else either way: the journal and the snapshots stay in the
        directory held, where a restart on its new path finds every acknowledged change. What
        the operator must hear is that a restart with the same DATA_DIR would not.
        """
        problem = self.data_dir.moved()
        if problem is not None and self.dir_problem is None:
            log.error(
                "DATA_DIR no longer leads to the directory this server holds; it goes on "
                "saving there, and /readyz answers 503 until DATA_DIR leads there again",
                extra={"event": "data_dir_moved", "path": str(self.data_dir.path), "why": problem},
            )
        elif problem is None and self.dir_problem is not None:
            log.warning(
                "DATA_DIR leads to the directory this server holds again",
                extra={"event": "data_dir_back", "path": str(self.data_dir.path)},
            )
        self.dir_problem = problem
        return problem

    @property
    def dirty(self) -> bool:
        """Whether the state changed since the last snapshot (an int read, safe from any task)."""
        return self.saver.is_dirty(self.state.version)

    def append(self, records: list[Command]) -> None:
        """The actor's commit hook: one write for the turn's records, before any is applied."""
        self.journal.append(records)

    def _capture(self, state: GameState) -> Job | None:
        """Between two turns: rotate the journal and fork the snapshot child.

        A failed fork or rotation costs this snapshot only; the game goes on.
        """
        try:
            return self.saver.capture(state)
        except (OSError, JournalError) as error:
            self.saver.status.failures += 1
            self.saver.status.last_status = f"failed: {error}"
            log.error(
                "snapshot could not start", extra={"event": "snapshot_failed", "error": str(error)}
            )
            return None

    async def start(self, between_turns: BetweenTurns) -> None:
        self._tasks.append(
            asyncio.create_task(self._save_forever(between_turns), name="snapshot-saver")
        )
        self._tasks.append(asyncio.create_task(self._probe_forever(), name="journal-probe"))
        if self.journal.fsync == journal_mod.EVERYSEC:
            self._sync_pool = concurrent.futures.ThreadPoolExecutor(1, "journal-fsync")
            self._tasks.append(asyncio.create_task(self._sync_forever(), name="journal-fsync"))

    async def save(self, between_turns: BetweenTurns) -> bool:
        """Write a snapshot now if the state changed since the last one; True if written."""
        self.check_path()
        job = await between_turns(self._capture)
        return job is not None and await self.saver.finish(job)

    async def close(self) -> None:
        """After the actor stopped: finish a running save, write the last one, release all."""
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sync_future is not None:
            await asyncio.gather(self._sync_future, return_exceptions=True)
        try:
            self.check_path()
            # The actor has stopped, so no turn can run: the store may touch the state itself.
            job = self._capture(self.state)
            if job is not None:
                await self.saver.finish(job)
        finally:
            self.journal.close()
            if self._sync_pool is not None:
                self._sync_pool.shutdown(wait=True)
            release_lock(self.data_dir)

    async def _save_forever(self, between_turns: BetweenTurns) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            if self._stopping.is_set():
                return
            try:
                await self.save(between_turns)
            except Unavailable:
                return  # the actor is stopping: ``close`` writes the last snapshot
            except Exception:  # a failed save keeps the old files; the next one tries again
                log.exception("snapshot attempt failed", extra={"event": "snapshot_failed"})

    async def _probe_forever(self) -> None:
        """While the last journal write failed, ask the disk once a second whether it has room."""
        journal = self.journal
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), PROBE_INTERVAL)
            if journal.last_error is None or journal.failure is not None:
                continue
            failed = journal.last_error
            if journal.probe():
                log.warning(
                    "the journal takes writes again; ready",
                    extra={"event": "journal_probe_ok", "failed_with": failed},
                )

    async def _sync_forever(self) -> None:
        """FSYNC=everysec: make the journal durable at most once a second, off the loop thread."""
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SYNC_INTERVAL)
            pending = self.journal.take_pending()
            if pending is not None:
                self._sync_future = loop.run_in_executor(
                    self._sync_pool, self.journal.sync_pending, pending
                )
                await self._sync_future
                self._sync_future = None


def open_store(settings: Settings, planet_names: list[str]) -> Store:
    """Load the saved game from DATA_DIR; raise StartupError when the server must not start."""
    path = Path(settings.data_dir)
    check_data_dir(path)
    data_dir = take_lock(path)
    try:
        rules = settings.rules
        recovered = recover(data_dir, rules, planet_names, settings.start_empty)
        try:
            journal = journal_mod.Journal(data_dir, recovered.next_segment, settings.fsync, rules)
        except OSError as error:
            raise StartupError(f"cannot write the journal in {path}: {error}") from error
    except BaseException:
        release_lock(data_dir)
        raise
    if len(recovered.state.players) >= FREEZE_AT:
        # A large loaded state lives as long as the process: keep the collector from walking
        # its millions of objects in every full collection: 0.7 s at 1M players.
        gc.freeze()
    saver = Saver(data_dir, journal, recovered)
    return Store(recovered.state, journal, saver, data_dir, settings.snapshot_interval)


def check_data_dir(data_dir: Path) -> None:
    """A missing directory is a first start; one that cannot be read or written is an error."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.listdir(data_dir)
    except OSError as error:
        raise StartupError(
            f"DATA_DIR {data_dir} cannot be used: {error.strerror or error}"
        ) from error
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StartupError(f"DATA_DIR {data_dir} cannot be written")


__all__ = [
    "DataDir",
    "JournalError",
    "StartupError",
    "Store",
    "check_data_dir",
    "open_store",
    "release_lock",
    "take_lock",
]
