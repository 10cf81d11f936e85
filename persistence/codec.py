"""How a ``GameState`` looks on disk: a stream of msgpack-ready objects, and back (SPEC §7).

The stream is a header map, then sections of chunks. Players are the bulk (a million and more),
so they go as columns in the field order of ``Player``, which the header names once: a chunk of
columns unpacks in one C call and ``map(Player, *columns)`` builds the players without a Python
step per field. Everything that points at a player by id in bulk — both leaderboards, the active
round's contributions — points by its slot (``state.slots``) instead: a small integer is a tenth
of the bytes of a UUID, and at start-up it leads straight to the id object the players already
hold, so the million copies of each id a decode by string would make never exist. The slots
themselves are the players' order in nearly every game and are then not written at all.
Everything else is small and goes as maps keyed by field name, so a field added with a default
to one of the dataclasses does not make older files unreadable.

Chunks keep every object small: the writer never builds the file in memory, the reader never
needs a large buffer, and players are built chunk by chunk as they are read.

Rules are not saved: they come from the settings at start-up. The outbox is not saved either:
it holds events for connected pages, and none are connected to a process that is starting.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter
from typing import Any

import msgpack

from engine.leaderboard import Leaderboard, PlayerSlots
from engine.planets import Planet
from engine.players import Player
from engine.rules import Rules
from engine.state import GameState, Round, RoundSummary
from persistence.errors import IncompatibleFile

PLAYER_FIELDS = tuple(f.name for f in dataclasses.fields(Player))
ID = PLAYER_FIELDS.index("id")
CHUNK = 10_000
SECTIONS = ("players", "slots", "all_board", "round_board", "queue", "history", "audit")


@dataclasses.dataclass(slots=True, frozen=True)
class Meta:
    """What the header says about the snapshot besides the state itself."""

    journal_next: int  # the first journal segment the snapshot does not contain
    version: int
    saved_at: float


def encode(state: GameState, journal_next: int, saved_at: float) -> Iterator[Any]:
    """Yield the header, then every section's chunks; the caller packs and writes each one."""
    players = state.players
    slots = state.slots
    slots_follow_players = len(slots.ids) == len(players) and all(
        a == b for a, b in zip(slots.ids, players, strict=True)
    )
    counts = {
        "players": len(players),
        "slots": 0 if slots_follow_players else len(slots.ids),
        "all_board": len(state.all_board),
        "round_board": len(state.round_board),
        "queue": len(state.queue),
        "history": len(state.history),
        "audit": len(state.audit),
    }
    current = None
    if state.current is not None:
        current = _fields(state.current)
        current["contributions"] = {
            planet: [[slots.slot_of.get(pid, pid), batches] for pid, batches in by_player.items()]
            for planet, by_player in state.current.contributions.items()
        }
    yield {
        "journal_next": journal_next,
        "saved_at": saved_at,
        "version": state.version,
        "seq": state.seq,
        "next_round_id": state.next_round_id,
        "next_round_at": state.next_round_at,
        "planets": [_fields(p) for p in state.planets.values()],
        "current": current,
        "player_fields": PLAYER_FIELDS,
        "counts": counts,
    }
    row = attrgetter(*PLAYER_FIELDS)
    packer = msgpack.Packer()
    for chunk in _chunks(map(row, players.values()), CHUNK):
        # Columns, packed on their own: the reader unpacks them as tuples in one C call and
        # builds the players with ``map(Player, *columns)``, no Python loop over fields.
        yield packer.pack([_compact(column) for column in zip(*chunk, strict=True)])
    if not slots_follow_players:
        yield from _chunks(slots.ids, CHUNK)
    slot_of = slots.slot_of
    for board in (state.all_board, state.round_board):
        for chunk in _chunks(board, CHUNK):
            ids, scores, seqs = zip(*chunk, strict=True)
            yield [[slot_of[pid] for pid in ids], scores, seqs]
    yield from _chunks(map(_fields, state.queue), 100)
    # One summary a chunk: a summary keeps every player's total of its round.
    yield from _chunks(map(_fields, state.history), 1)
    yield from _chunks(state.audit, 1000)


