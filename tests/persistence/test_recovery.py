"""Start-up: the newest valid snapshot plus the journal after it, and what damage does (SPEC §7)."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules import Rules
from engine.state import GameState
from persistence import journal as journal_mod
from persistence import snapshot
from persistence.data_dir import DataDir
from persistence.errors import StartupError
from persistence.journal import Journal
from persistence.recovery import recover
from tests.conftest import apply_command
from tests.persistence.conftest import segment_path
from tests.persistence.games import PLANETS, RULES, full_print, games, play


def pushes(first: int, count: int) -> list[tuple[float, dict[str, Any]]]:
    return [
        (0.6, {"op": "push", "player_id": f"p{i % 3}", "batch_id": f"b{first + i}", "clicks": [2]})
        for i in range(count)
    ]


JOINS = [(0.0, {"op": "create_player", "player_id": f"p{i}", "name": None}) for i in range(3)]


def append_turns(journal: Journal, records: list[Any]) -> None:
    """Each record a turn of its own (one frame each), as pushes a while apart are written."""
    for record in records:
        journal.append([record])


class Scenario:
    """A data directory written the way the store writes it: three segments, two snapshots."""

    def __init__(self, path: Path, data_dir: DataDir, delete_covered: bool = True) -> None:
        self.path = path
        journal = Journal(data_dir, 1, "no", RULES)
        state, records, now = play(JOINS + pushes(0, 6))
        append_turns(journal, records)
        snapshot.save(data_dir, state, journal.rotate())  # covers segment 1
        state, records, now = play(pushes(100, 6), state, now)
        append_turns(journal, records)
        snapshot.save(data_dir, state, journal.rotate())  # covers segments 1 and 2
        if delete_covered:  # both snapshots contain segment 1: the saver deletes it
            segment_path(path, 1).unlink()
        state, records, now = play(pushes(200, 6), state, now)
        append_turns(journal, records)
        journal.close()
        self.state, self.last_records, self.now = state, records, now

    def files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.path.iterdir())}


def load(data_dir: DataDir, start_empty: bool = False, rules: Rules = RULES) -> GameState:
    return recover(data_dir, rules, PLANETS, start_empty).state


def flip(path: Path, at: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def aside(data_dir: Path, kind: str) -> list[str]:
    return sorted(p.name for p in data_dir.iterdir() if f".{kind}-" in p.name)


def test_an_empty_directory_is_a_first_start(tmp_path: Path, data_dir: DataDir) -> None:
    """No files at all: a new game, nothing to replay, nothing refused."""
    result = recover(data_dir, RULES, PLANETS, False)
    assert result.state.players == {} and result.next_segment == 1


def test_a_new_game_never_writes_the_segment_number_a_kept_file_carries(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """A directory holding only a kept torn tail starts a new game saved as a snapshot, whose
    journal starts at the segment after the tail's, so no name is used twice."""
    torn = tmp_path / (segment_path(tmp_path, 1).name + ".torn-20250101T000000Z")
    torn.write_bytes(b"the bytes of a cut record")
    result = recover(data_dir, RULES, PLANETS, False)
    assert result.state.players == {} and result.next_segment == 2
    assert snapshot.read(data_dir, snapshot.CURRENT, RULES)[1].journal_next == 2
    assert torn.read_bytes() == b"the bytes of a cut record"


