"""Columns of every player by slot, for the admin listing's filters, search and sort (SPEC §8).

The listing runs inside an actor turn over up to a million players, so it must not walk the
players in Python. This index mirrors what the listing filters and sorts on into one numpy
column per field, addressed by ``Player.slot``: a filter is one vectorised comparison, a count
is a sum, a sort is a partition. The game keeps it current with one call where a player changes
(``add`` at creation, ``clicked`` in the push path, ``sync`` after an admin move, ``renamed``).

- The round score is stored with the round it belongs to, as on the player: a query compares
  the round column with the current round's id, so a new round needs no sweep (SPEC §3).
- Names are searched as lower-cased UTF-8 bytes joined with newlines, in blocks of ``BLOCK``
  slots, each a numpy byte array: the needle's bytes are compared on a shrinking set of
  candidate offsets (``name_hits``), and a binary search over the block's name starts gives the
  hits' slots. A rename only marks its block for a re-join at the next search, so creating or
  renaming players costs no more than a flag.
- An id prefix is found on an 8-byte big-endian key of the lower-cased id, compared as a range;
  a prefix longer than 8 bytes is checked exactly on the few candidates the range leaves.
- Names sort by two 8-byte keys of the lower-cased UTF-8 name, i.e. by its first 16 bytes; names
  that agree on those (a rare 17-24 character pair) fall back to creation order.

Plain numpy arrays rather than ``array.array`` viewed by ``numpy.frombuffer``: an ``array``
cannot grow while a view of it is alive, and a view kept by a traceback would make the next
player's creation fail. Writing one numpy element costs about 0.1 µs, four on each push.
"""

from __future__ import annotations

import itertools
import operator
from collections import deque
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from engine.players import BANNED, STATUSES, Player

BLOCK = 4096  # names joined per block: a rename re-joins 4,096 names, about 0.5 ms
NO_TIME = np.nan
KEY_BYTES = 8

INT_COLUMNS = ("score", "round_score")
KEY_COLUMNS = frozenset({"id_key", "name_key1", "name_key2"})
COLUMNS: dict[str, type] = {
    "score": np.int64,
    "round_score": np.int64,
    "round_id": np.int64,
    "last_click": np.float64,
    "created": np.float64,
    "planet": np.uint8,
    "status": np.uint8,
    "flagged": np.uint8,
    "id_key": np.uint64,
    "name_key1": np.uint64,
    "name_key2": np.uint64,
}
STATUS_CODE = {status: code for code, status in enumerate(STATUSES)}


def _keys(texts: Iterable[str], n: int, words: int) -> np.ndarray:
    """The first ``8 * words`` bytes of each lower-cased UTF-8 text as big-endian numbers.

    ASCII texts (every id the server makes, most names) are lower-cased in one string and
    converted by numpy; others are encoded one by one (about 1 µs each).
    """
    if n == 0:
        return np.zeros((0, words), np.uint64)
    width = f"S{KEY_BYTES * words}"
    listed = list(texts)
    joined = "\n".join(listed).lower()
    parts = joined.split("\n") if joined.isascii() else []
    if len(parts) == n:
        raw = np.array(parts, dtype=width)  # numpy truncates, and pads with NUL bytes
    else:
        raw = np.array([t.lower().encode() for t in listed], dtype=width)
    return raw.view(">u8").reshape(n, words).astype(np.uint64)


def text_key(text: str, start: int = 0) -> int:
    """Bytes ``start`` to ``start + 8`` of the lower-cased UTF-8 text as a big-endian number."""
    return int.from_bytes(text.lower().encode()[start : start + KEY_BYTES].ljust(KEY_BYTES, b"\0"))


