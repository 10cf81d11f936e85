"""The one token bucket of the server's own limits (server/token_bucket.py), on a fake clock."""

from __future__ import annotations

from server.token_bucket import KeyedBuckets, TokenBucket


def test_a_bucket_gives_its_burst_then_one_per_refill_interval() -> None:
    """A full bucket gives ``burst`` at once, then says how long to wait for the next token."""
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3.0, at=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0
    assert bucket.tokens == 2.0  # refilled to the burst, never beyond it, less the one taken


def test_keyed_buckets_are_separate_per_key() -> None:
    """One key's empty bucket does not touch another key's."""
    buckets = KeyedBuckets(rate=1.0, burst=2)
    assert buckets.take("a", 0.0) == buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) == 1.0
    assert buckets.take("b", 0.0) == 0.0


def test_keyed_buckets_forget_a_key_once_its_bucket_is_full_again() -> None:
    """A bucket that has refilled is dropped: memory follows the keys still being limited."""
    buckets = KeyedBuckets(rate=1.0, burst=2)
    buckets.take("a", 0.0)  # full again at 1.0
    buckets.take("b", 0.5)  # full again at 1.5
    assert len(buckets) == 2
    buckets.take("c", 1.2)
    assert len(buckets) == 2  # a was forgotten; b is still refilling
    assert buckets.take("a", 1.2) == 0.0  # a new full bucket, as the forgotten one would be


def test_keyed_buckets_keep_at_most_max_keys() -> None:
    """A flood of distinct keys evicts the least recently used rather than growing without end."""
    buckets = KeyedBuckets(rate=0.001, burst=1, max_keys=3)
    for i in range(10):
        buckets.take(f"k{i}", 0.0)
    assert len(buckets) == 3
    assert buckets.take("k9", 0.0) > 0  # the newest keys are the ones kept
