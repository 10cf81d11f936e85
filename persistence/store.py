"""The saved game as the server sees it: open at start-up, journal each turn, save in background.

``open_store`` rebuilds the state (``recovery.py``) and opens a new journal segment; the actor
calls ``append`` once per turn before it acknowledges anything; ``start`` runs the snapshot
saver and, with ``FSYNC=everysec``, a once-a-second fsync in a thread of its own; ``close`` runs
after the actor stopped, writes a final snapshot and makes the journal durable.

One server per data directory: an ``flock`` on ``DATA_DIR/ctb.lock`` refuses a second one,
which would otherwise write the same journal segments as the first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import gc
import logging
import os
from pathlib import Path
from typing import Any

from actor.actor import Actor
from engine.state import GameState
from persistence import journal as journal_mod
from persistence.errors import JournalError, StartupError
from persistence.recovery import recover
from persistence.saver import Job, Saver
from settings import Settings

log = logging.getLogger("ctb.persistence")

LOCK_FILE = "ctb.lock"
SYNC_INTERVAL = 1.0
FREEZE_AT = 100_000  # players


class Store:
    """Owns the journal, the saver and the lock of one data directory."""

    def __init__(
        self,
        state: GameState,
        journal: journal_mod.Journal,
        saver: Saver,
        lock_fd: int,
        snapshot_interval: float,
    ) -> None:
        self.state = state
        self.journal = journal
        self.saver = saver
        self._lock_fd = lock_fd
        self._interval = snapshot_interval
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sync_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._sync_future: asyncio.Future[None] | None = None
        self._journaled_version = state.version  # the state the journal holds up to
        self._capture_after_append = False
        self._captured: list[Job | None] = []

    @property
    def write_problem(self) -> str | None:
        """Why changes cannot be made durable right now, or None when they can (/readyz)."""
        if self.journal.failure is not None:
            return self.journal.failure
        if self.journal.behind:
            return "a journal write failed; the changes wait to be written"
        return None

    @property
    def dirty(self) -> bool:
        """Whether the state changed since the last snapshot (an int read, safe from any task)."""
        return self.saver.is_dirty(self.state.version)

    def append(self, records: list[dict[str, Any]]) -> None:
        """The actor's commit hook: one write for the turn's records, before any reply."""
        self.journal.append(records)
        self._journaled_version = self.state.version
        if self._capture_after_append:
            self._capture_after_append = False
            self._captured.append(self._try_capture(self.state))

    def _capture(self, state: GameState) -> None:
        """In the actor's turn: fork the snapshot now, or right after this turn's append.

        The actor journals a turn's records once the whole turn is applied, so commands that
        came before this message in the same turn are in the state but not yet in the journal.
        A snapshot forked now would hold them while the journal wrote them after the rotation,
        and a replay would apply them twice; so the fork then waits for the turn's append.
        """
        if state.version == self._journaled_version:
            self._captured.append(self._try_capture(state))
        else:
            self._capture_after_append = True

    def _try_capture(self, state: GameState) -> Job | None:
        """A failed fork or rotation costs this snapshot only, never the turn's replies."""
        try:
            return self.saver.capture(state)
        except (OSError, JournalError) as error:
            self.saver.status.failures += 1
            self.saver.status.last_status = f"failed: {error}"
            log.error(
                "snapshot could not start", extra={"event": "snapshot_failed", "error": str(error)}
            )
            return None

    async def start(self, actor: Actor) -> None:
        self._tasks.append(asyncio.create_task(self._save_forever(actor), name="snapshot-saver"))
        if self.journal.fsync == journal_mod.EVERYSEC:
            self._sync_pool = concurrent.futures.ThreadPoolExecutor(1, "journal-fsync")
            self._tasks.append(asyncio.create_task(self._sync_forever(), name="journal-fsync"))

    async def save(self, actor: Actor) -> bool:
        """Write a snapshot now if the state changed since the last one; True if written."""
        self._captured = []
        # The job comes from ``_capture`` or ``append`` in the actor's turn, not in the reply:
        # a failed append fails the reply even when a child was already forked, and a save that
        # raced with the actor's stop must neither wait for a turn that never comes nor lose one.
        reply = asyncio.ensure_future(actor.exclusive(self._capture))
        try:
            while not reply.done():
                await asyncio.wait({reply}, timeout=0.1)
                if not reply.done() and not self._captured and not actor.running:
                    reply.cancel()
                    break
        finally:
            self._capture_after_append = False
        if reply.done() and not reply.cancelled() and reply.exception() is not None:
            log.error(
                "snapshot turn failed",
                extra={"event": "snapshot_failed", "error": str(reply.exception())},
            )
        job = self._captured[0] if self._captured else None
        self._captured = []
        return job is not None and await self.saver.finish(job)

    async def close(self, actor: Actor) -> None:
        """After the actor stopped: finish a running save, write the last one, release all."""
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sync_future is not None:
            await asyncio.gather(self._sync_future, return_exceptions=True)
        try:
            # The actor has stopped, so no turn can run: the store may touch the state itself.
            job = self._try_capture(self.state)
            if job is not None:
                await self.saver.finish(job)
        finally:
            self.journal.close()
            if self._sync_pool is not None:
                self._sync_pool.shutdown(wait=True)
            release_lock(self._lock_fd)

    async def _save_forever(self, actor: Actor) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            if self._stopping.is_set() or not actor.running:
                return
            try:
                await self.save(actor)
            except Exception:  # a failed save keeps the old files; the next one tries again
                log.exception("snapshot attempt failed", extra={"event": "snapshot_failed"})

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
    data_dir = Path(settings.data_dir)
    check_data_dir(data_dir)
    lock_fd = take_lock(data_dir)
    try:
        rules = settings.rules
        recovered = recover(data_dir, rules, planet_names, settings.start_empty)
        try:
            journal = journal_mod.Journal(data_dir, recovered.next_segment, settings.fsync, rules)
        except OSError as error:
            raise StartupError(f"cannot write the journal in {data_dir}: {error}") from error
    except BaseException:
        release_lock(lock_fd)
        raise
    if len(recovered.state.players) >= FREEZE_AT:
        # A large loaded state lives as long as the process: keep the collector from walking
        # its millions of objects in every full collection: 0.7 s at 1M players.
        gc.freeze()
    saver = Saver(data_dir, journal, recovered)
    return Store(recovered.state, journal, saver, lock_fd, settings.snapshot_interval)


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


def take_lock(data_dir: Path) -> int:
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StartupError(f"DATA_DIR {data_dir} cannot be written: {error.strerror}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(
            f"DATA_DIR {data_dir} is in use by another server (its {LOCK_FILE} is locked)"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


__all__ = ["JournalError", "StartupError", "Store", "check_data_dir", "open_store"]
