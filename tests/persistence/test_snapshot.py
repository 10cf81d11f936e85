"""The snapshot file: magic, format, checksum, atomic replacement (SPEC §7)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from engine.state import GameState
from persistence import codec, snapshot
from persistence.data_dir import DataDir
from persistence.errors import CorruptFile, IncompatibleFile
from tests.conftest import apply_command, fingerprint
from tests.persistence.games import RULES, play


@pytest.fixture
def game() -> GameState:
    moves = [(1.0, {"op": "create_player", "player_id": f"p{i}", "name": None}) for i in range(3)]
    moves += [(0.6, {"op": "push", "player_id": "p1", "batch_id": "b1", "clicks": [4]})]
    return play(moves)[0]


def test_a_snapshot_starts_with_magic_and_format_and_ends_with_its_tail(
    tmp_path: Path, data_dir: DataDir, game: GameState
) -> None:
    """The file opens with the magic and format version and closes with length, crc, END."""
    size = snapshot.save(data_dir, game, 3)
    data = (tmp_path / snapshot.CURRENT).read_bytes()
    assert len(data) == size
    assert snapshot.HEAD.unpack_from(data) == (snapshot.MAGIC, snapshot.FORMAT)
    length, _, end = snapshot.TAIL.unpack_from(data, size - snapshot.TAIL.size)
    assert (length, end) == (size - snapshot.HEAD.size - snapshot.TAIL.size, snapshot.END)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:10], "truncated"),
        (lambda data: data + b"x", "truncated"),
        (lambda data: b"XXXXXXXX" + data[8:], "bad magic"),
        (lambda data: data[:40] + bytes([data[40] ^ 0xFF]) + data[41:], "checksum"),
        (lambda data: data[:-30] + bytes([data[-30] ^ 0x01]) + data[-29:], "checksum"),
    ],
    ids=["half", "head-only", "extended", "magic", "flipped-early", "flipped-late"],
)
def test_a_damaged_snapshot_is_refused_as_corrupt(
    tmp_path: Path, data_dir: DataDir, game: GameState, damage, reason: str
) -> None:
    """A truncated, extended, re-labelled or bit-flipped file fails its checks before decoding."""
    snapshot.save(data_dir, game, 1)
    path = tmp_path / snapshot.CURRENT
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptFile, match=reason):
        snapshot.read(data_dir, snapshot.CURRENT, RULES)


def test_a_file_of_a_newer_format_is_incompatible_not_corrupt(
    tmp_path: Path, data_dir: DataDir, game: GameState
) -> None:
    """A snapshot from a newer version is refused with a message and is not called corrupt."""
    snapshot.save(data_dir, game, 1)
    path = tmp_path / snapshot.CURRENT
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 8, snapshot.FORMAT + 1)
    body_end = len(data) - snapshot.TAIL.size
    struct.pack_into("<I", data, body_end + 8, zlib.crc32(bytes(data[:body_end])))
    path.write_bytes(bytes(data))
    with pytest.raises(IncompatibleFile, match=f"format {snapshot.FORMAT + 1}"):
        snapshot.read(data_dir, snapshot.CURRENT, RULES)


def test_a_flipped_format_field_is_damage_not_a_newer_format(
    tmp_path: Path, data_dir: DataDir, game: GameState
) -> None:
    """The checksum covers the head: a bit flipped in the format number reads as corrupt."""
    snapshot.save(data_dir, game, 1)
    path = tmp_path / snapshot.CURRENT
    data = bytearray(path.read_bytes())
    data[9] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match="checksum"):
        snapshot.read(data_dir, snapshot.CURRENT, RULES)


def test_saving_again_keeps_the_previous_snapshot(
    tmp_path: Path, data_dir: DataDir, game: GameState
) -> None:
    """The second save renames the first to snapshot.prev.bin; both load."""
    snapshot.save(data_dir, game, 1)
    first = game.version
    play([(1.0, {"op": "create_player", "player_id": "late", "name": None})], game)
    snapshot.save(data_dir, game, 2)
    current, meta = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    previous, prev_meta = snapshot.read(data_dir, snapshot.PREVIOUS, RULES)
    assert (meta.version, meta.journal_next) == (game.version, 2)
    assert (prev_meta.version, prev_meta.journal_next) == (first, 1)
    assert "late" in current.players and "late" not in previous.players


def test_a_failed_save_leaves_the_old_snapshots_and_no_temporary_file(
    tmp_path: Path, data_dir: DataDir, game: GameState
) -> None:
    """A state that cannot be encoded raises; both old files stay byte for byte, no temp left."""
    snapshot.save(data_dir, game, 1)
    snapshot.save(data_dir, game, 2)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    game.audit.append({"what": {1, 2}})  # a set has no msgpack form
    with pytest.raises(TypeError):
        snapshot.save(data_dir, game, 3)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_format_3_snapshot_from_before_the_admin_state_still_loads(
    tmp_path: Path, data_dir: DataDir, game: GameState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server upgraded in place reads the format 3 file its predecessor wrote: the same
    players, boards and rounds, and an empty admin state."""
    encode = codec.encode

    def format_3(state: GameState, journal_next: int, saved_at: float) -> Any:
        stream = encode(state, journal_next, saved_at)
        header = next(stream)
        del header["admin"]
        for name in codec.ADMIN_SECTIONS:
            del header["counts"][name]
        yield header
        yield from stream

    expected = fingerprint(game)
    with monkeypatch.context() as patch:
        patch.setattr(snapshot, "FORMAT", 3)
        patch.setattr(codec, "encode", format_3)
        snapshot.save(data_dir, game, 1)
    assert (tmp_path / snapshot.CURRENT).read_bytes()[8:12] == struct.pack("<I", 3)
    loaded, _ = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    assert fingerprint(loaded) == expected
    assert (loaded.paused, loaded.interventions, loaded.bulk_jobs) == (False, {}, {})


def test_a_format_5_snapshot_from_before_ban_records_still_loads(
    tmp_path: Path, data_dir: DataDir, game: GameState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format 5 file, which ends before the ban records and name histories, loads with the
    same game and neither: its banned players stay banned, with no reason and no end."""
    encode = codec.encode

    def format_5(state: GameState, journal_next: int, saved_at: float) -> Any:
        stream = encode(state, journal_next, saved_at)
        header = next(stream)
        for name in codec.PLAYER_RECORD_SECTIONS:
            del header["counts"][name]
        yield header
        yield from stream

    apply_command(game, {"op": "set_status", "player_id": "p2", "status": "banned", "now": 1.0})
    expected = fingerprint(game)
    with monkeypatch.context() as patch:
        patch.setattr(snapshot, "FORMAT", 5)
        patch.setattr(codec, "encode", format_5)
        snapshot.save(data_dir, game, 1)
    assert (tmp_path / snapshot.CURRENT).read_bytes()[8:12] == struct.pack("<I", 5)
    loaded, _ = snapshot.read(data_dir, snapshot.CURRENT, RULES)
    assert fingerprint(loaded) == expected
    assert (loaded.bans, loaded.names, loaded.ban_expiries) == ({}, {}, [])
    assert loaded.players["p2"].status == "banned"
