"""The snapshot file: one flat file holding the whole game state (SPEC §7), as Redis's RDB.

Layout::

    "CTBSNAP\\0"  u32 format          the head: what the file is and which layout it has
    msgpack stream                    codec.encode's objects, one after another
    u64 body length  u32 crc32  "END\\n"   the tail: a truncated or altered file fails here

The crc32 covers the head and the body. The head and the tail keep this layout in every format,
so a reader can always tell a damaged file from one written by a newer version.

Writing goes to a temporary file, which is fsynced, then renamed over ``snapshot.bin`` after the
old one was renamed to ``snapshot.prev.bin``, and the directory is fsynced: a crash at any point
leaves the old snapshot or the new one on disk, never half of one. On a failure the temporary
file is removed and the old snapshots stay as they were. Every name is resolved in the held
directory (``data_dir.py``), never through DATA_DIR's path.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import time
import zlib

import msgpack

from engine.rules import Rules
from engine.state import GameState
from persistence import codec
from persistence.data_dir import DataDir
from persistence.errors import CorruptFile, IncompatibleFile

MAGIC = b"CTBSNAP\x00"
FORMAT = 6  # 2: batch memory as ids and packed replies; 3: the slot on the player; 4: admin state;
# 5: a bulk job as its filter or ids and a cursor, never the list of every player it reaches;
# 6: ban records (reason, end) and name histories, two sections at the end.
# Format 3 is format 4 without the admin sections at its end, format 4 keeps each bulk job's
# target list (``codec`` turns it into ids or drops it), and format 5 is format 6 without its two
# last sections: a server upgraded in place loads all three.
READABLE = (3, 4, 5, FORMAT)
HEAD = struct.Struct("<8sI")
TAIL = struct.Struct("<QI4s")
END = b"END\n"
CURRENT = "snapshot.bin"
PREVIOUS = "snapshot.prev.bin"
TEMP_PREFIX = CURRENT + ".tmp-"
BUFFER = 1 << 20
# The writer's file buffer. The writer is the forked child (persistence/saver.py), where every
# page of a buffer is a fresh page counted on top of the server's while the child lives; the
# chunks it writes are mostly larger than this, and those go to the file without a copy.
WRITE_BUFFER = 64 * 1024


def temp_name(pid: int) -> str:
    """The temporary file of the process ``pid``: two writers never share one."""
    return f"{TEMP_PREFIX}{pid}"


def write(data_dir: DataDir, name: str, state: GameState, journal_next: int) -> int:
    """Write the state to a new file ``name`` and fsync it; return its size in bytes."""
    # Packed in place and written from the packer's own buffer: no bytes object a chunk (a
    # fresh allocation of up to a megabyte each in the child, at 64 remembered batches).
    packer = msgpack.Packer(autoreset=False)
    head = HEAD.pack(MAGIC, FORMAT)
    crc = zlib.crc32(head)
    length = 0
    fd = data_dir.open_fd(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with open(fd, "wb", buffering=WRITE_BUFFER) as out:
        out.write(head)
        for obj in codec.encode(state, journal_next, time.time()):
            packer.pack(obj)
            with packer.getbuffer() as data:
                crc = zlib.crc32(data, crc)
                length += len(data)
                out.write(data)
            packer.reset()
        out.write(TAIL.pack(length, crc, END))
        out.flush()
        os.fsync(out.fileno())
    return HEAD.size + length + TAIL.size


def save(data_dir: DataDir, state: GameState, journal_next: int) -> int:
    """Write, then install as the current snapshot keeping the old one as the previous."""
    tmp = temp_name(os.getpid())
    try:
        size = write(data_dir, tmp, state, journal_next)
        install(data_dir, tmp)
    except BaseException:
        data_dir.unlink(tmp, missing_ok=True)
        raise
    return size


def install(data_dir: DataDir, tmp: str) -> None:
    """Make ``tmp`` the current snapshot; the current one, if any, becomes the previous."""
    with contextlib.suppress(FileNotFoundError):
        data_dir.rename(CURRENT, PREVIOUS)
    data_dir.rename(tmp, CURRENT)
    data_dir.sync()


def read(data_dir: DataDir, name: str, rules: Rules) -> tuple[GameState, codec.Meta]:
    """Check the head, the tail and the checksum, then decode; raise CorruptFile if any fails."""
    path = data_dir.where(name)
    with data_dir.open_file(name, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size < HEAD.size + TAIL.size:
            raise CorruptFile(path, f"truncated: {size} bytes")
        head = f.read(HEAD.size)
        magic, version = HEAD.unpack(head)
        if magic != MAGIC:
            raise CorruptFile(path, "not a snapshot (bad magic)")
        f.seek(size - TAIL.size)
        length, crc, end = TAIL.unpack(f.read(TAIL.size))
        if end != END or length != size - HEAD.size - TAIL.size:
            raise CorruptFile(path, "truncated or extended (the tail does not match its size)")
        f.seek(HEAD.size)
        if _crc(f, length, zlib.crc32(head)) != crc:
            raise CorruptFile(path, "checksum mismatch")
        if version not in READABLE:  # checked after the checksum: a flipped bit is damage
            raise IncompatibleFile(
                f"{path} has snapshot format {version}; this version reads formats "
                + ", ".join(map(str, READABLE))
            )
        f.seek(HEAD.size)
        body = _Bounded(f, length)
        unpacker = msgpack.Unpacker(
            body, read_size=BUFFER, max_buffer_size=max(length, BUFFER), strict_map_key=False
        )
        try:
            return codec.decode(iter(unpacker), rules)
        except IncompatibleFile:
            raise
        except Exception as error:  # the checksum held, so the writer was wrong: still unusable
            raise CorruptFile(path, f"does not decode: {type(error).__name__}: {error}") from None


def _crc(f: io.FileIO, length: int, crc: int) -> int:
    remaining = length
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    while remaining:
        n = f.readinto(view[: min(BUFFER, remaining)])
        if not n:
            break
        crc = zlib.crc32(view[:n], crc)
        remaining -= n
    return crc


class _Bounded:
    """A reader that stops at the end of the body, so the tail is never read as msgpack."""

    __slots__ = ("_f", "_left")

    def __init__(self, f: io.FileIO, length: int) -> None:
        self._f = f
        self._left = length

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        data = self._f.read(n) or b""
        self._left -= len(data)
        return data