class PlayerIndex:
    """Numpy columns by slot; ``n`` players are indexed, the arrays may hold spare room."""

    __slots__ = (
        "_blocks",
        "_cols",
        "_dirty",
        "_keyed",
        "_starts",
        "by_slot",
        "n",
        "planet_code",
        "planets",
    )

    def __init__(self, planets: Sequence[str], capacity: int = 1024) -> None:
        self.planets = list(planets)
        self.planet_code = {name: code for code, name in enumerate(self.planets)}
        self.n = 0
        self.by_slot: list[Player] = []
        self._cols = {name: np.zeros(capacity, dtype) for name, dtype in COLUMNS.items()}
        self._blocks: list[np.ndarray | None] = []
        self._starts: list[np.ndarray | None] = []
        self._dirty: set[int] = set()  # slots whose push-path columns wait for ``_flush``
        self._keyed = True  # the id and name keys are current (see ``build``)

    @classmethod
    def build(
        cls, players: Iterable[Player], planets: Sequence[str], flagged: Iterable[str] = ()
    ) -> PlayerIndex:
        """The index of a loaded game, built column by column without a Python step per field.

        The id and name keys (about 0.9 s of it at a million players) are left to the first read
        of a key column, so a start-up does not wait for a search no one has asked for yet; the
        name blocks are joined at the first search too.
        """
        listed = list(players)
        n = len(listed)
        by_slot: list[Any] = [None] * n
        deque(map(by_slot.__setitem__, map(attrgetter("slot"), listed), listed), maxlen=0)
        if any(map(operator.is_, by_slot, itertools.repeat(None))):
            raise ValueError("the players' slots do not number them 0 to n-1")
        index = cls(planets, max(1024, n + n // 8))
        index.by_slot = by_slot
        index.n = n
        cols = index._cols

        def fill(name: str, values: Iterable[Any]) -> None:
            cols[name][:n] = np.fromiter(values, cols[name].dtype, n)

        fill("score", map(attrgetter("score"), by_slot))
        fill("round_score", map(attrgetter("round_score"), by_slot))
        fill("round_id", map(attrgetter("round_id"), by_slot))
        fill(
            "last_click", (NO_TIME if p.last_click_at is None else p.last_click_at for p in by_slot)
        )
        fill("created", map(attrgetter("created_at"), by_slot))
        fill("planet", map(index.planet_code.__getitem__, map(attrgetter("planet"), by_slot)))
        fill("status", map(STATUS_CODE.__getitem__, map(attrgetter("status"), by_slot)))
        index._keyed = False
        index._blocks = [None] * ((n + BLOCK - 1) // BLOCK)
        index._starts = [None] * len(index._blocks)
        wanted = set(flagged)
        for player in listed if wanted else ():
            if player.id in wanted:
                cols["flagged"][player.slot] = 1
        return index

    # -- keeping it current: one call where a player changes ---------------------------------

    def add(self, player: Player) -> None:
        """A new player, whose slot is the next one."""
        slot = player.slot
        if slot != self.n:
            raise ValueError(f"slot {slot} is not the next one ({self.n})")
        if slot >= len(self._cols["score"]):
            self._grow(2 * len(self._cols["score"]))
        self.by_slot.append(player)
        self.n += 1
        self._write(player)
        if slot // BLOCK >= len(self._blocks):
            self._blocks.append(None)
            self._starts.append(None)
        else:
            self._blocks[slot // BLOCK] = None

    def clicked(self, player: Player) -> None:
        """What a push changes (both scores, their round, the last click) is only noted here.

        A push is the hot path and a listing is rare: four numpy element writes per push cost
        more than the rest of the index, so the columns of the noted players are written in
        one vectorised pass before the next read (``column``).
        """
        self._dirty.add(player.slot)

    def _flush(self) -> None:
        dirty = self._dirty
        if not dirty:
            return
        count = len(dirty)
        slots = np.fromiter(dirty, np.int64, count)
        players = [self.by_slot[slot] for slot in slots.tolist()]
        cols = self._cols
        for name, field in (("score", "score"), ("round_score", "round_score")):
            cols[name][slots] = np.fromiter(map(attrgetter(field), players), np.int64, count)
        cols["round_id"][slots] = np.fromiter(map(attrgetter("round_id"), players), np.int64, count)
        last = (NO_TIME if p.last_click_at is None else p.last_click_at for p in players)
        cols["last_click"][slots] = np.fromiter(last, np.float64, count)
        dirty.clear()

    def sync(self, player: Player) -> None:
        """Everything but the name, after an admin move (status, planet, scores)."""
        self.clicked(player)
        cols, slot = self._cols, player.slot
        cols["planet"][slot] = self.planet_code[player.planet]
        cols["status"][slot] = STATUS_CODE[player.status]

    def renamed(self, player: Player) -> None:
        cols, slot = self._cols, player.slot
        if self._keyed:
            cols["name_key1"][slot] = text_key(player.name)
            cols["name_key2"][slot] = text_key(player.name, KEY_BYTES)
        self._blocks[slot // BLOCK] = None

    def set_flagged(self, slot: int, flagged: bool) -> None:
        self._cols["flagged"][slot] = flagged

    def is_flagged(self, slot: int) -> bool:
        return bool(self._cols["flagged"][slot])

    def _write(self, player: Player) -> None:
        slot = player.slot
        self.sync(player)
        self._cols["created"][slot] = player.created_at
        if self._keyed:
            self._cols["id_key"][slot] = text_key(player.id)
            self._cols["name_key1"][slot] = text_key(player.name)
            self._cols["name_key2"][slot] = text_key(player.name, KEY_BYTES)

    def _build_keys(self) -> None:
        """Every player's id and name keys in one vectorised pass (deferred by ``build``)."""
        n, cols, by_slot = self.n, self._cols, self.by_slot
        cols["id_key"][:n] = _keys(map(attrgetter("id"), by_slot), n, 1)[:, 0]
        names = _keys(map(attrgetter("name"), by_slot), n, 2)
        cols["name_key1"][:n], cols["name_key2"][:n] = names[:, 0], names[:, 1]
        self._keyed = True

    def _grow(self, capacity: int) -> None:
        for name, column in self._cols.items():
            grown = np.zeros(capacity, column.dtype)
            grown[: len(column)] = column
            self._cols[name] = grown

    # -- reading ----------------------------------------------------------------------------

    def column(self, name: str) -> np.ndarray:
        """The column of ``n`` players (a view: read it within the turn, never keep it)."""
        self._flush()
        if not self._keyed and name in KEY_COLUMNS:
            self._build_keys()
        return self._cols[name][: self.n]

    def banned_code(self) -> int:
        return STATUS_CODE[BANNED]

    def name_hits(self, text: str) -> np.ndarray:
        """Slots whose lower-cased name contains ``text`` (lower-cased), in slot order.

        Each block is the names' lower-cased UTF-8 bytes, newline-separated, as a numpy array;
        a match is found by comparing the needle's bytes one at a time on the shrinking set of
        candidate positions, so the cost is one pass over the bytes whatever the number of hits
        (a substring of UTF-8 bytes is a substring of the text: UTF-8 is self-synchronising).
        """
        needle = np.frombuffer(text.lower().encode(), np.uint8)
        hits = []
        for b in range(len(self._blocks)):
            data, starts = self._block(b)
            end = len(data) - len(needle) + 1
            if end <= 0:
                continue
            at = np.flatnonzero(data[:end] == needle[0])
            for j in range(1, len(needle)):
                if not len(at):
                    break
                at = at[data[at + j] == needle[j]]
            if len(at):
                local = np.searchsorted(starts, at, side="right") - 1
                hits.append(np.unique(local) + b * BLOCK)  # a name with two hits counts once
        return np.concatenate(hits) if hits else np.zeros(0, np.int64)

    def id_prefix_hits(self, prefix: str) -> np.ndarray:
        """Slots whose lower-cased id starts with ``prefix`` (lower-cased), in slot order."""
        raw = prefix.lower().encode()
        head = raw[:KEY_BYTES]
        low = int.from_bytes(head.ljust(KEY_BYTES, b"\0"))
        high = int.from_bytes(head.ljust(KEY_BYTES, b"\xff"))
        keys = self.column("id_key")
        slots = np.flatnonzero((keys >= np.uint64(low)) & (keys <= np.uint64(high)))
        if len(raw) > KEY_BYTES or b"\0" in head:
            needle = prefix.lower()
            by_slot = self.by_slot
            slots = np.array(
                [s for s in slots.tolist() if by_slot[s].id.lower().startswith(needle)],
                np.int64,
            )
        return slots

    def _block(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        data, starts = self._blocks[b], self._starts[b]
        if data is None or starts is None:
            names = [p.name.lower().encode() for p in self.by_slot[b * BLOCK : (b + 1) * BLOCK]]
            data = np.frombuffer(b"\n".join(names) + b"\n", np.uint8)
            starts = np.zeros(len(names), np.int64)
            np.cumsum([len(name) + 1 for name in names[:-1]], out=starts[1:])
            self._blocks[b], self._starts[b] = data, starts
        return data, starts

    def memory_bytes(self) -> int:
        """What the index holds beyond the players themselves (reported by the admin bench)."""
        columns = sum(c.nbytes for c in self._cols.values())
        names = sum(j.nbytes for j in self._blocks if j is not None)
        starts = sum(s.nbytes for s in self._starts if s is not None)
        by_slot = 8 * len(self.by_slot) + 56
        return columns + names + starts + by_slot
