"""Columns of every player by slot, for the admin listing's filters, search and sort (SPEC §8).

The listing runs inside an actor turn over up to a million players, so it must not walk the
players in Python. This index mirrors what the listing filters and sorts on into one numpy
column per field, addressed by ``Player.slot``: a filter is one vectorised comparison, a count
is a sum, a sort is a partition. The game keeps it current with one call where a player changes
(``add`` at creation, ``clicked`` in the push path, ``sync`` after an admin move, ``renamed``).

- The round score is stored with the round it belongs to, as on the player: a query compares
  the round column with the current round's id, so a new round needs no sweep (SPEC §3).
- Names are searched in byte blocks (``engine/admin/name_blocks.py``); a rename or a new player only
  drops its block, joined again when next needed.
- An id prefix is found on an 8-byte big-endian key of the lower-cased id, compared as a range;
  a prefix longer than 8 bytes is checked exactly on the few candidates the range leaves.
- Names sort by two 8-byte keys of the lower-cased UTF-8 name, i.e. by its first 16 bytes; names
  that agree on those (a rare 17-24 character pair) fall back to creation order.
- The id and name keys of a loaded game (about 0.9 s at a million players) are built in steps of
  a few thousand players (``key_step``), which the server runs between turns; a read of a key
  column before they are done builds the rest at once.
- ``changed`` marks every slot written since the listing's copy
  (``engine/admin/index_copy.py``) last took it, so the copy is brought up to date by copying
  those slots only.

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

from engine.admin.name_blocks import NameBlocks
from engine.players import BANNED, STATUSES, Player

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
        "_cols",
        "_dirty",
        "_keyed_upto",
        "by_slot",
        "changed",
        "copied_by",
        "n",
        "names",
        "planet_code",
        "planets",
    )

    def __init__(
        self, planets: Sequence[str], capacity: int = 1024, by_slot: list[Player] | None = None
    ) -> None:
        self.planets = list(planets)
        self.planet_code = {name: code for code, name in enumerate(self.planets)}
        self.by_slot: list[Player] = [] if by_slot is None else by_slot
        self.n = len(self.by_slot)
        self._cols: dict[str, np.ndarray] = {
            name: np.zeros(capacity, dtype) for name, dtype in COLUMNS.items()
        }
        self.names = NameBlocks(self.by_slot)
        self._dirty: set[int] = set()  # slots whose push-path columns wait for ``flush``
        self._keyed_upto = self.n  # slots below have their id and name keys (see ``build``)
        self.changed = np.zeros(capacity, bool)  # written since the copy took them
        self.copied_by: object = None  # the one copy ``changed`` is kept for

    @classmethod
    def build(
        cls, players: Iterable[Player], planets: Sequence[str], flagged: Iterable[str] = ()
    ) -> PlayerIndex:
        """The index of a loaded game, built column by column without a Python step per field.

        The id and name keys (about 0.9 s of it at a million players) are left to ``key_step``
        or the first read of a key column, so a start-up does not wait for a search no one has
        asked for yet; the name blocks are joined when first searched too.
        """
        listed = list(players)
        n = len(listed)
        by_slot: list[Any] = [None] * n
        deque(map(by_slot.__setitem__, map(attrgetter("slot"), listed), listed), maxlen=0)
        if any(map(operator.is_, by_slot, itertools.repeat(None))):
            raise ValueError("the players' slots do not number them 0 to n-1")
        index = cls(planets, max(1024, n + n // 8), by_slot)
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
        index._keyed_upto = 0
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
        self.names.changed(slot)

    def clicked(self, player: Player) -> None:
        """What a push changes (both scores, their round, the last click) is only noted here.

        A push is the hot path and a listing is rare: four numpy element writes per push cost
        more than the rest of the index, so the columns of the noted players are written in
        one vectorised pass before the next read (``column``).
        """
        self._dirty.add(player.slot)

    def flush(self) -> None:
        """Write the columns of the players noted by ``clicked``."""
        dirty = self._dirty
        if not dirty:
            return
        count = len(dirty)
        slots = np.fromiter(dirty, np.int64, count)
        self.changed[slots] = True
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
        self.changed[slot] = True

    def renamed(self, player: Player) -> None:
        cols, slot = self._cols, player.slot
        if slot < self._keyed_upto:
            cols["name_key1"][slot] = text_key(player.name)
            cols["name_key2"][slot] = text_key(player.name, KEY_BYTES)
            self.changed[slot] = True
        self.names.changed(slot)

    def set_flagged(self, slot: int, flagged: bool) -> None:
        self._cols["flagged"][slot] = flagged
        self.changed[slot] = True

    def is_flagged(self, slot: int) -> bool:
        return bool(self._cols["flagged"][slot])

    def _write(self, player: Player) -> None:
        slot = player.slot
        self.sync(player)
        self._cols["created"][slot] = player.created_at
        if self._keyed_upto == slot:  # every earlier player is keyed: key this one now
            self._cols["id_key"][slot] = text_key(player.id)
            self._cols["name_key1"][slot] = text_key(player.name)
            self._cols["name_key2"][slot] = text_key(player.name, KEY_BYTES)
            self._keyed_upto += 1

    @property
    def keyed(self) -> bool:
        """Every player's id and name keys are built."""
        return self._keyed_upto == self.n

    def key_step(self, limit: int) -> bool:
        """Build the id and name keys of at most ``limit`` more players; True once all have them.

        Vectorised over the step's players; the server runs it between turns, a few thousand
        players at a time, so the keys a loaded game left unbuilt never take one long turn.
        """
        start, cols = self._keyed_upto, self._cols
        stop = min(self.n, start + limit)
        if start < stop:
            chunk = self.by_slot[start:stop]
            count = stop - start
            cols["id_key"][start:stop] = _keys(map(attrgetter("id"), chunk), count, 1)[:, 0]
            names = _keys(map(attrgetter("name"), chunk), count, 2)
            cols["name_key1"][start:stop], cols["name_key2"][start:stop] = names[:, 0], names[:, 1]
            self.changed[start:stop] = True
            self._keyed_upto = stop
        return self._keyed_upto == self.n

    def _grow(self, capacity: int) -> None:
        for name, column in self._cols.items():
            grown = np.zeros(capacity, column.dtype)
            grown[: len(column)] = column
            self._cols[name] = grown
        changed = np.zeros(capacity, bool)
        changed[: len(self.changed)] = self.changed
        self.changed = changed

    # -- reading ----------------------------------------------------------------------------

    def column(self, name: str) -> np.ndarray:
        """The column of ``n`` players (a view: read it within the turn, never keep it)."""
        self.flush()
        if name in KEY_COLUMNS:
            self.key_step(self.n)
        return self._cols[name][: self.n]

    def raw_columns(self) -> dict[str, np.ndarray]:
        """Every column with its spare room, for the listing's copy (``index_copy.py``) to read."""
        return self._cols

    def banned_code(self) -> int:
        return STATUS_CODE[BANNED]

    def name_hits(self, text: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Slots from ``start`` to ``stop`` whose lower-cased name contains ``text``
        (lower-cased), in slot order."""
        return self.names.hits(text, start, stop)

    def id_prefix_hits(self, prefix: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        return id_prefix_hits(self.column("id_key")[start:stop], self.by_slot, prefix, start)

    def memory_bytes(self) -> int:
        """What the index holds beyond the players themselves (reported by the admin bench)."""
        columns = sum(c.nbytes for c in self._cols.values()) + self.changed.nbytes
        by_slot = 8 * len(self.by_slot) + 56
        return columns + self.names.memory_bytes() + by_slot


def id_prefix_hits(
    keys: np.ndarray, by_slot: Sequence[Player], prefix: str, start: int = 0
) -> np.ndarray:
    """Slots whose lower-cased id starts with ``prefix`` (lower-cased), in slot order;
    ``keys`` are the id keys of the slots from ``start`` on."""
    raw = prefix.lower().encode()
    head = raw[:KEY_BYTES]
    low = int.from_bytes(head.ljust(KEY_BYTES, b"\0"))
    high = int.from_bytes(head.ljust(KEY_BYTES, b"\xff"))
    slots = np.flatnonzero((keys >= np.uint64(low)) & (keys <= np.uint64(high))) + start
    if len(raw) > KEY_BYTES or b"\0" in head:
        needle = prefix.lower()
        slots = np.array(
            [s for s in slots.tolist() if by_slot[s].id.lower().startswith(needle)],
            np.int64,
        )
    return slots
