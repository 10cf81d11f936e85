"""The journal: every accepted change since the last snapshot, appended before it is acknowledged.

The journal is a run of numbered segment files, ``journal-<n>.log``. A snapshot is taken between
two actor turns and at that moment the journal moves on to a new segment, so the snapshot holds
exactly the changes of the segments before it; those are deleted only once they are no longer
needed by any snapshot on disk (see ``saver.py``). Layout of a segment::

    "CTBJRNL\\0"  frame(header map: format, segment, rules)  frame(turn)  frame(turn) ...
    frame = u32 payload length, u32 crc32 of payload, msgpack payload
    turn = array of records (segments written before turns were framed whole: one record)

A record is the command the actor applied, with its ``now``: a typed command of
``engine/command_types.py``, encoded by msgspec as the msgpack map ``{"op": ..., ..., "now": ...}``
(the same maps the journal held when commands were plain dicts, so older segments replay
unchanged). Records are decoded through the same models: one that does not fit its command, or
names an op no command has, is a corrupt record. The header's ``format`` says what a record
meant when it was written: a segment of format 1 was written before bulk jobs over a filter
tested it as their cursor went, so its ``admin_bulk_create`` records are read with ``walk``
false (the ids the filter matched at creation), as that server applied them; from format 3 a
frame holds a whole turn. The header keeps the rules in force when the segment was written, so
a replay after a crash throttles exactly as the live game did even when the settings changed in
between. The actor hands over one turn's records at a time (group commit); they are encoded as
one array in one frame (one length, one checksum) and go to the file in one ``os.write``: once
that returns, the records are in the kernel and survive ``kill -9``; the ``FSYNC`` setting
decides when they also survive a power loss (docs/persistence.md). A turn whose frame is torn
is lost whole, and none of it was acknowledged.
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import os
import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import msgspec

from engine.command_types import MUTATION, AdminBulkCreate, Command
from engine.rules import Rules
from persistence.data_dir import DataDir
from persistence.errors import JournalError

log = logging.getLogger("ctb.persistence")

MAGIC = b"CTBJRNL\x00"
FORMAT = 3  # 2: a bulk job over a filter tests it as its cursor goes (``walk``); 3: turn frames
FRAME = struct.Struct("<II")
SEGMENT_NAME = re.compile(r"journal-(\d{1,20})\.log")
ALWAYS, EVERYSEC, NO = "always", "everysec", "no"
PROBE_MIN, PROBE_MAX = 4096, 1 << 20  # bytes a probe writes after a failed write
_HEADER = msgspec.msgpack.Decoder(dict[str, Any])
_RECORD = msgspec.msgpack.Decoder(MUTATION | list[MUTATION])  # a turn, or an older lone record


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte: ``os.write`` may take fewer than it was given."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def segment_name(segment: int) -> str:
    return f"journal-{segment:012d}.log"


def list_segments(data_dir: DataDir) -> list[tuple[int, str]]:
    """The segment files in the directory, oldest first."""
    found = []
    for name in data_dir.names():
        match = SEGMENT_NAME.fullmatch(name)
        if match:
            found.append((int(match.group(1)), name))
    return sorted(found)


def frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


@dataclasses.dataclass(slots=True)
class Pending:
    """What the sync thread must make durable: taken in the loop thread, synced in the thread."""

    fd: int | None
    retired: list[int]
    directory: bool


class Journal:
    """The writer of the current segment. Only the event loop's thread calls it, except for
    ``sync_pending``, which runs in the store's sync thread on what ``take_pending`` handed over.
    """

    def __init__(self, data_dir: DataDir, segment: int, fsync: str, rules: Rules) -> None:
        if fsync not in (ALWAYS, EVERYSEC, NO):
            raise ValueError(f"FSYNC must be always, everysec or no, got {fsync!r}")
        self.data_dir = data_dir
        self.fsync = fsync
        self._rules = dataclasses.asdict(rules)
        self._encoder = msgspec.msgpack.Encoder()
        self.segment = 0
        self._fd = -1
        self._size = 0
        self._unsynced = False
        self._dir_unsynced = False
        self._retired: list[int] = []  # old segments' descriptors waiting for their last fsync
        self.failure: str | None = None  # set when durability is in doubt; appends then refuse
        self.last_error: str | None = (
            None  # the last write failed (disk full): cleared by a good one, or by ``probe``
        )
        self._failed_bytes = 0  # the size of the write that failed last
        self.appends = 0
        self.records = 0
        self._open(segment)

    def _open(self, segment: int) -> None:
        name = segment_name(segment)
        fd = self.data_dir.open_fd(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)
        header = {"format": FORMAT, "segment": segment, "rules": self._rules, "at": time.time()}
        data = MAGIC + frame(self._encoder.encode(header))
        try:
            os.write(fd, data)
        except OSError:
            os.close(fd)
            self.data_dir.unlink(name, missing_ok=True)
            raise
        self._fd, self.segment, self._size = fd, segment, len(data)
        self._dir_unsynced = True

    def append(self, records: list[Command]) -> None:
        """Write one turn's records as one frame in one ``os.write``; raise JournalError if they
        are not safe.

        The actor writes ahead: it applies none of the records unless this returns. A failed
        write is cut off again, so the segment ends with the last good turn and the next write
        starts clean; nothing waits in memory for a later write.
        """
        if self.failure is not None:
            raise JournalError(f"the journal is not writable: {self.failure}")
        if not records:
            return
        try:
            data = frame(self._encoder.encode(records))
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as error:
            raise JournalError(f"a record cannot be encoded: {error}") from error
        try:
            _write_all(self._fd, data)
        except OSError as error:
            self._rollback()
            self.last_error = str(error)
            self._failed_bytes = len(data)
            raise JournalError(f"the journal write failed: {error}") from error
        self.last_error = None
        self._size += len(data)
        self.appends += 1
        self.records += len(records)
        if self.fsync == ALWAYS:
            self._sync_now()
        else:
            self._unsynced = True

    def probe(self) -> bool:
        """After a failed write: would a write of that size go through now? True if it would.

        Readiness waits for a good write, and a load balancer sends no writes to a server that
        is not ready, so the server asks the disk itself: it appends as many zero bytes as the
        failed turn needed (at least ``PROBE_MIN``) and cuts them off again at once, so the
        segment ends where it ended. A crash between the two leaves zeros after the last
        record, which start-up reads as a torn tail and cuts off. A good probe clears
        ``last_error``; it never clears ``failure`` (a failed fsync), which needs a restart.
        """
        if self.failure is not None or self.last_error is None:
            return self.failure is None
        try:
            _write_all(self._fd, bytes(min(max(self._failed_bytes, PROBE_MIN), PROBE_MAX)))
        except OSError as error:
            self._rollback()
            self.last_error = str(error)
            return False
        self._rollback()
        if self.failure is not None:
            return False
        self.last_error = None
        return True

    def _rollback(self) -> None:
        """Cut a partial write off, so no torn record sits before the next good one."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as error:
            self.failure = f"a partial write could not be cut off: {error}"

    def _sync_now(self) -> None:
        try:
            os.fsync(self._fd)
            if self._dir_unsynced:
                self.data_dir.sync()
                self._dir_unsynced = False
        except OSError as error:
            # After a failed fsync the kernel may have dropped the pages: nothing written since
            # the last good fsync is known to be on disk, so stop acknowledging.
            self.failure = f"fsync failed: {error}"
            raise JournalError(self.failure) from error

    def rotate(self) -> int:
        """Start the next segment; return its number, the first one a snapshot now would lack."""
        old = self._fd
        self._open(self.segment + 1)
        if self.fsync == EVERYSEC:
            self._retired.append(old)  # the sync thread may be using it: it closes it after
        else:
            os.close(old)  # ALWAYS: synced already; NO: nothing to sync
        return self.segment

    def take_pending(self) -> Pending | None:
        """Hand what is not yet durable to the sync thread (``everysec``)."""
        if not (self._unsynced or self._retired or self._dir_unsynced):
            return None
        pending = Pending(self._fd if self._unsynced else None, self._retired, self._dir_unsynced)
        self._unsynced, self._retired, self._dir_unsynced = False, [], False
        return pending

    def sync_pending(self, pending: Pending) -> None:
        """fsync (in the sync thread) what ``take_pending`` handed over; close retired segments."""
        try:
            for fd in pending.retired:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if pending.fd is not None:
                os.fsync(pending.fd)
            if pending.directory:
                self.data_dir.sync()
        except OSError as error:
            self.failure = f"fsync failed: {error}"
            log.error(
                "journal fsync failed; refusing further changes",
                extra={"event": "journal_fsync_failed", "error": str(error)},
            )

    def close(self) -> None:
        """Make everything durable (unless FSYNC=no) and close; call with no sync in flight."""
        pending = self.take_pending()
        if pending is not None and self.fsync != NO:
            self.sync_pending(pending)
        elif pending is not None:
            for fd in pending.retired:
                os.close(fd)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class SegmentReader:
    """Reads one segment, stopping at the first bad frame; says afterwards why it stopped.

    ``problem`` is None when the whole file was good, ``"torn"`` when the last write was cut
    short (a frame that runs past the end, or a bad last frame, or zeros to the end: what a
    crash or a power loss leaves), and ``"corrupt"`` when a bad frame has good data after it.
    """

    def __init__(self, data_dir: DataDir, name: str) -> None:
        self.data_dir = data_dir
        self.name = name
        self.size = 0
        self.good_end = 0
        self.problem: str | None = None
        self.detail = ""

    def frames(self) -> Iterator[Any]:
        """Yield the header map first (if the file has one), then each record (a typed command)
        in order."""
        with self.data_dir.open_file(self.name, "rb") as f:
            size = self.size = os.fstat(f.fileno()).st_size
            if size == 0:
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                yield from self._parse(mm, size)

    def _parse(self, mm: mmap.mmap, size: int) -> Iterator[Any]:
        head = mm[: min(size, len(MAGIC))]
        if head != MAGIC:
            cut = size < len(MAGIC) and MAGIC.startswith(head)
            if cut or not mm[:size].strip(b"\0"):
                self._stop(mm, 0, "torn", "the segment head is cut short")
            else:
                self._stop(mm, 0, "corrupt", "not a journal segment (bad magic)")
            return
        pos = len(MAGIC)
        index = 0
        written_as = FORMAT
        while pos < size:
            if size - pos < FRAME.size:
                self._stop(mm, pos, "torn", "a frame head is cut short")
                return
            length, crc = FRAME.unpack_from(mm, pos)
            end = pos + FRAME.size + length
            if end > size:
                self._stop(mm, pos, "torn", "the last record is cut short")
                return
            payload = mm[pos + FRAME.size : end]
            if length == 0 or zlib.crc32(payload) != crc:
                self._stop(mm, pos, "bad", "a record fails its checksum")
                return
            try:
                obj = (_RECORD if index else _HEADER).decode(payload)
            except msgspec.ValidationError as error:  # decodes, but fits no command (or header)
                what = "a record is not a command" if index else "the header is not a map"
                self._stop(mm, pos, "corrupt", f"{what} ({error})")
                return
            except msgspec.DecodeError as error:
                self._stop(mm, pos, "corrupt", f"a record does not decode ({error})")
                return
            self.good_end = end
            pos = end
            if index == 0:
                written_as = obj.get("format", 1)
            elif written_as < 2 and type(obj) is AdminBulkCreate:
                obj = msgspec.structs.replace(obj, walk=False)
            index += 1
            if type(obj) is list:
                yield from obj
            else:
                yield obj
        self.good_end = size

    def _stop(self, mm: mmap.mmap, pos: int, problem: str, detail: str) -> None:
        """Record where reading stopped; a bad frame with only zeros after it is a torn tail."""
        self.good_end = pos
        if problem == "bad":
            length = FRAME.unpack_from(mm, pos)[0]
            last = pos + FRAME.size + length == self.size
            problem = "torn" if last or not mm[pos : self.size].strip(b"\0") else "corrupt"
        self.problem = problem
        self.detail = f"{detail} at byte {pos}"
