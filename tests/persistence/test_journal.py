"""The journal: one framed write per turn, fsync policies, and how a damaged segment reads."""

from __future__ import annotations

import os
import resource
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings

from engine.command_types import Command, CreatePlayer, Push, Tick, parse
from persistence import journal as journal_mod
from persistence.data_dir import DataDir
from persistence.errors import JournalError
from persistence.journal import Journal, SegmentReader
from tests.conftest import run_in_child
from tests.persistence.conftest import frame_payloads, segment_path
from tests.persistence.games import RULES, games, play

RECORDS: list[Command] = [
    Push(player_id="a", batch_id=f"b{i}", clicks=[i + 1], now=1.5) for i in range(5)
]


def read(path: Path) -> tuple[SegmentReader, Any, list[Command]]:
    with DataDir.open(path.parent) as data_dir:
        reader = SegmentReader(data_dir, path.name)
        frames = list(reader.frames())
    return reader, frames[0] if frames else None, frames[1:]


def test_records_come_back_in_order_after_the_header_with_the_rules(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """A segment holds a header with the rules, then each turn's records in order."""
    journal = Journal(data_dir, 1, "no", RULES)
    journal.append(RECORDS[:2])
    journal.append(RECORDS[2:])
    journal.close()
    reader, header, records = read(segment_path(tmp_path, 1))
    assert header["segment"] == 1 and header["rules"]["max_cps"] == RULES.max_cps
    assert records == RECORDS
    assert reader.problem is None and reader.good_end == reader.size


def test_a_turn_is_one_write(
    tmp_path: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: all of a turn's records reach the file in a single os.write."""
    journal = Journal(data_dir, 1, "no", RULES)
    writes = []
    real_write = os.write
    monkeypatch.setattr(
        os, "write", lambda fd, data: writes.append(len(data)) or real_write(fd, data)
    )
    journal.append(RECORDS)
    assert len(writes) == 1


def test_a_turn_is_one_frame_of_its_records(tmp_path: Path, data_dir: DataDir) -> None:
    """A turn's records go to the segment as one frame (one length, one checksum) holding them
    all in order, and read back one by one."""
    journal = Journal(data_dir, 1, "no", RULES)
    journal.append(RECORDS)
    journal.append(RECORDS[:1])
    journal.close()
    path = segment_path(tmp_path, 1)
    turns = [msgpack.unpackb(payload) for payload in frame_payloads(path)[1:]]
    assert [len(turn) for turn in turns] == [len(RECORDS), 1]
    assert [record["batch_id"] for record in turns[0]] == ["b0", "b1", "b2", "b3", "b4"]
    reader, _, records = read(path)
    assert records == [*RECORDS, RECORDS[0]] and reader.problem is None


def test_a_torn_turn_is_lost_whole(tmp_path: Path, data_dir: DataDir) -> None:
    """A turn whose frame was cut short gives none of its records back: the actor acknowledged
    none of them, since it answers only after the write returned."""
    journal = Journal(data_dir, 1, "no", RULES)
    journal.append(RECORDS[:2])
    journal.append(RECORDS[2:])
    journal.close()
    path = segment_path(tmp_path, 1)
    path.write_bytes(path.read_bytes()[:-3])
    reader, _, records = read(path)
    assert reader.problem == "torn" and records == RECORDS[:2]


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every descriptor os.fsync is called on, in order."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    return synced


def test_fsync_always_syncs_in_every_append(
    tmp_path: Path, data_dir: DataDir, fsyncs: list[int]
) -> None:
    """FSYNC=always: each append returns only after an fsync of the segment."""
    journal = Journal(data_dir, 1, "always", RULES)
    fd = journal._fd
    for record in RECORDS:
        journal.append([record])
    assert fsyncs.count(fd) == len(RECORDS)
    journal.close()


def test_fsync_everysec_leaves_the_sync_to_the_thread(
    tmp_path: Path, data_dir: DataDir, fsyncs: list[int]
) -> None:
    """FSYNC=everysec: appends never fsync; what they wrote is handed to the sync thread."""
    journal = Journal(data_dir, 1, "everysec", RULES)
    fd = journal._fd
    for record in RECORDS:
        journal.append([record])
    assert fsyncs == []
    pending = journal.take_pending()
    assert pending is not None and pending.fd == fd and pending.directory
    journal.sync_pending(pending)
    assert fd in fsyncs
    assert journal.take_pending() is None  # nothing new since
    journal.close()


def test_fsync_no_never_syncs(tmp_path: Path, data_dir: DataDir, fsyncs: list[int]) -> None:
    """FSYNC=no: not in appends, not at rotation, not at close."""
    journal = Journal(data_dir, 1, "no", RULES)
    journal.append(RECORDS[:2])
    journal.rotate()
    journal.append(RECORDS[2:])
    journal.close()
    assert fsyncs == []


def test_everysec_keeps_a_rotated_segment_open_until_it_is_synced(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """A segment left behind by rotation is synced and closed by the sync thread, not before."""
    journal = Journal(data_dir, 1, "everysec", RULES)
    journal.append(RECORDS[:1])
    old_fd = journal._fd
    assert journal.rotate() == 2
    os.fstat(old_fd)  # still open
    pending = journal.take_pending()
    assert pending is not None and pending.retired == [old_fd]
    journal.sync_pending(pending)
    with pytest.raises(OSError):
        os.fstat(old_fd)
    journal.close()
    assert segment_path(tmp_path, 2).exists()


def limited_writes(
    tmp_path: Path, data_dir: DataDir, steps: Callable[[Journal, Callable[[], None]], str]
) -> str:
    """Run ``steps`` in a child process whose files may not grow past the first record.

    The limit is the kernel's (RLIMIT_FSIZE): a write that crosses it is cut short and the next
    one fails with EFBIG, as a full disk cuts a write short and then fails with ENOSPC. The
    child gets a function that lifts the limit.
    """

    def scenario() -> str:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the failed write is the report we want
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        journal = Journal(data_dir, 1, "no", RULES)
        journal.append(RECORDS[:1])
        size = segment_path(tmp_path, 1).stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 20, hard))  # room for part of a frame
        return steps(journal, lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard)))

    return run_in_child(scenario)


