"""How a ``GameState`` looks on disk: a stream of msgpack-ready objects, and back (SPEC §7).

The stream is a header map, then sections of chunks. Players are the bulk (a million and more),
so they go as columns in the field order of ``Player``, which the header names once: a chunk of
columns unpacks in one C call and ``map(Player, *columns)`` builds the players without a Python
step per field. Everything that points at a player by id in bulk — both leaderboards, the active
round's contributions — points by its slot (``state.slots``) instead: a small integer is a tenth
of the bytes of a UUID, and at start-up it leads straight to the id object the players already
hold, so the million copies of each id a decode by string would make never exist. A player's
slot is one of its columns; the list of ids by slot is rebuilt from it.
Everything else is small and goes as maps keyed by field name, so a field added with a default
to one of the dataclasses does not make older files unreadable.

Chunks keep every object small: the writer never builds the file in memory, the reader never
needs a large buffer, and players are built chunk by chunk as they are read.

The admin's state goes along: the audit log, interventions, the detectors' running sums (so a
replay flags what the live game flagged), bulk jobs and the pause. A bulk job is what the admin
gave (a filter, or ids while the job may still run) and a cursor, or once finished its summary
(``engine/admin/bulk.py``); a job of format 4 kept every target's id, and is read as a job over
those ids when it may still run, as its summary when not. A bulk job that was running when the
snapshot was taken loads as ``interrupted``: no one steps it in a new process until an admin
resumes it. The ban records (reason, end) and the renamed players' name histories go along
too, in two sections at the end (format 6); the heap of ban ends is rebuilt from the records.
The admin listing's index is not saved; ``GameState`` builds it from the players as
it is made.

Rules are not saved: they come from the settings at start-up. The outbox is not saved either:
it holds events for connected pages, and none are connected to a process that is starting.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter
from typing import Any

import msgpack

from engine.admin import bulk
from engine.admin import records as admin_state
from engine.admin.records import BulkJob, Intervention, PushStats
from engine.leaderboard import Leaderboard, PlayerSlots
from engine.planets import Planet
from engine.players import BanRecord, NameChange, Player
from engine.rules import Rules
from engine.state import GameState, Round, RoundSummary
from persistence.errors import IncompatibleFile

PLAYER_FIELDS = tuple(f.name for f in dataclasses.fields(Player))
ID = PLAYER_FIELDS.index("id")
# Rows a chunk. Small, for the snapshot's child (persistence/saver.py): each chunk's memory is
# reused for the next one, while a large chunk is a large fresh allocation, every page of it a
# fault in the child and a page counted twice while the child lives. At 5,000 players a chunk
# of 250 took the child 5,900 page faults where one of 10,000 took 17,000 (docs/persistence.md).
CHUNK = 250
TIMES = ("created_at", "tokens_at", "push_tat", "last_click_at")
# Player fields saved under an older name. ``last_push_at`` (the last push's time) became the
# push bucket's ``push_tat``: read as one, it is at most now, so the bucket comes back full.
RENAMED_FIELDS = {"last_push_at": "push_tat"}
TIME_COLUMNS = tuple(PLAYER_FIELDS.index(name) for name in TIMES)
FLOAT_KINDS = {float, type(None)}
SECTIONS = (
    "players",
    "all_board",
    "round_board",
    "contributions",
    "queue",
    "history",
    "audit",
    "interventions",
    "bulk_jobs",
    "push_stats",
    "bans",
    "names",
)
ADMIN_SECTIONS = ("interventions", "bulk_jobs", "push_stats")  # new in format 4
PLAYER_RECORD_SECTIONS = ("bans", "names")  # new in format 6
BAN_FIELDS = tuple(f.name for f in dataclasses.fields(BanRecord))
STATS_FIELDS = tuple(f.name for f in dataclasses.fields(PushStats))


@dataclasses.dataclass(slots=True, frozen=True)
class Meta:
    """What the header says about the snapshot besides the state itself."""

    journal_next: int  # the first journal segment the snapshot does not contain
    version: int
    saved_at: float


def encode(state: GameState, journal_next: int, saved_at: float) -> Iterator[Any]:
    """Yield the header, then every section's chunks; the caller packs and writes each one."""
    players = state.players
    current = None
    contributions: dict[str, dict[str, list[int]]] = {}
    if state.current is not None:
        current = _fields(state.current)
        contributions = state.current.contributions
        current["contributions"] = list(contributions)  # the planets; the pairs follow in chunks
    counts = {
        "players": len(players),
        "all_board": len(state.all_board),
        "round_board": len(state.round_board),
        "contributions": sum(map(len, contributions.values())),
        "queue": len(state.queue),
        "history": len(state.history),
        "audit": len(state.audit),
        "interventions": len(state.interventions),
        "bulk_jobs": len(state.bulk_jobs),
        "push_stats": len(state.push_stats),
        "bans": len(state.bans),
        "names": len(state.names),
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
        "admin": {
            "paused": state.paused,
            "pause_reason": state.pause_reason,
            "paused_at": state.paused_at,
            "next_intervention_id": state.next_intervention_id,
            "next_job_id": state.next_job_id,
        },
    }
    row = attrgetter(*PLAYER_FIELDS)
    packer = msgpack.Packer()
    for chunk in _chunks(map(row, players.values()), CHUNK):
        # Columns, packed on their own: the reader unpacks them as tuples in one C call and
        # builds the players with ``map(Player, *columns)``, no Python loop over fields.
        yield packer.pack([_compact(column) for column in zip(*chunk, strict=True)])
    for board in (state.all_board, state.round_board):
        for chunk in _chunks(board.slot_entries(), CHUNK):
            yield list(zip(*chunk, strict=True))
    for planet, by_player in contributions.items():
        for chunk in _chunks(by_player.items(), CHUNK):
            ids, batches = zip(*chunk, strict=True)
            yield [planet, [players[pid].slot for pid in ids], batches]
    yield from _chunks(map(_fields, state.queue), 100)
    # One summary a chunk: a summary keeps every player's total of its round.
    yield from _chunks(map(_fields, state.history), 1)
    yield from _chunks(state.audit, 1000)
    yield from _chunks(map(_fields, state.interventions.values()), 1000)
    yield from _chunks(map(_fields, state.bulk_jobs.values()), 1)  # a job's ids: a chunk each
    stats_row = attrgetter(*STATS_FIELDS)
    for chunk in _chunks(state.push_stats.items(), CHUNK):
        yield [[player_id, *stats_row(stats)] for player_id, stats in chunk]
    ban_row = attrgetter(*BAN_FIELDS)
    for chunk in _chunks(state.bans.items(), CHUNK):
        yield [[player_id, *ban_row(ban)] for player_id, ban in chunk]
    for chunk in _chunks(state.names.items(), CHUNK):
        yield [[player_id, [[n.at, n.name, n.by] for n in names]] for player_id, names in chunk]


