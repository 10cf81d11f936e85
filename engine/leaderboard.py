"""Leaderboards: score descending, ties broken by who reached the score first (SPEC §3).

Each entry is one integer key, ``-score << SEQ_BITS | seq``, in a ``RankIndex``. Integer keys
compare in C where tuples compare element by element in Python, which matters at 1,000,000
entries. ``seq`` is a game-wide counter bumped on every score change, so equal scores order by
arrival and no two keys are equal. Top N, rank and the entries around a player are O(log n).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.rank_index import RankIndex

SEQ_BITS = 44  # 1.7e13 score changes before the sequence could reach the score bits
SEQ_MASK = (1 << SEQ_BITS) - 1

Entry = tuple[int, str, int]  # (rank, player_id, score)


class Leaderboard:
    """Player ids ranked by score; the game state holds the scores, this holds the order."""

    __slots__ = ("_index", "_key_of", "_owner")

    def __init__(self) -> None:
        self._index = RankIndex()
        self._owner: dict[int, str] = {}
        self._key_of: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._key_of)

    def __contains__(self, player_id: str) -> bool:
        return player_id in self._key_of

    def set(self, player_id: str, score: int, seq: int) -> int:
        """Place the player at ``score`` reached at ``seq``; return the new 1-based rank."""
        key = (-score << SEQ_BITS) | seq
        old = self._key_of.get(player_id)
        if old is None:
            position = self._index.insert(key)
        else:
            position = self._index.move(old, key)
            del self._owner[old]
        self._owner[key] = player_id
        self._key_of[player_id] = key
        return position + 1

    def discard(self, player_id: str) -> None:
        key = self._key_of.pop(player_id, None)
        if key is not None:
            self._index.remove(key)
            del self._owner[key]

    def clear(self) -> None:
        self._index.clear()
        self._owner.clear()
        self._key_of.clear()

    def rank(self, player_id: str) -> int | None:
        """1-based rank, or None when the player has no entry."""
        key = self._key_of.get(player_id)
        return None if key is None else self._index.position(key) + 1

    def top(self, n: int) -> list[Entry]:
        return self._entries(0, n)

    def around(self, player_id: str, radius: int) -> list[Entry]:
        """Up to ``radius`` entries either side of the player, the player included."""
        key = self._key_of.get(player_id)
        if key is None:
            return []
        position = self._index.position(key)
        start = max(0, position - radius)
        return self._entries(start, position + radius + 1 - start)

    def _entries(self, start: int, count: int) -> list[Entry]:
        keys = self._index.slice(start, start + count)
        owner = self._owner
        return [(start + i + 1, owner[k], -(k >> SEQ_BITS)) for i, k in enumerate(keys)]

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        """Every entry as ``(player_id, score, seq)``, best first."""
        owner = self._owner
        for k in self._index:
            yield owner[k], -(k >> SEQ_BITS), k & SEQ_MASK

    @classmethod
    def from_entries(cls, entries: list[tuple[str, int, int]]) -> Leaderboard:
        """Rebuild from ``(player_id, score, seq)`` triples in one sort (start-up, not per push)."""
        board = cls()
        keys = []
        for player_id, score, seq in entries:
            key = (-score << SEQ_BITS) | seq
            keys.append(key)
            board._owner[key] = player_id
            board._key_of[player_id] = key
        board._index = RankIndex(keys)
        return board