def attempt(journal: Journal, records: list[Command]) -> str:
    try:
        journal.append(records)
    except JournalError as error:
        return f"refused: {error}"
    return "written"


def test_a_failed_write_is_cut_off_and_forgotten(tmp_path: Path, data_dir: DataDir) -> None:
    """A write the kernel cuts short leaves no partial record behind and nothing waiting: the
    actor applied none of its records, so the next write that succeeds holds only its own."""

    def steps(journal: Journal, lift: Callable[[], None]) -> str:
        size = segment_path(tmp_path, 1).stat().st_size
        outcomes = [attempt(journal, RECORDS[1:4])]
        outcomes.append(f"problem {journal.last_error is not None}")
        kept = segment_path(tmp_path, 1).stat().st_size == size
        outcomes.append(f"size {'kept' if kept else 'changed'}")
        lift()
        outcomes.append(attempt(journal, RECORDS[4:]))
        outcomes.append(f"problem {journal.last_error is not None}")
        journal.close()
        return " | ".join(outcomes)

    outcomes = limited_writes(tmp_path, data_dir, steps).split(" | ")
    assert outcomes[0].startswith("refused: the journal write failed")
    assert "File too large" in outcomes[0]
    assert outcomes[1:] == ["problem True", "size kept", "written", "problem False"]
    reader, _, records = read(segment_path(tmp_path, 1))
    assert reader.problem is None
    assert records == RECORDS[:1] + RECORDS[4:]


