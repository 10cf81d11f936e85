"""Leaderboards: score descending, ties broken by who reached the score first (SPEC §3).

Each entry is one integer key, ``-score << 64 | seq << 24 | slot``, in a ``RankIndex``:
- ``seq`` is a game-wide counter bumped on every score change, so equal scores order by arrival;
- ``slot`` is the player's small integer number (``Player.slot``, given at creation), so a key
  names its owner without a dict from keys to players, and a player's current key sits in a
  list by slot. The board is addressed by slot: the caller holds the player and so the slot,
  and no dict from ids to slots is kept (29 MiB at a million players).
Integer keys compare in C, where tuples compare element by element in Python, and the lists by
slot avoid hashing on the hot path; at 1,000,000 entries both matter (bench/engine_bench.py).
Top N, rank and the entries around a player are O(log n).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from engine.rank_index import RankIndex

SLOT_BITS = 24  # a slot is bounded by the players a board can hold: 16.7 million
SEQ_BITS = 40  # 1.1e12 score changes: years at full load
SCORE_SHIFT = SLOT_BITS + SEQ_BITS
SLOT_MASK = (1 << SLOT_BITS) - 1
SEQ_MASK = (1 << SEQ_BITS) - 1

Entry = tuple[int, str, int]  # (rank, player_id, score)


@dataclass(slots=True)
class PlayerSlots:
    """Player ids by slot, in order of arrival: the way back from a key to its player's id.

    Shared by the boards of one game; a player's own slot is ``Player.slot``.
    """

    ids: list[str] = field(default_factory=list)

    def add(self, player_id: str) -> int:
        """Number a new player: the next slot."""
        if len(self.ids) > SLOT_MASK:
            raise OverflowError("too many players for the leaderboard's key")
        self.ids.append(player_id)
        return len(self.ids) - 1


class Leaderboard:
    """Player ids ranked by score; the game state holds the scores, this holds the order.

    Only a score above 0 is ranked: a player with no clicks (new, reset, or whose clicks were
    revoked) has no rank, on the all-time board as on the round's, and no row on either.
    """

    __slots__ = ("_count", "_index", "_keys", "_slots")

    def __init__(self, slots: PlayerSlots) -> None:
        self._index = RankIndex()
        self._slots = slots
        self._keys: list[int | None] = []  # current key by slot; None when absent
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _key(self, slot: int) -> int | None:
        keys = self._keys
        return keys[slot] if 0 <= slot < len(keys) else None

    def __contains__(self, slot: int) -> bool:
        return self._key(slot) is not None

    def set(self, slot: int, score: int, seq: int) -> int | None:
        """Place the player of ``slot`` at ``score`` reached at ``seq``; return the 1-based rank.

        A score of 0 takes the player off the board (None: no rank).
        """
        if slot < 0:
            raise ValueError(f"a player without a slot cannot be ranked ({slot})")
        if score <= 0:
            self.discard(slot)
            return None
        keys = self._keys
        if slot >= len(keys):
            keys.extend([None] * (slot + 1 - len(keys)))
        key = (-score << SCORE_SHIFT) | ((seq & SEQ_MASK) << SLOT_BITS) | slot
        old = keys[slot]
        if old is None:
            position = self._index.insert(key)
            self._count += 1
        else:
            position = self._index.move(old, key)
        keys[slot] = key
        return position + 1

    def discard(self, slot: int) -> None:
        key = self._key(slot)
        if key is not None:
            self._index.remove(key)
            self._keys[slot] = None
            self._count -= 1

    def clear(self) -> None:
        self._index.clear()
        self._keys = []
        self._count = 0

    def rank(self, slot: int) -> int | None:
        """1-based rank, or None when the player has no entry."""
        key = self._key(slot)
        return None if key is None else self._index.position(key) + 1

    def top(self, n: int) -> list[Entry]:
        return self._entries(0, n)

    def around(self, slot: int, radius: int) -> list[Entry]:
        """Up to ``radius`` entries either side of the player, the player included."""
        key = self._key(slot)
        if key is None:
            return []
        position = self._index.position(key)
        start = max(0, position - radius)
        return self._entries(start, position + radius + 1 - start)

    def _entries(self, start: int, count: int) -> list[Entry]:
        ids = self._slots.ids
        keys = self._index.slice(start, start + count)
        return [
            (start + i + 1, ids[k & SLOT_MASK], -(k >> SCORE_SHIFT)) for i, k in enumerate(keys)
        ]

    def slot_entries(self) -> Iterator[tuple[int, int, int]]:
        """Every entry as ``(slot, score, seq)``, best first: what a snapshot stores."""
        for k in self._index:
            yield k & SLOT_MASK, -(k >> SCORE_SHIFT), (k >> SLOT_BITS) & SEQ_MASK

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        """Every entry as ``(player_id, score, seq)``, best first."""
        ids = self._slots.ids
        for k in self._index:
            yield ids[k & SLOT_MASK], -(k >> SCORE_SHIFT), (k >> SLOT_BITS) & SEQ_MASK

    @classmethod
    def from_entries(
        cls, entries: Iterable[tuple[int, int, int]], slots: PlayerSlots
    ) -> Leaderboard:
        """Rebuild from ``(slot, score, seq)`` triples in one sort (start-up, not per push).

        Entries of score 0 (a game saved when every player was ranked from creation) are left
        out, as ``set`` would.
        """
        board = cls(slots)
        keys = [
            (-score << SCORE_SHIFT) | ((seq & SEQ_MASK) << SLOT_BITS) | slot
            for slot, score, seq in entries
            if score > 0
        ]
        board._keys = [None] * len(slots.ids)
        for key in keys:
            board._keys[key & SLOT_MASK] = key
        board._count = len(keys)
        board._index = RankIndex(keys)
        return board
