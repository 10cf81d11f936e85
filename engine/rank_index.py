"""An order-statistics multiset of integer keys: insert, remove and rank in O(log n).

Keys live in sorted blocks of about ``LOAD`` integers with a Fenwick tree over the block sizes,
the layout of ``sortedcontainers.SortedList`` but with the moves the leaderboard needs fused into
one call: ``move`` takes a key out, puts its successor in and returns the new rank, touching the
Fenwick tree only when the key changes block. At 1,000,000 keys this is about three times faster
than ``remove`` + ``add`` + ``bisect_left`` on a ``SortedList`` (see bench/engine_bench.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

LOAD = 1000


class RankIndex:
    """Sorted integer keys with 0-based positions; all keys are distinct."""

    __slots__ = ("_blocks", "_len", "_maxes", "_tree")

    def __init__(self, keys: list[int] | None = None) -> None:
        self._blocks: list[list[int]] = []
        self._maxes: list[int] = []
        self._tree: list[int] = []
        self._len = 0
        if keys:
            ordered = sorted(keys)
            self._blocks = [ordered[i : i + LOAD] for i in range(0, len(ordered), LOAD)]
            self._maxes = [b[-1] for b in self._blocks]
            self._len = len(ordered)
            self._rebuild()

    def __len__(self) -> int:
        return self._len

    def _rebuild(self) -> None:
        tree = [len(b) for b in self._blocks]
        n = len(tree)
        for i in range(n):
            parent = i | (i + 1)
            if parent < n:
                tree[parent] += tree[i]
        self._tree = tree

    def _add(self, block: int, delta: int) -> None:
        tree = self._tree
        n = len(tree)
        while block < n:
            tree[block] += delta
            block |= block + 1

    def _before(self, block: int) -> int:
        """How many keys lie in the blocks before ``block``."""
        tree = self._tree
        total = 0
        block -= 1
        while block >= 0:
            total += tree[block]
            block = (block & (block + 1)) - 1
        return total

    def _block_for(self, key: int) -> int:
        b = bisect_left(self._maxes, key)
        return b if b < len(self._maxes) else len(self._maxes) - 1

    def insert(self, key: int) -> int:
        """Add ``key``; return its 0-based position."""
        if not self._blocks:
            self._blocks.append([key])
            self._maxes.append(key)
            self._tree = [1]
            self._len = 1
            return 0
        b = self._block_for(key)
        position = self._insert_into(b, key)
        self._len += 1
        return position

    def _insert_into(self, b: int, key: int) -> int:
        block = self._blocks[b]
        i = bisect_left(block, key)
        block.insert(i, key)
        if key > self._maxes[b]:
            self._maxes[b] = key
        if len(block) > 2 * LOAD:
            half = len(block) >> 1
            self._blocks.insert(b + 1, block[half:])
            del block[half:]
            self._maxes.insert(b + 1, self._maxes[b])
            self._maxes[b] = block[-1]
            self._rebuild()
        else:
            self._add(b, 1)
        return self._before(b) + i if i < len(block) else self._before(b + 1) + i - len(block)

    def remove(self, key: int) -> None:
        """Take out ``key``, which must be present."""
        b = bisect_left(self._maxes, key)
        block = self._blocks[b]
        i = bisect_left(block, key)
        if i == len(block) or block[i] != key:
            raise KeyError(key)
        self._remove_at(b, i)
        self._len -= 1

    def _remove_at(self, b: int, i: int) -> None:
        block = self._blocks[b]
        del block[i]
        if not block:
            del self._blocks[b]
            del self._maxes[b]
            self._rebuild()
            return
        if i == len(block):
            self._maxes[b] = block[-1]
        self._add(b, -1)

    def move(self, old: int, new: int) -> int:
        """Replace ``old`` by ``new`` and return the new 0-based position."""
        maxes = self._maxes
        a = bisect_left(maxes, old)
        block = self._blocks[a]
        i = bisect_left(block, old)
        if i == len(block) or block[i] != old:
            raise KeyError(old)
        b = bisect_left(maxes, new)
        if b == len(maxes):
            b -= 1
        if a == b and len(block) > 1:
            del block[i]
            j = bisect_left(block, new)
            block.insert(j, new)
            maxes[a] = block[-1]
            return self._before(a) + j
        self._remove_at(a, i)
        self._len -= 1
        return self.insert(new)

    def position(self, key: int) -> int:
        """0-based position of a present ``key``."""
        b = bisect_left(self._maxes, key)
        return self._before(b) + bisect_left(self._blocks[b], key)

    def slice(self, start: int, stop: int) -> list[int]:
        """Keys at positions ``start`` (inclusive) to ``stop`` (exclusive)."""
        start = max(start, 0)
        stop = min(stop, self._len)
        if start >= stop:
            return []
        # Walk the Fenwick tree down to the block holding position ``start`` (binary lifting).
        tree = self._tree
        n = len(tree)
        b, remaining = 0, start
        step = 1 << n.bit_length()
        while step:
            nxt = b + step
            if nxt <= n and tree[nxt - 1] <= remaining:
                b = nxt
                remaining -= tree[nxt - 1]
            step >>= 1
        out: list[int] = []
        want = stop - start
        blocks = self._blocks
        while len(out) < want and b < len(blocks):
            out.extend(blocks[b][remaining : remaining + want - len(out)])
            remaining = 0
            b += 1
        return out

    def __iter__(self) -> Iterator[int]:
        for block in self._blocks:
            yield from block

    def clear(self) -> None:
        self._blocks, self._maxes, self._tree, self._len = [], [], [], 0
