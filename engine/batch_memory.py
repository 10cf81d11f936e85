"""A player's recent batch ids and what each push replied, so a retry is a duplicate (SPEC §4).

The memory is two immutable strings on the player, oldest first: the ids, each between newlines
(``"\\nb1\\nb2\\n"``; a batch id cannot hold a newline), and the replies as fixed-width records
in the same order. A dict of ids to reply tuples reads more plainly, but at a million players it
was the largest part of the state: a dict, a key, a 7-tuple and its ints come to about 420 bytes
for one remembered batch. Here that is about 150 bytes, and about 3 KB instead of 20 KB for the
64 the SPEC asks for. A lookup is one substring search in C over at most ``batch_memory`` ids.
"""

from __future__ import annotations

import struct

from engine.players import BatchResult, Player

# accepted, throttled, score, round_score, rank, round_rank, planet_total; a rank of 0 is None
RECORD = struct.Struct("<IIqqIIq")
SEP = "\n"


def recall(player: Player, batch_id: str) -> BatchResult | None:
    """The stored reply to ``batch_id``, or None when the player has not sent it lately."""
    ids = player.batch_ids
    at = ids.find(f"{SEP}{batch_id}{SEP}")
    if at < 0:
        return None
    index = ids.count(SEP, 0, at)  # each earlier id starts with one separator
    accepted, throttled, score, round_score, rank, round_rank, total = RECORD.unpack_from(
        player.batch_results, index * RECORD.size
    )
    return accepted, throttled, score, round_score, rank or None, round_rank or None, total


def remember(player: Player, batch_id: str, result: BatchResult, keep: int) -> None:
    """Add the newest batch and forget the oldest beyond ``keep``."""
    accepted, throttled, score, round_score, rank, round_rank, total = result
    record = RECORD.pack(accepted, throttled, score, round_score, rank or 0, round_rank or 0, total)
    ids, results = player.batch_ids, player.batch_results
    drop = len(results) // RECORD.size + 1 - keep
    if drop > 0:
        cut = 0
        for _ in range(drop):
            cut = ids.index(SEP, cut + 1)
        ids, results = ids[cut:], results[drop * RECORD.size :]
    player.batch_ids = f"{ids or SEP}{batch_id}{SEP}"
    player.batch_results = results + record


def remembered(player: Player) -> list[str]:
    """The remembered ids, oldest first."""
    return player.batch_ids.split(SEP)[1:-1]