def decode(objects: Iterator[Any], rules: Rules) -> tuple[GameState, Meta]:
    """Rebuild the state from ``encode``'s stream, read with lists (``use_list=True``)."""
    header = next(objects)
    # A format 3 file ends before the admin's sections and has no admin header, a format 5
    # file before the ban records and name histories: all empty.
    counts = {**dict.fromkeys(ADMIN_SECTIONS + PLAYER_RECORD_SECTIONS, 0), **header["counts"]}
    for name in SECTIONS:
        if not isinstance(counts.get(name), int):
            raise ValueError(f"the header lacks the size of section {name!r}")
    players = _players(header["player_fields"], objects, counts["players"])
    ids = _ids_by_slot(players)
    slots = PlayerSlots(ids)
    all_board = _board(objects, counts["all_board"], slots)
    round_board = _board(objects, counts["round_board"], slots)
    current = _current(header["current"], objects, counts["contributions"], ids)
    state = GameState(
        rules=rules,
        planets={p["name"]: _build(Planet, p) for p in header["planets"]},
        players=players,
        slots=slots,
        current=current,
        queue=deque(_build(Round, r) for r in _items(objects, counts["queue"])),
        history=[_build(RoundSummary, s) for s in _items(objects, counts["history"])],
        next_round_id=header["next_round_id"],
        next_round_at=header["next_round_at"],
        seq=header["seq"],
        version=header["version"],
        audit=list(_items(objects, counts["audit"])),
        interventions={
            c["id"]: _build(Intervention, c) for c in _items(objects, counts["interventions"])
        },
        bulk_jobs={j["id"]: _bulk_job(j) for j in _items(objects, counts["bulk_jobs"])},
        push_stats=collections.OrderedDict(
            (row[0], PushStats(*row[1:])) for row in _items(objects, counts["push_stats"])
        ),
        bans={row[0]: BanRecord(*row[1:]) for row in _items(objects, counts["bans"])},
        names={
            player_id: [NameChange(*change) for change in changes]
            for player_id, changes in _items(objects, counts["names"])
        },
        **header.get("admin", {}),
    )
    bulk.interrupt_running(state)
    state.all_board, state.round_board = all_board, round_board
    return state, Meta(header["journal_next"], header["version"], header["saved_at"])