def test_a_probe_finds_room_again_and_leaves_the_segment_as_it_was(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """After a failed write, a probe fails while the disk still refuses a write of that size and
    succeeds once it has room, clearing the error; the segment keeps exactly its records."""

    def steps(journal: Journal, lift: Callable[[], None]) -> str:
        size = segment_path(tmp_path, 1).stat().st_size
        outcomes = [attempt(journal, RECORDS[1:4])]
        outcomes.append(f"probe {journal.probe()}, problem {journal.last_error is not None}")
        lift()
        outcomes.append(f"probe {journal.probe()}, problem {journal.last_error is not None}")
        kept = segment_path(tmp_path, 1).stat().st_size == size
        outcomes.append(f"size {'kept' if kept else 'changed'}")
        outcomes.append(attempt(journal, RECORDS[4:]))
        journal.close()
        return " | ".join(outcomes)

    outcomes = limited_writes(tmp_path, data_dir, steps).split(" | ")
    assert outcomes[0].startswith("refused: the journal write failed")
    assert outcomes[1:] == [
        "probe False, problem True",
        "probe True, problem False",
        "size kept",
        "written",
    ]
    reader, _, records = read(segment_path(tmp_path, 1))
    assert reader.problem is None
    assert records == RECORDS[:1] + RECORDS[4:]


def test_an_empty_turn_writes_nothing(tmp_path: Path, data_dir: DataDir) -> None:
    """A turn without records costs no write."""
    journal = Journal(data_dir, 1, "always", RULES)
    size = segment_path(tmp_path, 1).stat().st_size
    journal.append([])
    assert (segment_path(tmp_path, 1).stat().st_size, journal.appends) == (size, 0)
    journal.close()


def test_a_record_that_cannot_be_encoded_writes_nothing(tmp_path: Path, data_dir: DataDir) -> None:
    """An unencodable record refuses the whole turn before anything is written."""
    journal = Journal(data_dir, 1, "no", RULES)
    size = segment_path(tmp_path, 1).stat().st_size
    with pytest.raises(JournalError, match="encoded"):
        journal.append([RECORDS[0], Push(player_id="a", batch_id="b", clicks=[object()])])
    assert segment_path(tmp_path, 1).stat().st_size == size


def test_after_a_failed_fsync_appends_are_refused(
    tmp_path: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once an fsync failed, durability is unknown: every later append raises JournalError."""
    journal = Journal(data_dir, 1, "always", RULES)

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(JournalError, match="fsync"):
        journal.append(RECORDS[:1])
    monkeypatch.undo()
    with pytest.raises(JournalError, match="not writable"):
        journal.append(RECORDS[1:2])
    journal.close()


def written(tmp_path: Path, data_dir: DataDir) -> Path:
    journal = Journal(data_dir, 1, "no", RULES)
    for record in RECORDS:
        journal.append([record])
    journal.close()
    return segment_path(tmp_path, 1)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-3],  # the last record cut short
        lambda data: data[: -len(journal_mod.frame(b"x" * 40)) + 5],  # a frame head cut short
        lambda data: data + b"\0" * 300,  # a power loss leaves zeros after the last write
        lambda data: data[:-2] + b"\xff\xff",  # the last record's bytes went bad
    ],
    ids=["cut-record", "cut-head", "zeros", "bad-last"],
)
def test_a_torn_tail_is_told_apart_from_damage(tmp_path: Path, data_dir: DataDir, damage) -> None:
    """What a crash leaves at the end reads as torn, with every record before it intact."""
    path = written(tmp_path, data_dir)
    path.write_bytes(damage(path.read_bytes()))
    reader, _, records = read(path)
    assert reader.problem == "torn"
    assert records == RECORDS[: len(records)] and len(records) >= 3


def test_damage_in_the_middle_is_corrupt(tmp_path: Path, data_dir: DataDir) -> None:
    """A bad record with good records after it is corruption, not a torn tail."""
    path = written(tmp_path, data_dir)
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF
    path.write_bytes(bytes(data))
    reader, _, records = read(path)
    assert reader.problem == "corrupt"
    assert records == RECORDS[: len(records)]


def test_a_file_that_is_no_segment_is_corrupt(tmp_path: Path) -> None:
    """A segment without the journal's magic is refused as corrupt."""
    path = segment_path(tmp_path, 1)
    path.write_bytes(b"this is not a journal segment at all")
    reader, header, _ = read(path)
    assert (reader.problem, header) == ("corrupt", None)


def dict_segment(path: Path, records: list[dict[str, Any]]) -> None:
    """A segment as the journal wrote it when commands were plain dicts (msgpack's Packer)."""
    packer = msgpack.Packer()
    header = {"format": 1, "segment": 1, "rules": {"max_cps": RULES.max_cps}, "at": 1.0}
    frames = [journal_mod.frame(packer.pack(item)) for item in [header, *records]]
    path.write_bytes(journal_mod.MAGIC + b"".join(frames))


def test_a_segment_of_plain_dicts_reads_as_typed_commands(tmp_path: Path) -> None:
    """Records written as command dicts before the typed models read back as those commands,
    with their time, so an upgraded server replays the segments it finds."""
    path = segment_path(tmp_path, 1)
    dict_segment(
        path,
        [
            {"op": "tick", "now": 1.0},
            {"op": "create_player", "player_id": "a", "name": None, "now": 2},
            {"op": "push", "player_id": "a", "batch_id": "b1", "clicks": [5, 3], "now": 2.5},
        ],
    )
    reader, header, records = read(path)
    assert reader.problem is None and header["rules"] == {"max_cps": RULES.max_cps}
    assert records == [
        Tick(now=1.0),
        CreatePlayer(player_id="a", now=2.0),
        Push(player_id="a", batch_id="b1", clicks=[5, 3], now=2.5),
    ]


@pytest.mark.parametrize(
    ("misfit", "named"),
    [
        ({"op": "push", "player_id": 7, "batch_id": "b", "clicks": [1], "now": 1.0}, "player_id"),
        ({"op": "push", "player_id": "a", "batch_id": "b", "now": 1.0}, "clicks"),
        ({"op": "explode", "now": 1.0}, "op"),
        ({"op": "me", "player_id": "a", "now": 1.0}, "op"),  # a query is never journaled
        ({"player_id": "a", "now": 1.0}, "op"),
        ([1, 2, 3], "$[0]"),  # an array is a turn: its first record is no command
    ],
)
def test_a_record_that_fits_no_command_is_corrupt(tmp_path: Path, misfit: Any, named: str) -> None:
    """A record that decodes but is no command (a wrong type, a missing field, an unknown op)
    stops the reading there as corruption, and the reason names what is wrong."""
    path = segment_path(tmp_path, 1)
    good = {"op": "tick", "now": 1.0}
    dict_segment(path, [good, misfit, good])
    reader, _, records = read(path)
    assert records == [Tick(now=1.0)]
    assert reader.problem == "corrupt"
    assert "a record is not a command" in reader.detail and named in reader.detail


@settings(max_examples=30, deadline=None)
@given(games)
def test_every_command_a_game_journals_reads_back_equal(moves) -> None:
    """What the journal writes for a game's commands reads back as the same typed commands."""
    _, records, _ = play(moves)
    typed = [parse(record) for record in records]
    with tempfile.TemporaryDirectory() as name:
        with DataDir.open(Path(name)) as data_dir:
            journal = Journal(data_dir, 1, "no", RULES)
            journal.append(typed)
            journal.close()
        reader, _, read_back = read(segment_path(Path(name), 1))
    assert reader.problem is None and read_back == typed
