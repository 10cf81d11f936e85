"""A copy of the player index that no turn writes while a listing reads it (SPEC §8).

The listing's heavy part (a filter over every player, a partial sort) must not run inside the
actor's turn, where it stalls every player's push: at a million players it is tens of
milliseconds. So it reads this copy instead, outside the turn, and the copy is brought up to
date in steps between turns, each bounded (``prepare_step``):

1. the id and name keys a loaded game deferred, ``KEY_STEP`` players a step;
2. for a search, the name blocks that wait to be joined, ``BLOCK_STEP`` a step;
3. the slots written since the copy last took them (``PlayerIndex.changed``): all in one step
   when they are at most ``COPY_STEP`` (what the game changed since a recent listing), else a
   window of ``COPY_STEP`` slots a step, going round (the first copy: each window a run,
   copied as a slice).

The step that finds nothing left to copy makes the copy equal to the index at that moment, with
the round the round scores belong to and, for a search, the name blocks as they are then (blocks
are never changed once joined). Until the next ``prepare_step`` nothing writes the copy, so a
worker thread may read it while the game goes on: numpy releases the interpreter's lock for the
work on large arrays.

The copy holds the columns once more (about 70 MiB at a million players); it is made at the
first listing.
"""

from __future__ import annotations

import numpy as np

from engine.admin import name_blocks
from engine.admin.name_blocks import Block
from engine.admin.player_index import COLUMNS, PlayerIndex, id_prefix_hits
from engine.players import Player
from engine.state import GameState, current_round_id

# Each step is one turn's worth of work, about 3 ms of CPU (bench/admin_bench.py measures them).
KEY_STEP = 4096  # building a player's keys is about 0.7 µs
BLOCK_STEP = 2  # joining a block of 4,096 names is about 1.4 ms
# Every column of that many players: 1-3 ms scattered; in a run (the first copy) mostly the
# kernel handing the copy its pages.
COPY_STEP = 16_384


class IndexCopy:
    """The index's columns as of the last ``prepare_step`` that returned True."""

    __slots__ = (
        "_cols",
        "_cursor",
        "_joined",
        "blocks",
        "by_slot",
        "n",
        "planet_code",
        "round_id",
    )

    def __init__(self) -> None:
        self._cols: dict[str, np.ndarray] = {name: np.zeros(0, t) for name, t in COLUMNS.items()}
        self.n = 0
        self.planet_code: dict[str, int] = {}
        self.by_slot: list[Player] = []  # the index's own list: appended to, never changed
        self.round_id: int | None = None
        self.blocks: tuple[Block, ...] | None = None  # None: taken without the names
        self._joined: tuple[tuple[Block, ...], Block] | None = None  # the blocks as one
        self._cursor = 0  # where the next window of a long copy starts

    def column(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def name_hits(self, text: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """As ``name_blocks.search``, on the blocks joined into one (a few numpy calls instead
        of a few per block); joined again, by the reader, only when a block has changed. The
        listing reads the copy whole: ``start`` and ``stop`` only trim the hits."""
        blocks = self.blocks
        if blocks is None:
            raise RuntimeError("the copy was prepared without the names")
        joined = self._joined
        if (
            joined is None
            or len(joined[0]) != len(blocks)
            or any(a is not b for a, b in zip(joined[0], blocks, strict=True))
        ):
            joined = self._joined = (blocks, name_blocks.join_blocks(blocks))
        hits = name_blocks.search_joined(joined[1], text)
        if start == 0 and stop is None:
            return hits
        return hits[(hits >= start) & (hits < (self.n if stop is None else stop))]

    def id_prefix_hits(self, prefix: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        return id_prefix_hits(self.column("id_key")[start:stop], self.by_slot, prefix, start)

    def memory_bytes(self) -> int:
        return sum(c.nbytes for c in self._cols.values())


def prepare_step(state: GameState, copy: IndexCopy, names: bool) -> bool:
    """One bounded step toward a copy equal to the state's index; True once it is.

    ``names``: the listing searches, so the copy must take the name blocks too.
    """
    index = state.index
    if not index.key_step(KEY_STEP):
        return False
    if names and not index.names.build_step(BLOCK_STEP):
        return False
    return _copy_step(index, copy, state, names)


def _copy_step(index: PlayerIndex, copy: IndexCopy, state: GameState, names: bool) -> bool:
    index.flush()
    live = index.raw_columns()
    if index.copied_by is not copy:  # a new copy (or another's index): every slot to take
        index.copied_by = copy
        index.changed[: index.n] = True
        copy._cursor = 0
    capacity = len(live["score"])
    if len(copy._cols["score"]) != capacity:
        copy._cols = {name: _resized(copy._cols[name], capacity) for name in COLUMNS}
    changed = index.changed[: index.n]
    if np.count_nonzero(changed) > COPY_STEP:  # the first copy, or a long while since the last
        start = copy._cursor if copy._cursor < index.n else 0
        stop = min(index.n, start + COPY_STEP)
        window = changed[start:stop]
        taken: slice | np.ndarray = slice(start, stop)
        if not window.all():
            taken = np.flatnonzero(window) + start
        copy._cursor = stop
        _take(copy, live, changed, taken)
        return False
    _take(copy, live, changed, np.flatnonzero(changed))
    copy.n = index.n
    copy.planet_code = index.planet_code
    copy.by_slot = index.by_slot
    copy.round_id = current_round_id(state)
    copy.blocks = index.names.taken() if names else None
    return True


def _take(
    copy: IndexCopy, live: dict[str, np.ndarray], changed: np.ndarray, taken: slice | np.ndarray
) -> None:
    for name in COLUMNS:
        copy._cols[name][taken] = live[name][taken]
    changed[taken] = False


def _resized(column: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros(capacity, column.dtype)
    kept = min(len(column), capacity)
    grown[:kept] = column[:kept]
    return grown
