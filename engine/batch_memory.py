"""A player's recent batch ids and what each push replied, so a retry is a duplicate (SPEC §4).

The memory is two immutable values on the player: the ids, oldest first, as a tuple, and the
replies as one bytes string of fixed-width records in the same order. A dict of ids to tuples
reads more plainly, but at a million players it was the largest part of the state: a dict, a
7-tuple and the int objects in it come to about 420 bytes for one remembered batch; here it is
about 180, and about 7 KB instead of 20 KB for the 64 the SPEC asks for. Looking an id up scans
at most ``batch_memory`` ids in C, and both values are replaced, never changed, so a snapshot's
forked child and the live game can never see one half-written.
"""

from __future__ import annotations

import struct

from engine.players import BatchResult, Player

# accepted, throttled, score, round_score, rank, round_rank, planet_total; a rank of 0 is None
RECORD = struct.Struct("<IIqqIIq")


def recall(player: Player, batch_id: str) -> BatchResult | None:
    """The stored reply to ``batch_id``, or None when the player has not sent it lately."""
    try:
        i = player.batch_ids.index(batch_id)
    except ValueError:
        return None
    accepted, throttled, score, round_score, rank, round_rank, total = RECORD.unpack_from(
        player.batch_results, i * RECORD.size
    )
    return accepted, throttled, score, round_score, rank or None, round_rank or None, total


def remember(player: Player, batch_id: str, result: BatchResult, keep: int) -> None:
    """Add the newest batch and forget the oldest beyond ``keep``."""
    accepted, throttled, score, round_score, rank, round_rank, total = result
    record = RECORD.pack(accepted, throttled, score, round_score, rank or 0, round_rank or 0, total)
    ids, results = player.batch_ids, player.batch_results
    drop = len(ids) + 1 - keep
    if drop > 0:
        ids, results = ids[drop:], results[drop * RECORD.size :]
    player.batch_ids = (*ids, batch_id)
    player.batch_results = results + record