def _bulk_job(saved: dict[str, Any]) -> BulkJob:
    """A saved job; one of format 4 holds ``targets``, the ids it reaches, in order."""
    if "targets" in saved:
        targets = saved.pop("targets")
        unfinished = saved.get("status") in (admin_state.RUNNING, admin_state.INTERRUPTED)
        saved |= {
            "total": len(targets),
            "end": len(targets),
            "ids": targets if unfinished else None,
        }
    return _build(BulkJob, saved)


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
    """Players back from column chunks, numbers shared as in the live game (``_share``)."""
    columns_of = _reorder(saved_fields)
    players: dict[str, Player] = {}
    while len(players) < count:
        saved = msgpack.unpackb(next(objects), use_list=False, strict_map_key=False)
        columns = _share(columns_of(tuple(_expand(column) for column in saved)))
        players.update(zip(columns[ID], map(Player, *columns), strict=True))
    if len(players) != count:
        raise ValueError(f"{len(players)} players where the header says {count}")
    return players


def _share(columns: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
    """The time columns with one object for each distinct time in the chunk.

    In the live game a push stamps one ``now`` object into the player's refill time and last
    click, and every push of one actor turn shares it; msgpack gives each row and column
    a copy of its own. Interning by value within a chunk puts them back together, about 50 bytes
    a player at a million. Only columns of floats and None are touched, so an int time (a test's
    clock) never comes back as a float.
    """
    table: dict[float | None, float | None] = {}
    shared = list(columns)
    for i in TIME_COLUMNS:
        column = shared[i]
        if set(map(type, column)) <= FLOAT_KINDS:
            shared[i] = tuple(map(table.setdefault, column, column))
    return tuple(shared)


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
    saved_fields = [RENAMED_FIELDS.get(name, name) for name in saved_fields]
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
    players = len(slots.ids)

    def chunks() -> Iterator[Iterator[tuple[int, int, int]]]:
        seen = 0
        while seen < count:
            slot_column, scores, seqs = next(objects)
            _check_slots(slot_column, players)
            seen += len(slot_column)
            yield zip(slot_column, scores, seqs, strict=True)
        if seen != count:
            raise ValueError(f"a board holds {seen} entries where the header says {count}")

    # One chunk of entries in memory at a time, and no Python step per entry on this side.
    return Leaderboard.from_entries(itertools.chain.from_iterable(chunks()), slots)


def _current(
    saved: dict[str, Any] | None, objects: Iterator[Any], count: int, ids: list[str]
) -> Round | None:
    """The active round, its contributions read from chunks of ``planet, slots, batches``.

    Read in chunks rather than with the header so that the slot numbers, needed only for a
    moment, are freed a chunk at a time and their memory goes straight to the next chunk.
    """
    contributions: dict[str, dict[str, list[int]]] = (
        {} if saved is None else {planet: {} for planet in saved["contributions"]}
    )
    seen = 0
    while seen < count:
        planet, slot_column, batches = next(objects)
        _check_slots(slot_column, len(ids))
        contributions[planet].update(zip(map(ids.__getitem__, slot_column), batches, strict=True))
        seen += len(slot_column)
    if seen != count:
        raise ValueError(f"contributions hold {seen} entries where the header says {count}")
    if saved is None:
        return None
    saved["contributions"] = contributions
    return _build(Round, saved)


def _ids_by_slot(players: dict[str, Player]) -> list[str]:
    """Player ids by slot, from each player's own: the slots must number the players 0 to n-1."""
    slot_of = list(map(attrgetter("slot"), players.values()))
    ids: list[Any] = [None] * len(slot_of)
    _check_slots(slot_of, len(slot_of))
    collections.deque(map(ids.__setitem__, slot_of, players), maxlen=0)  # no Python step a player
    if None in ids:
        raise ValueError("two players share a slot")
    return ids


def _check_slots(slot_column: list[int], players: int) -> None:
    if slot_column and not 0 <= min(slot_column) <= max(slot_column) < players:
        raise ValueError("a section names a slot no player has")