def decode(objects: Iterator[Any], rules: Rules) -> tuple[GameState, Meta]:
    """Rebuild the state from ``encode``'s stream, read with lists (``use_list=True``)."""
    header = next(objects)
    counts = header["counts"]
    for name in SECTIONS:
        if not isinstance(counts.get(name), int):
            raise ValueError(f"the header lacks the size of section {name!r}")
    players = _players(header["player_fields"], objects, counts["players"])
    ids = list(_items(objects, counts["slots"])) if counts["slots"] else list(players)
    slots = PlayerSlots(ids, dict(zip(ids, range(len(ids)), strict=True)))
    all_board = _board(objects, counts["all_board"], slots)
    round_board = _board(objects, counts["round_board"], slots)
    state = GameState(
        rules=rules,
        planets={p["name"]: _build(Planet, p) for p in header["planets"]},
        players=players,
        slots=slots,
        current=_current(header["current"], ids),
        queue=deque(_build(Round, r) for r in _items(objects, counts["queue"])),
        history=[_build(RoundSummary, s) for s in _items(objects, counts["history"])],
        next_round_id=header["next_round_id"],
        next_round_at=header["next_round_at"],
        seq=header["seq"],
        version=header["version"],
        audit=list(_items(objects, counts["audit"])),
    )
    state.all_board, state.round_board = all_board, round_board
    return state, Meta(header["journal_next"], header["version"], header["saved_at"])


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass as a map of its fields, one level deep (the values are plain already)."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _build(cls: Any, values: dict[str, Any]) -> Any:
    """The dataclass from its map; a field this version does not know is incompatible."""
    try:
        return cls(**values)
    except TypeError as error:
        raise IncompatibleFile(f"saved {cls.__name__} does not fit this version: {error}") from None


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _items(objects: Iterator[Any], count: int) -> Iterator[Any]:
    """The items of one section, chunk by chunk, checked against the size the header gave."""
    seen = 0
    while seen < count:
        chunk = next(objects)
        seen += len(chunk)
        yield from chunk
    if seen != count:
        raise ValueError(f"a section holds {seen} items where the header says {count}")


def _players(saved_fields: list[str], objects: Iterator[Any], count: int) -> dict[str, Player]:
    """Players back from column chunks; batch results come back as the tuples the engine keeps."""
    columns_of = _reorder(saved_fields)
    players: dict[str, Player] = {}
    while len(players) < count:
        saved = msgpack.unpackb(next(objects), use_list=False, strict_map_key=False)
        columns = columns_of(tuple(_expand(column) for column in saved))
        players.update(zip(columns[ID], map(Player, *columns), strict=True))
    if len(players) != count:
        raise ValueError(f"{len(players)} players where the header says {count}")
    return players


def _compact(column: tuple[Any, ...]) -> Any:
    """A column of a few distinct strings (planet, status) as those strings and one byte each.

    Unpacked naively, each row would get its own copy of ``"active"``; this way the reader
    builds the column from a handful of shared strings, as the live game has it.
    """
    if not column or type(column[0]) is not str:
        return column
    values = list(dict.fromkeys(column))
    if len(values) > 255 or len(values) * 8 > len(column):
        return column
    if any(type(value) is not str for value in values):
        return column
    code = {value: i for i, value in enumerate(values)}
    return {"values": values, "codes": bytes(map(code.__getitem__, column))}


def _expand(column: Any) -> tuple[Any, ...]:
    if type(column) is not dict:
        return column
    values = [sys.intern(v) for v in column["values"]]
    return tuple(map(values.__getitem__, column["codes"]))


def _reorder(saved_fields: list[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """How to turn saved columns into this version's: the same, or mapped by name."""
    if tuple(saved_fields) == PLAYER_FIELDS:
        return lambda columns: columns
    unknown = set(saved_fields) - set(PLAYER_FIELDS)
    if unknown:
        raise IncompatibleFile(f"saved players have fields this version lacks: {sorted(unknown)}")
    defaults = {}
    for f in dataclasses.fields(Player):
        if f.name not in saved_fields:
            if f.default is dataclasses.MISSING:
                raise IncompatibleFile(f"saved players lack the field {f.name!r}")
            defaults[f.name] = f.default
    index = [saved_fields.index(n) if n in saved_fields else None for n in PLAYER_FIELDS]

    def reorder(columns: tuple[Any, ...]) -> tuple[Any, ...]:
        rows = len(columns[0])
        return tuple(
            (defaults[name],) * rows if i is None else columns[i]
            for name, i in zip(PLAYER_FIELDS, index, strict=True)
        )

    return reorder


def _board(objects: Iterator[Any], count: int, slots: PlayerSlots) -> Leaderboard:
    """Rebuild a board from column chunks of ``slot, score, seq`` on the restored slots."""
    slot_id = slots.ids.__getitem__

    def chunks() -> Iterator[list[tuple[str, int, int]]]:
        seen = 0
        while seen < count:
            slot_column, scores, seqs = next(objects)
            seen += len(slot_column)
            yield list(zip(map(slot_id, slot_column), scores, seqs, strict=True))
        if seen != count:
            raise ValueError(f"a board holds {seen} entries where the header says {count}")

    # One chunk of entries in memory at a time, and no Python step per entry on this side.
    return Leaderboard.from_entries(itertools.chain.from_iterable(chunks()), slots)


def _current(saved: dict[str, Any] | None, ids: list[str]) -> Round | None:
    if saved is None:
        return None
    saved["contributions"] = {
        planet: {(ids[k] if type(k) is int else k): batches for k, batches in pairs}
        for planet, pairs in saved["contributions"].items()
    }
    return _build(Round, saved)
