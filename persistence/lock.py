"""One data directory, one server: an ``flock`` on the directory itself (SPEC §7).

Two servers on one directory would write the same journal segments and move each other's files
aside. A lock on a file inside the directory is not enough: once someone deletes or replaces
that file, a second server locks a new file of the same name and starts beside the first. The
directory cannot be swapped under a running server without moving all its data with it, so the
lock is taken on the directory's own inode. ``ctb.lock`` still names the server's pid for the
operator; it is information, not the lock, and removing it changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from persistence.errors import StartupError

LOCK_FILE = "ctb.lock"


def take_lock(data_dir: Path) -> int:
    """Lock ``data_dir`` for this process; return the descriptor that holds the lock.

    The lock lasts as long as the descriptor is open; the kernel drops it when the process
    dies, however it dies, so a crash never leaves a stale lock behind.
    """
    try:
        fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise StartupError(f"DATA_DIR {data_dir} cannot be used: {error.strerror}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(
            f"DATA_DIR {data_dir} is in use by another server{_holder(data_dir)}"
        ) from None
    try:
        _write_pid(data_dir / LOCK_FILE)
    except OSError as error:
        os.close(fd)
        raise StartupError(f"DATA_DIR {data_dir} cannot be written: {error.strerror}") from error
    return fd


def release_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _write_pid(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)


def _holder(data_dir: Path) -> str:
    """The pid the running server wrote, for the message; nothing if it cannot be read."""
    try:
        pid = (data_dir / LOCK_FILE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