def test_the_snapshot_and_the_journal_after_it_rebuild_the_last_state(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """The current snapshot plus the last segment give the state as it was at the crash."""
    scenario = Scenario(tmp_path, data_dir)
    result = recover(data_dir, RULES, PLANETS, False)
    assert full_print(result.state) == full_print(scenario.state)
    assert result.replayed == len(scenario.last_records)
    assert result.next_segment == 4


def test_a_corrupt_snapshot_is_moved_aside_and_the_previous_one_used(
    tmp_path: Path, data_dir: DataDir, caplog: pytest.LogCaptureFixture
) -> None:
    """A flipped byte in snapshot.bin: it is renamed aside, named in the log, and the previous
    snapshot with the two segments after it gives the same final state."""
    scenario = Scenario(tmp_path, data_dir)
    flip(tmp_path / snapshot.CURRENT)
    damaged = (tmp_path / snapshot.CURRENT).read_bytes()
    with caplog.at_level(logging.ERROR, "ctb.persistence"):
        state = load(data_dir)
    assert full_print(state) == full_print(scenario.state)
    [moved] = aside(tmp_path, "corrupt")
    assert moved.startswith("snapshot.bin.corrupt-")
    assert (tmp_path / moved).read_bytes() == damaged
    assert any(getattr(r, "to", None) == moved for r in caplog.records)


@pytest.mark.parametrize("name", [snapshot.CURRENT, snapshot.PREVIOUS])
def test_a_truncated_snapshot_falls_back_without_losing_a_change(
    tmp_path: Path, data_dir: DataDir, name: str
) -> None:
    """Either snapshot cut in half still leaves a complete state from the other and the journal."""
    scenario = Scenario(tmp_path, data_dir)
    path = tmp_path / name
    path.write_bytes(path.read_bytes()[:100])
    assert full_print(load(data_dir)) == full_print(scenario.state)


def test_a_missing_snapshot_falls_back_to_the_previous_one(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """With snapshot.bin gone, the previous snapshot and the journal give the same state."""
    scenario = Scenario(tmp_path, data_dir)
    (tmp_path / snapshot.CURRENT).unlink()
    assert full_print(load(data_dir)) == full_print(scenario.state)


def test_without_snapshots_a_journal_from_its_first_segment_is_replayed(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """Both snapshots gone but every segment kept: the whole journal rebuilds the state."""
    scenario = Scenario(tmp_path, data_dir, delete_covered=False)
    (tmp_path / snapshot.CURRENT).unlink()
    (tmp_path / snapshot.PREVIOUS).unlink()
    assert full_print(load(data_dir)) == full_print(scenario.state)


def test_no_valid_state_refuses_to_start_and_keeps_every_file(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """Both snapshots corrupt and the journal not reaching back: start-up refuses with a
    message naming the files and the flag, every byte is kept, and a second start refuses too."""
    scenario = Scenario(tmp_path, data_dir)
    flip(tmp_path / snapshot.CURRENT)
    flip(tmp_path / snapshot.PREVIOUS)
    before = sorted(scenario.files().values())
    with pytest.raises(StartupError, match="--start-empty") as refused:
        load(data_dir)
    assert "snapshot.bin" in str(refused.value) and "checksum" in str(refused.value)
    assert sorted(scenario.files().values()) == before
    assert len(aside(tmp_path, "corrupt")) == 2
    with pytest.raises(StartupError, match="moved aside by an earlier start: snapshot"):
        load(data_dir)


def test_start_empty_begins_a_new_game_and_keeps_the_old_files_aside(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """--start-empty with no valid state: an empty game, saved before it is served, whose
    journal starts above the numbers of the segments moved aside."""
    scenario = Scenario(tmp_path, data_dir)
    flip(tmp_path / snapshot.CURRENT)
    flip(tmp_path / snapshot.PREVIOUS)
    before = scenario.files()
    result = recover(data_dir, RULES, PLANETS, True)
    assert result.state.players == {}
    assert result.next_segment == 4 and journal_mod.list_segments(data_dir) == []
    after = scenario.files()
    assert after.pop(snapshot.CURRENT) not in before.values()  # the new game's snapshot
    assert sorted(after.values()) == sorted(before.values())  # every old byte kept, renamed
    assert len(aside(tmp_path, "unused")) == 2
    saved, meta = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    assert saved.players == {} and meta.journal_next == 4


def test_a_torn_last_record_is_cut_off_with_a_log_line(
    tmp_path: Path, data_dir: DataDir, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash in the middle of the last write: that record is dropped, the file truncated to
    the last good record, the cut bytes kept aside, and the log says so."""
    scenario = Scenario(tmp_path, data_dir)
    path = segment_path(tmp_path, 3)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    expected, _ = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    with caplog.at_level(logging.WARNING, "ctb.persistence"):
        result = recover(data_dir, RULES, PLANETS, False)
    assert result.replayed == len(scenario.last_records) - 1
    for record in scenario.last_records[:-1]:
        apply_command(expected, record)
    assert full_print(result.state) == full_print(expected)
    [cut] = [r for r in caplog.records if getattr(r, "event", None) == "journal_torn"]
    assert cut.file == path.name and cut.bytes > 0
    [kept] = aside(tmp_path, "torn")
    assert data.startswith(path.read_bytes() + (tmp_path / kept).read_bytes())
    again = recover(data_dir, RULES, PLANETS, False)
    assert full_print(again.state) == full_print(expected) and again.replayed == 0


def test_corruption_in_the_middle_of_a_segment_keeps_the_good_part_and_moves_the_rest(
    tmp_path: Path,
    data_dir: DataDir,
) -> None:
    """A bad record followed by good ones: the records before it are replayed, that segment
    and every later one are moved aside whole, and the journal goes on right after the snapshot."""
    scenario = Scenario(tmp_path, data_dir)
    later = Journal(data_dir, 4, "no", RULES)
    later.append([{"op": "tick", "now": scenario.now + 1}])
    later.close()
    path = segment_path(tmp_path, 3)
    flip(path, at=len(path.read_bytes()) // 2)
    result = recover(data_dir, RULES, PLANETS, False)
    assert 0 < result.replayed < len(scenario.last_records)
    assert sorted(result.moved_aside) == sorted(aside(tmp_path, "corrupt"))
    assert len(result.moved_aside) == 2
    assert journal_mod.list_segments(data_dir) == [(2, segment_path(tmp_path, 2).name)]
    assert result.next_segment == 5  # above segment 4, moved aside: no name is used twice


def test_an_earlier_segment_cut_short_is_a_gap_not_a_torn_tail(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """Only the last segment may have a torn tail: an earlier one cut short is replayed up to the
    cut, then it and the later segments are moved aside whole, never replayed over the gap."""
    scenario = Scenario(tmp_path, data_dir)
    later = Journal(data_dir, 4, "no", RULES)
    later.append([{"op": "create_player", "player_id": "late", "name": None, "now": scenario.now}])
    later.close()
    path = segment_path(tmp_path, 3)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    result = recover(data_dir, RULES, PLANETS, False)
    assert result.replayed == len(scenario.last_records) - 1 and "late" not in result.state.players
    assert [name.split(".log.")[0] for name in aside(tmp_path, "corrupt")] == [
        segment_path(tmp_path, 3).stem,
        segment_path(tmp_path, 4).stem,
    ]
    assert aside(tmp_path, "torn") == [] and result.tails_cut == 0
    [kept] = [name for name in result.moved_aside if name.startswith(path.name)]
    assert (tmp_path / kept).read_bytes() == data[:-5]


def crash_after_recovery(data_dir: DataDir, first: float) -> tuple[dict[str, Any], GameState]:
    """Recover, serve a new player and a push on the journal the store would open, stop as
    ``kill -9`` would (no snapshot), and recover again; return both states' prints."""
    result = recover(data_dir, RULES, PLANETS, False)
    journal = Journal(data_dir, result.next_segment, "no", RULES)
    served = [
        {"op": "create_player", "player_id": "new", "name": None, "now": first},
        {"op": "push", "player_id": "new", "batch_id": "n1", "clicks": [3], "now": first + 0.6},
    ]
    for record in served:
        apply_command(result.state, record)
    journal.append(served)
    journal.close()
    return full_print(result.state), load(data_dir)


@pytest.mark.parametrize("snapshot_too", [False, True], ids=["journal", "journal-and-snapshot"])
def test_what_a_recovery_rebuilt_is_on_disk_before_it_is_served(
    tmp_path: Path, data_dir: DataDir, snapshot_too: bool
) -> None:
    """A byte flipped in the middle of the last segment (and in snapshot.bin too): the recovered
    state is saved before serving and the journal goes on under a number no file carried, so a
    crash right after the start loses nothing the recovered server served."""
    scenario = Scenario(tmp_path, data_dir)
    path = segment_path(tmp_path, 3)
    flip(path, at=len(path.read_bytes()) // 2)
    if snapshot_too:
        flip(tmp_path / snapshot.CURRENT)
    served, again = crash_after_recovery(data_dir, scenario.now + 1)
    assert full_print(again) == served
    assert again.players["new"].score == 3 and len(again.players) == 4
    numbers = [int(n.split("-")[1].split(".")[0]) for n in os.listdir(tmp_path) if "journal" in n]
    assert sorted(numbers) == [2, 3, 4]  # 3 moved aside, 4 the one written after the recovery


def test_a_missing_segment_stops_replay_before_the_gap(tmp_path: Path, data_dir: DataDir) -> None:
    """Segments after a missing one are not applied to a state that lacks it: moved aside."""
    scenario = Scenario(tmp_path, data_dir)
    later = Journal(data_dir, 4, "no", RULES)
    later.append([{"op": "tick", "now": scenario.now + 1}])
    later.close()
    segment_path(tmp_path, 3).unlink()
    result = recover(data_dir, RULES, PLANETS, False)
    assert result.replayed == 0
    assert result.moved_aside == aside(tmp_path, "corrupt")
    assert aside(tmp_path, "corrupt")[0].startswith(segment_path(tmp_path, 4).name)


def test_replay_uses_the_rules_the_segment_was_written_under(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """Restarting with a lower MAX_CPS does not throttle clicks that were acknowledged before."""
    scenario = Scenario(tmp_path, data_dir)
    stricter = dataclasses.replace(RULES, max_cps=1, burst_seconds=1.0)
    state = load(data_dir, rules=stricter)
    assert state.rules == stricter
    expected = full_print(scenario.state)
    expected["rules"] = dataclasses.asdict(stricter)
    assert full_print(state) == expected


def test_a_stale_temporary_snapshot_is_removed(tmp_path: Path, data_dir: DataDir) -> None:
    """A temporary file left by a write that never finished is deleted; nothing else is."""
    scenario = Scenario(tmp_path, data_dir)
    (tmp_path / snapshot.temp_name(12345)).write_bytes(b"half a snapshot")
    before = scenario.files()
    load(data_dir)
    assert scenario.files() == {k: v for k, v in before.items() if ".tmp-" not in k}


@settings(max_examples=40, deadline=None)
@given(games, games, st.integers(0, 3))
def test_journal_replay_rebuilds_any_game(first, second, torn_bytes) -> None:
    """Records journaled turn by turn around a snapshot rebuild the very same state, and a torn
    last record loses only that record."""
    with tempfile.TemporaryDirectory() as tmp, DataDir.open(Path(tmp)) as data_dir:
        journal = Journal(data_dir, 1, "no", RULES)
        state, records, now = play(first)
        for record in records:
            journal.append([record])
        snapshot.save(data_dir, state, journal.rotate())
        state, records, now = play(second, state, now)
        for record in records:
            journal.append([record])
        journal.close()
        assert full_print(load(data_dir)) == full_print(state)
        if torn_bytes and records:
            path = segment_path(Path(tmp), 2)
            os.truncate(path, path.stat().st_size - torn_bytes)
            result = recover(data_dir, RULES, PLANETS, False)
            assert result.replayed == len(records) - 1


@settings(max_examples=25, deadline=None)
@given(games)
def test_a_journal_written_as_plain_dicts_replays_the_same_game(moves) -> None:
    """An upgrade: the segment a server wrote when commands were plain dicts (msgpack maps with
    an ``op``) replays through the typed commands to exactly the game that server held."""
    state, records, _ = play(moves)
    with tempfile.TemporaryDirectory() as name, DataDir.open(Path(name)) as data_dir:
        packer = msgpack.Packer()
        header = {"format": 1, "segment": 1, "rules": dataclasses.asdict(RULES), "at": 1.0}
        frames = [journal_mod.frame(packer.pack(item)) for item in [header, *records]]
        segment_path(Path(name), 1).write_bytes(journal_mod.MAGIC + b"".join(frames))
        result = recover(data_dir, RULES, PLANETS, False)
    assert (result.replayed, result.refused, result.moved_aside) == (len(records), 0, [])
    assert full_print(result.state) == full_print(state)


def test_a_record_that_fits_no_command_is_refused_as_corrupt_with_a_log_line(
    tmp_path: Path, data_dir: DataDir, caplog: pytest.LogCaptureFixture
) -> None:
    """A record whose fields do not fit its command stops the replay there: the records before
    it are replayed, its segment is moved aside, and the log line says which field is wrong."""
    scenario = Scenario(tmp_path, data_dir)
    later = Journal(data_dir, 4, "no", RULES)
    good = {"op": "create_player", "player_id": "late", "now": scenario.now + 1}
    misfit = {"op": "push", "player_id": "late", "batch_id": "b1", "clicks": "5", "now": 1.0}
    append_turns(later, [good, misfit, {**good, "player_id": "later"}])
    later.close()
    with caplog.at_level(logging.ERROR, "ctb.persistence"):
        result = recover(data_dir, RULES, PLANETS, False)
    assert "late" in result.state.players and "later" not in result.state.players
    [moved] = [r for r in caplog.records if getattr(r, "event", None) == "moved_aside"]
    assert moved.file == segment_path(tmp_path, 4).name
    assert "a record is not a command" in moved.reason and "clicks" in moved.reason
