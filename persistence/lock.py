"""One data directory, one server: an ``flock`` on the directory itself (SPEC §7).

Two servers on one directory would write the same journal segments and move each other's files
aside. A lock on a file inside the directory is not enough: once someone deletes or replaces
that file, a second server locks a new file of the same name and starts beside the first. So
the lock is taken on the directory's own descriptor, and that descriptor (``data_dir.py``) is
the only way the server reaches its files from then on: moving or replacing the directory's
path changes neither which directory is locked nor which one is written. ``ctb.lock`` still
names the server's pid for the operator; it is information, not the lock, and removing it
changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from persistence.data_dir import DataDir
from persistence.errors import StartupError

LOCK_FILE = "ctb.lock"


def take_lock(path: Path) -> DataDir:
    """Open and lock the directory ``path`` names; return it, held until ``release_lock``.

    The lock lasts as long as the descriptor is open; the kernel drops it when the process
    dies, however it dies, so a crash never leaves a stale lock behind.
    """
    try:
        data_dir = DataDir.open(path)
    except OSError as error:
        raise StartupError(f"DATA_DIR {path} cannot be used: {error.strerror}") from error
    try:
        fcntl.flock(data_dir.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(data_dir)
        data_dir.close()
        raise StartupError(f"DATA_DIR {path} is in use by another server{holder}") from None
    try:
        _write_pid(data_dir)
    except OSError as error:
        data_dir.close()
        raise StartupError(f"DATA_DIR {path} cannot be written: {error.strerror}") from error
    return data_dir


def release_lock(data_dir: DataDir) -> None:
    data_dir.close()


def _write_pid(data_dir: DataDir) -> None:
    fd = data_dir.open_fd(LOCK_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)


def _holder(data_dir: DataDir) -> str:
    """The pid the running server wrote, for the message; nothing if it cannot be read."""
    pid = ""
    with contextlib.suppress(OSError, UnicodeDecodeError), data_dir.open_file(LOCK_FILE, "r") as f:
        pid = f.read().strip()
    return f" (pid {pid})" if pid.isdigit() else ""
