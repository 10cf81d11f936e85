"""DATA_DIR held by a descriptor: every file the server keeps there is named relative to it.

A path is looked up again at every use: after ``mv DATA_DIR DATA_DIR-moved; mkdir DATA_DIR``,
``DATA_DIR/snapshot.bin`` names a file of the new directory, where a second server may have
started, while this server's lock (``lock.py``) still holds the old one. So the directory is
opened once, the lock is taken on that descriptor, and from then on every open, rename, delete
and directory fsync goes through it (``openat``, ``renameat``, ``unlinkat``, ``fsync`` of the
descriptor): whatever is done to the path, a server writes the one directory it locked and no
other, and no other server writes it. The path is kept only for messages and for ``moved``,
which tells the operator when the path no longer leads to the directory held.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal, overload

FILE_MODE = 0o600
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class DataDir:
    """One open directory; names given to its methods are file names inside it."""

    __slots__ = ("fd", "path")

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open(cls, path: Path) -> DataDir:
        """Open the directory ``path`` names now; OSError if it cannot be."""
        return cls(os.open(path, _DIR_FLAGS), Path(path))

    def reopen(self) -> DataDir:
        """A new descriptor of the same directory, found through this one, not through the path.

        It shares nothing with this descriptor, the lock included: the snapshot child writes
        through it after closing everything the parent holds.
        """
        return DataDir(os.open(".", _DIR_FLAGS, dir_fd=self.fd), self.path)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> DataDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self, name: str) -> Path:
        """The path of ``name`` as the operator knows the directory (for messages only)."""
        return self.path / name

    # -- what is in it ----------------------------------------------------------------------

    def names(self) -> list[str]:
        return os.listdir(self.fd)

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def size(self, name: str) -> int:
        return os.stat(name, dir_fd=self.fd).st_size

    # -- opening, renaming, deleting --------------------------------------------------------

    def open_fd(self, name: str, flags: int, mode: int = FILE_MODE) -> int:
        return os.open(name, flags | os.O_CLOEXEC, mode, dir_fd=self.fd)

    @overload
    def open_file(self, name: str, mode: Literal["rb"], buffering: Literal[0]) -> io.FileIO: ...

    @overload
    def open_file(self, name: str, mode: str, buffering: int = -1) -> IO[Any]: ...

    def open_file(self, name: str, mode: str, buffering: int = -1) -> IO[Any]:
        """``open(name, mode)`` inside the directory; files it creates get mode 0600."""
        opener: Callable[[str, int], int] = self.open_fd
        return open(name, mode, buffering=buffering, opener=opener)

    def rename(self, source: str, target: str) -> None:
        """Rename within the directory; an existing ``target`` is replaced (POSIX rename)."""
        os.rename(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str, missing_ok: bool = False) -> None:
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def sync(self) -> None:
        """Make new names, renames and deletions durable (POSIX: fsync the directory)."""
        os.fsync(self.fd)

    # -- is the path still this directory? --------------------------------------------------

    def moved(self) -> str | None:
        """Why ``path`` no longer leads to the directory held, or None while it does.

        Compares the device and inode the path names now with the descriptor's: a ``mv``, a
        directory made in its place, or a bind mount over it all change them.
        """
        try:
            now = os.stat(self.path)
        except OSError as error:
            return f"DATA_DIR {self.path} cannot be reached ({error.strerror or error})"
        held = os.fstat(self.fd)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            return (
                f"DATA_DIR {self.path} is no longer the directory this server holds "
                "(moved, replaced or mounted over)"
            )
        return None
