"""A player's batch memory: what a retried batch gets back, and which ids are forgotten."""

from __future__ import annotations

from engine import batch_memory
from engine.players import Player

T0 = 1_700_000_000.0


def blank() -> Player:
    return Player(id="p", name="P", planet="earth", created_at=T0, tokens=0.0, tokens_at=T0)


def test_an_id_never_sent_is_not_recalled() -> None:
    player = blank()
    assert batch_memory.recall(player, "b1") is None
    batch_memory.remember(player, "b1", (1, 0, 1, 1, 1, 1, 1), 64)
    assert batch_memory.recall(player, "b2") is None


def test_a_reply_comes_back_as_it_was_stored() -> None:
    """Absent ranks stay None and large scores and totals keep every digit."""
    player = blank()
    first = (0, 12, 2**40, 0, 7, None, 2**50)
    second = (20, 0, 2**40 + 20, 20, 1, 3, 2**50 + 20)
    batch_memory.remember(player, "first", first, 64)
    batch_memory.remember(player, "second", second, 64)
    assert batch_memory.recall(player, "first") == first
    assert batch_memory.recall(player, "second") == second


def test_the_oldest_ids_are_forgotten_beyond_the_limit() -> None:
    player = blank()
    for i in range(5):
        batch_memory.remember(player, f"b{i}", (i, 0, i, i, i + 1, i + 1, i), 3)
    assert batch_memory.remembered(player) == ["b2", "b3", "b4"]
    assert [batch_memory.recall(player, f"b{i}") for i in range(2)] == [None, None]
    assert batch_memory.recall(player, "b3") == (3, 0, 3, 3, 4, 4, 3)


def test_a_smaller_limit_drops_several_at_once() -> None:
    """Lowering BATCH_MEMORY between restarts trims a longer memory on the next push."""
    player = blank()
    for i in range(6):
        batch_memory.remember(player, f"b{i}", (1, 0, 1, 1, 1, 1, 1), 64)
    batch_memory.remember(player, "new", (2, 0, 2, 2, 2, 2, 2), 2)
    assert batch_memory.remembered(player) == ["b5", "new"]
    assert batch_memory.recall(player, "b5") == (1, 0, 1, 1, 1, 1, 1)
    assert len(player.batch_results) == 2 * batch_memory.RECORD.size


def test_an_id_inside_another_id_is_not_taken_for_it() -> None:
    """``b1`` is neither ``b12`` nor ``xb1``: only a whole remembered id matches."""
    player = blank()
    batch_memory.remember(player, "xb1", (1, 0, 1, 1, 1, 1, 1), 64)
    batch_memory.remember(player, "b12", (2, 0, 3, 3, 1, 1, 3), 64)
    assert batch_memory.recall(player, "b1") is None
    assert batch_memory.recall(player, "b12") == (2, 0, 3, 3, 1, 1, 3)
    batch_memory.remember(player, "b1", (4, 0, 7, 7, 1, 1, 7), 64)
    assert batch_memory.recall(player, "b1") == (4, 0, 7, 7, 1, 1, 7)
    assert batch_memory.remembered(player) == ["xb1", "b12", "b1"]
