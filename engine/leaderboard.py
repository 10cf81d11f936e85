"""Leaderboards: score descending, ties broken by who reached the score first (SPEC §3).

Each entry is one integer key, ``-score << 64 | seq << 24 | slot``, in a ``RankIndex``:
- ``seq`` is a game-wide counter bumped on every score change, so equal scores order by arrival;
- ``slot`` is the player's small integer number in ``PlayerSlots``, so a key names its owner
  without a dict from keys to players, and a player's current key sits in a list by slot.
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
    """Player ids numbered in order of arrival; shared by the boards of one game."""

    ids: list[str] = field(default_factory=list)
    slot_of: dict[str, int] = field(default_factory=dict)

    def slot(self, player_id: str) -> int:
        slot = self.slot_of.get(player_id)
        if slot is None:
            if len(self.ids) > SLOT_MASK:
                raise OverflowError("too many players for the leaderboard's key")
            slot = self.slot_of[player_id] = len(self.ids)
            self.ids.append(player_id)
        return slot


class Leaderboard:
    """Player ids ranked by score; the game state holds the scores, this holds the order."""

    __slots__ = ("_count", "_index", "_keys", "_slots")

    def __init__(self, slots: PlayerSlots | None = None) -> None:
        self._index = RankIndex()
        self._slots = slots if slots is not None else PlayerSlots()
        self._keys: list[int | None] = []  # current key by slot; None when absent
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _key(self, player_id: str) -> int | None:
        slot = self._slots.slot_of.get(player_id)
        if slot is None or slot >= len(self._keys):
            return None
        return self._keys[slot]

    def __contains__(self, player_id: str) -> bool:
        return self._key(player_id) is not None

    def set(self, player_id: str, score: int, seq: int) -> int:
        """Place the player at ``score`` reached at ``seq``; return the new 1-based rank."""
        return self.set_slot(self._slots.slot(player_id), score, seq)

    def set_slot(self, slot: int, score: int, seq: int) -> int:
        """``set`` for a caller that already knows the player's slot (the push path)."""
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

    def discard(self, player_id: str) -> None:
        key = self._key(player_id)
        if key is not None:
            self._index.remove(key)
            self._keys[key & SLOT_MASK] = None
            self._count -= 1

    def clear(self) -> None:
        self._index.clear()
        self._keys = []
        self._count = 0

    def rank(self, player_id: str) -> int | None:
        """1-based rank, or None when the player has no entry."""
        key = self._key(player_id)
        return None if key is None else self._index.position(key) + 1

    def top(self, n: int) -> list[Entry]:
        return self._entries(0, n)

    def around(self, player_id: str, radius: int) -> list[Entry]:
        """Up to ``radius`` entries either side of the player, the player included."""
        key = self._key(player_id)
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

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        """Every entry as ``(player_id, score, seq)``, best first."""
        ids = self._slots.ids
        for k in self._index:
            yield ids[k & SLOT_MASK], -(k >> SCORE_SHIFT), (k >> SLOT_BITS) & SEQ_MASK

    @classmethod
    def from_entries(
        cls, entries: Iterable[tuple[str, int, int]], slots: PlayerSlots | None = None
    ) -> Leaderboard:
        """Rebuild from ``(player_id, score, seq)`` triples in one sort (start-up, not per push)."""
        slots = slots if slots is not None else PlayerSlots()
        slot = slots.slot
        by_slot = ((slot(pid), score, seq) for pid, score, seq in entries)
        return cls.from_slot_entries(by_slot, slots)

    @classmethod
    def from_slot_entries(
        cls, entries: Iterable[tuple[int, int, int]], slots: PlayerSlots
    ) -> Leaderboard:
        """Rebuild from ``(slot, score, seq)`` triples on slots that already name every player.

        A snapshot stores boards this way: no id is looked up again, which at a million entries
        is most of the time a rebuild by id takes.
        """
        board = cls(slots)
        keys = [
            (-score << SCORE_SHIFT) | ((seq & SEQ_MASK) << SLOT_BITS) | slot
            for slot, score, seq in entries
        ]
        board._keys = [None] * len(slots.ids)
        for key in keys:
            board._keys[key & SLOT_MASK] = key
        board._count = len(keys)
        board._index = RankIndex(keys)
        return board
