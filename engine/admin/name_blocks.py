"""Players' names as byte blocks, for the admin listing's substring search (SPEC §8).

Names are searched as lower-cased UTF-8 bytes joined with newlines, in blocks of ``BLOCK``
slots, each a numpy byte array with the offsets where its names start: the needle's bytes are
compared on a shrinking set of candidate offsets (``search``), and a binary search over the
starts gives the hits' slots. A block is never changed once joined: a rename or a new player
only drops its block, which is joined again when next needed (``build_step``, or at the next
search), so creating or renaming players costs no more than that, and a tuple of blocks taken at
one moment (``taken``) stays true to that moment whatever happens to the names afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.players import Player

BLOCK = 4096  # names joined per block: a rename re-joins 4,096 names, about 0.5 ms
Block = tuple[np.ndarray, np.ndarray]  # the names' bytes, and where each name starts


def join(players: Sequence[Player]) -> Block:
    """One block: the players' lower-cased names, newline-separated, and their offsets."""
    names = [p.name.lower().encode() for p in players]
    data = np.frombuffer(b"\n".join(names) + b"\n", np.uint8)
    starts = np.zeros(len(names), np.int64)
    np.cumsum([len(name) + 1 for name in names[:-1]], out=starts[1:])
    return data, starts


def search(blocks: Sequence[Block], text: str) -> np.ndarray:
    """Slots whose lower-cased name contains ``text`` (lower-cased), in slot order.

    The cost is one pass over the bytes whatever the number of hits (a substring of UTF-8
    bytes is a substring of the text: UTF-8 is self-synchronising).
    """
    hits = [search_joined(block, text) + b * BLOCK for b, block in enumerate(blocks)]
    return np.concatenate(hits) if hits else np.zeros(0, np.int64)


def search_joined(block: Block, text: str) -> np.ndarray:
    """The positions, among the block's names, of those that contain ``text``, in order."""
    data, starts = block
    needle = np.frombuffer(text.lower().encode(), np.uint8)
    end = len(data) - len(needle) + 1
    if end <= 0:
        return np.zeros(0, np.int64)
    at = np.flatnonzero(data[:end] == needle[0])
    for j in range(1, len(needle)):
        if not len(at):
            break
        at = at[data[at + j] == needle[j]]
    local = np.searchsorted(starts, at, side="right") - 1  # in order, as ``at`` is
    if len(local) < 2:
        return local
    return local[np.concatenate(([True], local[1:] != local[:-1]))]  # two hits count once


def join_blocks(blocks: Sequence[Block]) -> Block:
    """Blocks in order as one block: the names of all their players."""
    if not blocks:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64)
    offsets = np.cumsum([0] + [len(data) for data, _ in blocks[:-1]])
    data = np.concatenate([data for data, _ in blocks])
    starts = np.concatenate([s + offset for (_, s), offset in zip(blocks, offsets, strict=True)])
    return data, starts


class NameBlocks:
    """The blocks of ``by_slot``'s names; ``None`` where a block waits to be joined."""

    __slots__ = ("_blocks", "by_slot")

    def __init__(self, by_slot: list[Player]) -> None:
        self.by_slot = by_slot
        self._blocks: list[Block | None] = [None] * (-(-len(by_slot) // BLOCK))

    def changed(self, slot: int) -> None:
        """The player of ``slot`` was added or renamed: its block is joined again when needed."""
        b = slot // BLOCK
        if b == len(self._blocks):
            self._blocks.append(None)
        else:
            self._blocks[b] = None

    def build_step(self, limit: int) -> bool:
        """Join at most ``limit`` waiting blocks; True once none waits."""
        for b, block in enumerate(self._blocks):
            if block is None:
                if limit <= 0:
                    return False
                self._blocks[b] = join(self.by_slot[b * BLOCK : (b + 1) * BLOCK])
                limit -= 1
        return True

    def taken(self) -> tuple[Block, ...]:
        """Every block as it is now, joined if it waits; none of them will change."""
        self.build_step(len(self._blocks))
        return tuple(block for block in self._blocks if block is not None)

    def hits(self, text: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Slots from ``start`` to ``stop`` whose name contains ``text``: only the blocks
        holding that window are searched (a bulk job's step tests a window of slots)."""
        if start == 0 and stop is None:
            return search(self.taken(), text)
        stop = len(self.by_slot) if stop is None else min(stop, len(self.by_slot))
        found = []
        for b in range(start // BLOCK, -(-stop // BLOCK)):
            block = self._blocks[b]
            if block is None:
                block = self._blocks[b] = join(self.by_slot[b * BLOCK : (b + 1) * BLOCK])
            found.append(search_joined(block, text) + b * BLOCK)
        hits = np.concatenate(found) if found else np.zeros(0, np.int64)
        return hits[(hits >= start) & (hits < stop)]

    def memory_bytes(self) -> int:
        return sum(d.nbytes + s.nbytes for d, s in filter(None, self._blocks))
